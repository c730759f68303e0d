#include "sandbox/detail/sandbox_job.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "sandbox/detail/exit_report.hpp"
#include "sandbox/detail/orphans.hpp"
#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail {

namespace {

using namespace std::chrono_literals;

/// How long to wait for the last bytes and the namespace's end once bwrap's
/// outer process is gone. Normally both are immediate: every writer is dead.
constexpr auto drain_bound = 5s;
constexpr size_t status_cap = 4096;
constexpr size_t stderr_head_cap = 1024;

std::optional<long> json_number(const std::string& text, const char* key) {
  auto pos = text.find(key);
  if (pos == std::string::npos)
    return std::nullopt;
  pos = text.find(':', pos);
  if (pos == std::string::npos)
    return std::nullopt;
  const char* start = text.c_str() + pos + 1;
  char* end = nullptr;
  long v = std::strtol(start, &end, 10);
  if (end == start || *end == '\0') // the number may still be arriving
    return std::nullopt;
  return v;
}

} // namespace

sandbox_job::sandbox_job(job_setup setup, process_reactor& reactor)
  : reactor_(reactor),
    id_(setup.id),
    pid_(setup.pid),
    pidfd_(std::move(setup.pidfd)),
    out_(std::move(setup.out)),
    err_(std::move(setup.err)),
    result_(std::move(setup.result)),
    status_(std::move(setup.status)),
    control_(std::move(setup.control)),
    cgroup_(std::move(setup.cgroup)),
    etc_(std::move(setup.etc)),
    events_(std::move(setup.events)),
    started_(setup.started) {
  // nop
}

sandbox_job::~sandbox_job() = default;

bool sandbox_job::attach() {
  auto t = [this](watch_kind k) { return process_reactor::token(id_, static_cast<uint8_t>(k)); };
  bool ok = reactor_.watch(pidfd_.get(), t(watch_kind::helper_exit)) && reactor_.watch(out_.get(), t(watch_kind::out))
            && reactor_.watch(err_.get(), t(watch_kind::err))
            && (!result_ || reactor_.watch(result_.get(), t(watch_kind::result)))
            && reactor_.watch(status_.get(), t(watch_kind::status))
            && (!control_ || reactor_.watch(control_.get(), t(watch_kind::control)));
  if (!ok)
    internal_error_ = sys_error("the launcher cannot watch the job (epoll_ctl)");
  return ok;
}

void sandbox_job::on_ready(watch_kind kind) {
  if (finished_)
    return;
  switch (kind) {
    case watch_kind::helper_exit:
      on_helper_exit();
      break;
    case watch_kind::init_exit:
      // Readable pidfd: init, and with it the whole pid namespace, is gone.
      init_gone_ = true;
      reactor_.unwatch(init_pidfd_.get());
      maybe_finish();
      break;
    case watch_kind::out:
      read_stream(out_, stream::out);
      break;
    case watch_kind::err:
      read_stream(err_, stream::err);
      break;
    case watch_kind::result:
      read_stream(result_, stream::result);
      break;
    case watch_kind::status:
      read_status();
      break;
    case watch_kind::control:
      read_control();
      break;
  }
}

void sandbox_job::close_fd(unique_fd& fd) {
  if (fd) {
    reactor_.unwatch(fd.get());
    fd.reset();
  }
}

void sandbox_job::read_stream(unique_fd& fd, stream s) {
  // A few chunks per wake-up keep one chatty job from starving the others;
  // epoll is level-triggered, so the rest is read on the next round.
  for (int round = 0; round < 4 && fd; ++round) {
    auto n = ::read(fd.get(), reactor_.buffer(), process_reactor::chunk_size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n <= 0) {
      close_fd(fd);
      maybe_finish();
      return;
    }
    std::string_view chunk{reactor_.buffer(), static_cast<size_t>(n)};
    if (s == stream::err && stderr_head_.size() < stderr_head_cap)
      stderr_head_.append(chunk.substr(0, stderr_head_cap - stderr_head_.size()));
    if (events_.on_output) {
      try {
        events_.on_output(s, chunk);
      } catch (...) {
        // A throwing callback must not take the reactor (and every other
        // job) down with it; the contract says callbacks do not throw.
      }
    }
  }
}

void sandbox_job::read_status() {
  if (!status_)
    return;
  char buf[512];
  for (;;) {
    auto n = ::read(status_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n <= 0) {
      close_fd(status_);
      break;
    }
    if (status_text_.size() < status_cap)
      status_text_.append(buf, static_cast<size_t>(n));
  }
  if (init_pid_ == 0)
    if (auto pid = json_number(status_text_, "\"child-pid\""); pid && *pid > 0)
      on_init_known(static_cast<pid_t>(*pid));
  if (!json_exit_)
    if (auto code = json_number(status_text_, "\"exit-code\""))
      json_exit_ = static_cast<int>(*code);
  maybe_finish();
}

