// sandbox_job, the part that ends processes: the sandbox's init (found
// through bwrap's status, reaped when it comes to us) and the kill ladder.
// The rest of the job's life: sandbox_job.cpp.

#include "sandbox/detail/sandbox_job.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/detail/orphans.hpp"
#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail {

using namespace std::chrono_literals;

void sandbox_job::on_init_known(pid_t init) {
  init_pid_ = init;
  init_pidfd_.reset(open_pidfd(init));
  // Make sure the pidfd names bwrap's child and not a process that reused
  // the pid: checked after opening, the answer cannot go stale.
  // Not watchable (epoll refused): treated as gone, the cgroup check and
  // the drain bound still apply.
  if (!init_pidfd_ || !init_is_ours(init)
      || !reactor_.watch(init_pidfd_.get(), process_reactor::token(id_, static_cast<uint8_t>(watch_kind::init_exit)))) {
    init_pidfd_.reset();
    init_gone_ = true;
  }
  if (killed_)
    kill_all();
  else if (term_pending_)
    send_term();
}

bool sandbox_job::init_is_ours(pid_t init) const {
  auto parent = parent_pid(init);
  if (parent == pid_)
    return true;
  // The outer process may already have exited (a loaded reactor reads the
  // status pipe late). Its init then belongs to whoever orphans come to:
  // pid 1, or us when we are pid 1 or a subreaper. In that case we keep it,
  // to reap it: nobody else will. A pid namespace's init whose parent is us
  // cannot be another of our children that reused the pid (those are not
  // namespace inits), and reaping another job's orphaned init is harmless.
  return parent == ::getpid() && orphans_come_to_us() && is_namespace_init(init);
}

void sandbox_job::reap_orphaned_init() {
  // bwrap's outer process exits without reaping its init, so the init's
  // zombie goes to the nearest subreaper or to pid 1. When that is us (the
  // server runs as pid 1 in a container, or is a subreaper), nobody else
  // would ever reap it. By now the outer process has been reaped, so any
  // reparenting is done. waitid on the pidfd cannot hit a reused pid, and
  // only succeeds if the init is our child: otherwise ECHILD, and pid 1
  // reaps it as usual.
  constexpr auto p_pidfd = static_cast<idtype_t>(3); // P_PIDFD, not in glibc 2.36
  if (!init_pidfd_)
    return;
  if (!init_gone_) {
    // Forced finish: the init was just SIGKILLed and may still be exiting.
    // Give it a moment (a rare path: the drain bound ran out).
    pollfd p{init_pidfd_.get(), POLLIN, 0};
    while (::poll(&p, 1, 200) < 0 && errno == EINTR) {
    }
  }
  siginfo_t info{};
  ::waitid(p_pidfd, static_cast<id_t>(init_pidfd_.get()), &info, WEXITED | WNOHANG);
}

bool sandbox_job::init_alive() const {
  return init_pid_ > 0 && init_pidfd_ && !init_gone_;
}

void sandbox_job::send_term() {
  // Each process of the job gets SIGTERM exactly once (a second one would
  // run a shell's trap twice). Never to bwrap's outer process: that would
  // end the sandbox without the job ever seeing SIGTERM. Its init ignores
  // SIGTERM anyway (pid 1 of its namespace, no handler).
  if (cgroup_) {
    // Every task of the job, daemons that left the process group included.
    cgroup_->signal_all(SIGTERM, {pid_, init_pid_});
    return;
  }
  // Without cgroups: the process group led by bwrap's init
  // (--new-session), i.e. everything that did not move to another group.
  if (init_alive())
    ::kill(-init_pid_, SIGTERM);
  else if (init_pid_ == 0)
    term_pending_ = true; // sent once bwrap reports the init's pid
}

void sandbox_job::kill_all() {
  // With cgroups: every task, bwrap's outer process included. Without: the
  // init's process group, the init (its death kills the whole pid namespace
  // at once) and bwrap's outer process.
  if (cgroup_)
    cgroup_->signal_all(SIGKILL);
  if (init_alive()) {
    ::kill(-init_pid_, SIGKILL);
    signal_pidfd(init_pidfd_.get(), SIGKILL);
  }
  if (pidfd_)
    signal_pidfd(pidfd_.get(), SIGKILL);
}

void sandbox_job::terminate(std::chrono::milliseconds grace) {
  if (finished_ || exited_ || terminated_ || killed_)
    return;
  terminated_ = true;
  send_term();
  std::weak_ptr<sandbox_job> weak = weak_from_this();
  ladder_timer_ = reactor_.schedule(std::chrono::steady_clock::now() + grace, [weak] {
    if (auto self = weak.lock()) {
      self->ladder_timer_ = 0;
      if (!self->exited_ && !self->finished_) {
        self->killed_ = true;
        self->kill_all();
      }
    }
  });
}

void sandbox_job::kill_now() {
  if (finished_ || exited_)
    return;
  killed_ = true;
  if (ladder_timer_ != 0) {
    reactor_.cancel(ladder_timer_);
    ladder_timer_ = 0;
  }
  kill_all();
}

void sandbox_job::kill_for_shutdown() {
  // A standby that already ended unready is not started again either
  // (finish()). terminate() and kill() need no such case: the caller's
  // handle records them at once (job_link::stop_asked), and the restart
  // checks that.
  if (exited_ && !finished_ && awaiting_ready_)
    shutdown_ = true;
  if (finished_ || exited_)
    return;
  shutdown_ = true;
  kill_now();
}

void sandbox_job::abandon() {
  if (finished_)
    return;
  if (!exited_) {
    killed_ = true;
    kill_all(); // bwrap's outer process too: the wait below is short
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) {
      wait_status_ = status;
    } else {
      status_lost_ = true;
    }
    exited_ = true;
    ended_ = std::chrono::steady_clock::now();
  }
  forced_ = true;
  finish();
}

} // namespace millrace::sandbox::detail
