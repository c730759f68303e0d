// The production launcher's class (make_bwrap_launcher, launcher.hpp).
// bwrap_launcher.cpp has the cold path and what the class is;
// detail/bwrap_standby.cpp hands jobs to standby sandboxes.

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "sandbox/detail/cgroup.hpp"
#include "sandbox/detail/cgroup_pool.hpp"
#include "sandbox/detail/netns_pool.hpp"
#include "sandbox/detail/etc_snapshot.hpp"
#include "sandbox/detail/host_setup.hpp"
#include "sandbox/detail/job_link.hpp"
#include "sandbox/detail/process_reactor.hpp"
#include "sandbox/detail/sandbox_job.hpp"
#include "sandbox/detail/spawn.hpp"
#include "sandbox/detail/standby_pool.hpp"
#include "sandbox/detail/unique_fd.hpp"
#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

/// The plan a standby of `plan`'s shape is made from: what bwrap and the
/// helper need, with the stub (or the plan's standby_argv) as the program.
launch_plan standby_plan_of(const launch_plan& plan);

class bwrap_launcher final : public launcher {
public:
  explicit bwrap_launcher(launcher_config cfg);

  ~bwrap_launcher() override;

  std::shared_ptr<process> start(const launch_plan& plan, const limits& lim, process_events events,
                                 std::string& error) override;

  std::string describe() const override;

  void prepare(const launch_plan& plan, const limits& lim) override;

  launcher_stats stats() const override;

private:
  /// What a job handed to a standby needs to start again cold.
  struct cold_spec {
    launch_plan plan;
    limits lim;
  };
  enum class handed { ready, not_ready_yet, gone };

  /// Cgroups, pipes, memfds and the spawn of helper + bwrap for `plan`.
  /// With `stub`, a standby: the stub's socket and executable go to 6 and 7
  /// and `plan` must be a standby_plan_of(). `in` is stdin (cold only).
  /// `on_spawn_thread`: called there (spawns directly, not through it).
  std::optional<job_setup> spawn_sandbox(const launch_plan& plan, const limits& lim, bool stub, unique_fd in,
                                         std::string& error, bool on_spawn_thread);
  std::optional<job_setup> make_standby(const launch_plan& shape, const limits& lim);
  /// Hands the job to a standby: taken (and whether the standby had said it
  /// was ready), or gone (then it must be retired).
  handed hand_over(job_setup& sb, const launch_plan& plan, int in, std::string& error);
  void retire(job_setup sb);
  /// Hands a spawned job to the reactor. With `again`, the job went to a
  /// standby not yet ready and is started again cold if that one fails.
  std::shared_ptr<process> adopt(job_setup setup, process_events events, std::string& error,
                                 std::shared_ptr<const cold_spec> again = nullptr);
  /// The standby of the job behind `link` ended before it was ready: on the
  /// spawn thread, start the job cold and move the link to it.
  void restart_cold(std::shared_ptr<const cold_spec> spec, process_events events, std::shared_ptr<job_link> link,
                    const std::string& why);

  launcher_config cfg_;
  std::string helper_;
  bool as_root_ = false;
  sandbox_identity identity_;
  std::unique_ptr<etc_snapshots> etc_;
  cgroup_layout cgroups_;
  /// Job cgroups for reuse; null without cgroups. Jobs hold it too.
  std::shared_ptr<cgroup_pool> cgroup_pool_;
  /// Network namespaces for jobs without network, for reuse; null when
  /// not root (bwrap then makes one per job).
  std::shared_ptr<netns_pool> netns_pool_;
  std::string no_netns_pool_;
  std::string no_cgroups_;
  unique_fd stub_;
  std::string no_standby_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> started_{0};
  std::atomic<uint64_t> from_standby_{0};
  std::atomic<uint64_t> standby_restarts_{0};
  std::shared_ptr<process_reactor> reactor_;
  spawn_thread spawner_;
  /// Declared after the spawn thread: its queued tasks point at the pool,
  /// and the destructor closes the pool and stops the thread first.
  std::unique_ptr<standby_pool> standby_;
};

} // namespace millrace::sandbox::detail