void sandbox_job::read_control() {
  // The stub writes one line when it cannot start the program; its exec
  // (close-on-exec) or its exit closes the socket.
  char buf[512];
  for (;;) {
    auto n = ::read(control_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n <= 0) { // end of file, or ECONNRESET
      close_fd(control_);
      maybe_finish();
      return;
    }
    if (stub_error_.size() < stderr_head_cap)
      stub_error_.append(buf, std::min(static_cast<size_t>(n), stderr_head_cap - stub_error_.size()));
  }
}

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

void sandbox_job::on_helper_exit() {
  if (exited_)
    return; // a stale event from the same epoll batch
  int status = 0;
  auto r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0)
    return; // not yet (spurious wake-up)
  if (r < 0 && errno == EINTR)
    return;
  if (r < 0)
    status_lost_ = true; // ECHILD: someone else reaped it (SIGCHLD ignored?)
  exited_ = true;
  ended_ = std::chrono::steady_clock::now();
  wait_status_ = status;
  close_fd(pidfd_);
  if (ladder_timer_ != 0) {
    reactor_.cancel(ladder_timer_);
    ladder_timer_ = 0;
  }
  // The outer process may exit before its init is gone: it learns the job's
  // status through an eventfd, and --die-with-parent SIGKILLs the init when
  // the outer process dies. So the init is gone or going; make sure.
  if (init_alive())
    signal_pidfd(init_pidfd_.get(), SIGKILL);
  std::weak_ptr<sandbox_job> weak = weak_from_this();
  drain_timer_ = reactor_.schedule(std::chrono::steady_clock::now() + drain_bound, [weak] {
    if (auto self = weak.lock()) {
      self->drain_timer_ = 0;
      self->forced_ = true;
      self->maybe_finish();
    }
  });
  maybe_finish();
}

void sandbox_job::maybe_finish() {
  if (finished_ || !exited_)
    return;
  if (!forced_) {
    if (out_ || err_ || result_ || status_ || control_ || init_alive())
      return;
    if (cgroup_ && !cgroup_->empty()) {
      // Cannot normally happen (every task was in the pid namespace), but a
      // job must not end while something of it runs.
      cgroup_->signal_all(SIGKILL);
      if (recheck_timer_ == 0) {
        std::weak_ptr<sandbox_job> weak = weak_from_this();
        recheck_timer_ = reactor_.schedule(std::chrono::steady_clock::now() + 5ms, [weak] {
          if (auto self = weak.lock()) {
            self->recheck_timer_ = 0;
            self->maybe_finish();
          }
        });
      }
      return;
    }
  }
  finish();
}

void sandbox_job::finish() {
  finished_ = true;
  for (auto* t : {&ladder_timer_, &drain_timer_, &recheck_timer_})
    if (*t != 0) {
      reactor_.cancel(*t);
      *t = 0;
    }
  // Read what is left before closing (forced finish only).
  if (status_)
    read_status();
  if (control_)
    read_control();
  cgroup_usage usage;
  if (cgroup_)
    usage = cgroup_->read_usage();
  if (forced_)
    kill_all(); // whatever a bound ran out on
  reap_orphaned_init();
  if (init_pid_ == 0) // killed before it named its init (a standby ended at shutdown)
    reap_orphaned_inits(200ms);
  auto info = make_exit_info(usage);
  for (auto* fd : {&out_, &err_, &result_, &status_, &control_, &pidfd_, &init_pidfd_})
    close_fd(*fd);
  auto events = std::move(events_);
  events_ = {};
  if (events.on_exit) {
    try {
      events.on_exit(info);
    } catch (...) {
      // See read_stream.
    }
  }
  if (cgroup_ && !cgroup_->remove())
    reactor_.retire(std::move(cgroup_));
  cgroup_.reset();
  reactor_.forget(id_); // may destroy *this: nothing after this line
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

exit_info sandbox_job::make_exit_info(const cgroup_usage& usage) const {
  exit_facts facts;
  facts.status_lost = status_lost_;
  facts.wait_status = wait_status_;
  facts.json_exit = json_exit_;
  facts.init_known = init_pid_ != 0;
  facts.terminated = terminated_;
  facts.killed = killed_;
  facts.shutdown = shutdown_;
  facts.internal_error = internal_error_;
  facts.usage = usage;
  facts.stderr_head = stderr_head_;
  facts.stub_error = stub_error_;
  facts.wall = std::chrono::duration_cast<std::chrono::microseconds>(ended_ - started_);
  return describe_exit(facts);
}

} // namespace millrace::sandbox::detail
