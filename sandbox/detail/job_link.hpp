// The handle callers hold for a job (launcher.hpp's `process`), and the
// link from it to the sandbox_job that runs the job now.
//
// Normally that is one sandbox_job for the job's whole life. The exception:
// a job handed to a standby sandbox that then ends before it said it was
// ready never ran, and the launcher starts it again cold in a new
// sandbox_job (bwrap_launcher.cpp, restart_cold). The link then moves to the
// new one, and a kill or terminate asked for in between is applied to it.

#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

class process_reactor;
class sandbox_job;

struct job_link {
  /// The current sandbox's outer pid (any thread); -1 while the job is
  /// started again.
  std::atomic<pid_t> pid{-1};
  /// terminate() or kill() was called (any thread, set at once): a job
  /// whose standby failed is then not started again.
  std::atomic<bool> stop_asked{false};
  /// kill() was called (any thread, set at once).
  std::atomic<bool> kill{false};

  // -- reactor thread only ------------------------------------------------

  std::shared_ptr<sandbox_job> job;
  /// terminate()'s grace, kept for a sandbox that replaces `job`.
  std::optional<std::chrono::milliseconds> grace;

  /// Makes `next` the job's sandbox and applies what was asked meanwhile.
  void point_to(std::shared_ptr<sandbox_job> next);
};

/// The `process` start() returns. Every action is posted to the reactor.
class linked_process final : public process {
public:
  linked_process(std::shared_ptr<process_reactor> reactor, std::shared_ptr<job_link> link);

  pid_t pid() const override;
  void terminate(std::chrono::milliseconds grace) override;
  void kill() override;

private:
  std::shared_ptr<process_reactor> reactor_;
  std::shared_ptr<job_link> link_;
};

} // namespace millrace::sandbox::detail
