// The launcher's one thread: an epoll loop over every job's pipes and pidfds,
// a timerfd for the kill ladder and clean-up retries, and an eventfd through
// which other threads post work. All job state is touched on this thread
// only, so jobs need no locks; other threads talk to it with post().

#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sandbox/detail/unique_fd.hpp"

namespace millrace::sandbox::detail {

class job_cgroup;
class sandbox_job;

class process_reactor {
public:
  using clock = std::chrono::steady_clock;

  /// Largest single read from a pipe; output is handed over chunk by chunk
  /// from one buffer, never accumulated.
  static constexpr size_t chunk_size = 64 * 1024;

  /// Creates the epoll, timer and wake descriptors and starts the thread.
  /// Throws std::system_error when the kernel refuses.
  process_reactor();

  /// stop() must have run (the launcher's destructor does it).
  ~process_reactor();

  process_reactor(const process_reactor&) = delete;
  process_reactor& operator=(const process_reactor&) = delete;

  // -- any thread ---------------------------------------------------------

  /// Runs `fn` on the reactor thread. False (and `fn` dropped) once stopped.
  bool post(std::function<void()> fn);

  /// Hands a freshly spawned job to the reactor. False when the reactor no
  /// longer accepts jobs (stopping): the caller must kill and reap it.
  bool adopt(std::shared_ptr<sandbox_job> job);

  /// Kills every job, delivers their on_exit (waiting up to `bound` for them
  /// to end), finishes pending clean-up and joins the thread. Idempotent.
  void stop(std::chrono::milliseconds bound);

  // -- reactor thread only ------------------------------------------------

  /// Token layout: (job id << 4) | kind; ids start at 1, 0 and 1 are ours.
  static uint64_t token(uint64_t job_id, uint8_t kind) {
    return (job_id << 4) | kind;
  }

  /// False when epoll refuses (ENOMEM, fs.epoll.max_user_watches).
  bool watch(int fd, uint64_t token);
  void unwatch(int fd);

  /// Runs `fn` at `when` unless cancelled. Returns the timer's id (never 0).
  uint64_t schedule(clock::time_point when, std::function<void()> fn);
  void cancel(uint64_t timer_id);

  /// The job delivered on_exit; the reactor lets go of it.
  void forget(uint64_t job_id);

  /// Cgroup directories a dying task still pins (rmdir gave EBUSY): retried
  /// in the background until they go, and once more at stop().
  void retire(std::unique_ptr<job_cgroup> cgroup);

  /// The shared read buffer (chunk_size bytes).
  char* buffer() {
    return buffer_.get();
  }

private:
  struct timer {
    clock::time_point when;
    uint64_t id;
    bool operator>(const timer& o) const {
      return when > o.when;
    }
  };

  void run();
  void run_posted();
  void run_timers();
  void arm_timerfd();
  void schedule_retire();
  void begin_shutdown();
  void finish_shutdown();

  unique_fd epoll_;
  unique_fd wake_;
  unique_fd timerfd_;
  std::unique_ptr<char[]> buffer_;

  std::mutex mutex_;
  std::vector<std::function<void()>> posted_; // guarded by mutex_
  bool accepting_ = true;                     // guarded by mutex_
  bool stopped_ = false;                      // guarded by mutex_
  std::mutex stop_mutex_;                     // serialises stop()

  // Reactor thread only.
  std::unordered_map<uint64_t, std::shared_ptr<sandbox_job>> jobs_;
  std::priority_queue<timer, std::vector<timer>, std::greater<timer>> timer_queue_;
  std::unordered_map<uint64_t, std::function<void()>> timer_fns_;
  uint64_t next_timer_ = 1;
  std::vector<std::unique_ptr<job_cgroup>> retired_;
  uint64_t retire_timer_ = 0;
  int retire_attempts_ = 0;
  bool shutting_down_ = false;
  clock::time_point shutdown_deadline_;

  std::thread thread_;
};

} // namespace millrace::sandbox::detail
