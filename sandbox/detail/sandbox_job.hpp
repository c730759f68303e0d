// One running job as the reactor sees it: its pipes, the pidfds of bwrap's
// outer process and of the sandbox's init, its cgroups, the kill ladder, and
// how all of that becomes one exit_info.
//
// A job is finished, and on_exit runs, only when all of these hold:
// - bwrap's outer process (the exec helper's pid) was reaped;
// - stdout, stderr and the result pipe reached end-of-file (every byte was
//   delivered);
// - the sandbox's init exited: the kernel reaps every process of a pid
//   namespace before its init is gone, so nothing of the job is left;
// - with cgroups, no task is left in them.
// So when on_exit runs, no process of the job exists any more.
//
// A job handed to a standby that had not yet said it was ready
// (job_setup::awaiting_ready) holds back its output until the ready byte
// comes: what comes before it is the set-up's (helper, bwrap, the standby's
// program). If the standby ends without it, the job never ran: instead of
// on_exit, `restart` gets the job's callbacks, and the launcher starts the
// job again cold.

#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/detail/cgroup.hpp"
#include "sandbox/detail/cgroup_pool.hpp"
#include "sandbox/detail/netns_pool.hpp"
#include "sandbox/detail/etc_snapshot.hpp"
#include "sandbox/detail/process_reactor.hpp"
#include "sandbox/detail/unique_fd.hpp"
#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

/// What a reactor token refers to.
enum class watch_kind : uint8_t {
  helper_exit = 1, ///< pidfd of the exec helper / bwrap's outer process
  init_exit = 2,   ///< pidfd of the sandbox's init (bwrap's "child-pid")
  out = 3,
  err = 4,
  result = 5,
  status = 6, ///< bwrap --json-status-fd
  control = 7, ///< a standby's socket: ready byte, the stub's error line, EOF at exec
};

/// Starts a job again cold whose standby ended before it was ready; gets
/// the job's callbacks and why the standby failed. Runs on the reactor
/// thread and must not block on it.
using cold_restart = std::function<void(process_events events, const std::string& why)>;

/// Everything start() hands to the reactor for one spawned job.
struct job_setup {
  uint64_t id = 0;
  /// The exec helper's pid; after its execv, bwrap's outer process.
  pid_t pid = -1;
  unique_fd pidfd;
  unique_fd out;
  unique_fd err;
  unique_fd result; ///< empty without a result channel
  unique_fd status;
  /// Only for a job started in a standby sandbox: the launcher's end of the
  /// stub's socket (standby_wire.hpp).
  unique_fd control;
  std::unique_ptr<job_cgroup> cgroup; ///< null without cgroups
  /// Where `cgroup` goes back once the job ended with no task left in it.
  std::shared_ptr<cgroup_pool> cgroup_home;
  /// The pooled network namespace the job runs in (none: bwrap made one, or
  /// the job has the host's network), and where it goes back.
  std::optional<pooled_netns> netns;
  std::shared_ptr<netns_pool> netns_home;
  /// The /etc copy bwrap binds: kept until the job is gone.
  std::shared_ptr<const etc_snapshot> etc;
  process_events events;
  std::chrono::steady_clock::time_point started;
  /// Handed to a standby that had not said it was ready yet.
  bool awaiting_ready = false;
  /// With awaiting_ready: what to do if the standby never gets there.
  cold_restart restart;
};

class sandbox_job : public std::enable_shared_from_this<sandbox_job> {
public:
  sandbox_job(job_setup setup, process_reactor& reactor);
  ~sandbox_job();

  sandbox_job(const sandbox_job&) = delete;
  sandbox_job& operator=(const sandbox_job&) = delete;

  uint64_t id() const {
    return id_;
  }

  pid_t pid() const {
    return pid_;
  }

  // -- reactor thread only ------------------------------------------------

  /// Registers the job's descriptors with the reactor. False if epoll
  /// refused one: the caller then abandon()s the job.
  bool attach();

  void on_ready(watch_kind kind);

  /// Kill ladder: SIGTERM now, SIGKILL to everything after `grace`.
  void terminate(std::chrono::milliseconds grace);

  /// SIGKILL to everything now.
  void kill_now();

  /// kill_now() because the launcher shuts down; on_exit says so.
  void kill_for_shutdown();

  /// The launcher is going away and the job did not end in time: kill,
  /// reap synchronously and deliver on_exit with whatever is known.
  void abandon();

private:
  void read_stream(unique_fd& fd, stream s);
  void read_status();
  void read_control();
  /// Output of a standby not yet ready: the set-up's, kept until the ready
  /// byte shows that the standby (and so the job) runs.
  void hold(stream s, std::string_view chunk);
  void on_standby_ready();
  void deliver(stream s, std::string_view chunk);
  void on_init_known(pid_t init);
  void on_helper_exit();
  void maybe_finish();
  void finish();
  void close_fd(unique_fd& fd);
  void send_term();
  void kill_all();
  bool init_alive() const;
  bool init_is_ours(pid_t init) const;
  void reap_orphaned_init();
  exit_info make_exit_info(const cgroup_usage& usage) const;
  /// At the end: the cgroup and network namespace go back to their pools
  /// when nothing of the job is left in them (else the cgroup is removed
  /// and the namespace closed).
  void give_back_namespaces();

  process_reactor& reactor_;
  const uint64_t id_;
  const pid_t pid_;
  unique_fd pidfd_;
  unique_fd out_;
  unique_fd err_;
  unique_fd result_;
  unique_fd status_;
  unique_fd control_;
  std::unique_ptr<job_cgroup> cgroup_;
  std::shared_ptr<cgroup_pool> cgroup_home_;
  std::optional<pooled_netns> netns_;
  std::shared_ptr<netns_pool> netns_home_;
  std::shared_ptr<const etc_snapshot> etc_;
  process_events events_;
  const std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point ended_;

  /// bwrap's JSON status documents, as read so far (bounded).
  std::string status_text_;
  pid_t init_pid_ = 0;
  unique_fd init_pidfd_;
  bool init_gone_ = false;
  std::optional<int> json_exit_;
  /// The first bytes of stderr: bwrap and the helper report failures there.
  std::string stderr_head_;
  /// What the standby stub said when it could not start the program.
  std::string stub_error_;
  /// job_setup::awaiting_ready until the ready byte comes.
  bool awaiting_ready_ = false;
  cold_restart restart_;
  std::vector<std::pair<stream, std::string>> held_;
  size_t held_bytes_ = 0;

  bool exited_ = false;
  bool status_lost_ = false;
  int wait_status_ = 0;

  bool terminated_ = false;
  bool killed_ = false;
  bool term_pending_ = false;
  bool forced_ = false;
  bool shutdown_ = false;
  /// Why the launcher itself failed this job (empty: it did not).
  std::string internal_error_;
  bool finished_ = false;
  uint64_t ladder_timer_ = 0;
  uint64_t drain_timer_ = 0;
  uint64_t recheck_timer_ = 0;
};

} // namespace millrace::sandbox::detail
