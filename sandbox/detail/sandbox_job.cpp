#include "sandbox/detail/sandbox_job.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "sandbox/detail/exit_report.hpp"
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

/// Parent pid from /proc/<pid>/stat (the field after the command's ')').
pid_t parent_of(pid_t pid) {
  std::string stat;
  if (!read_file("/proc/" + std::to_string(pid) + "/stat", stat))
    return 0;
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 4 >= stat.size())
    return 0;
  return static_cast<pid_t>(std::strtol(stat.c_str() + paren + 4, nullptr, 10));
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
    cgroup_(std::move(setup.cgroup)),
    events_(std::move(setup.events)),
    started_(setup.started) {
  // nop
}

sandbox_job::~sandbox_job() = default;

void sandbox_job::attach() {
  auto t = [this](watch_kind k) { return process_reactor::token(id_, static_cast<uint8_t>(k)); };
  reactor_.watch(pidfd_.get(), t(watch_kind::helper_exit));
  reactor_.watch(out_.get(), t(watch_kind::out));
  reactor_.watch(err_.get(), t(watch_kind::err));
  if (result_)
    reactor_.watch(result_.get(), t(watch_kind::result));
  reactor_.watch(status_.get(), t(watch_kind::status));
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

void sandbox_job::on_init_known(pid_t init) {
  init_pid_ = init;
  init_pidfd_.reset(open_pidfd(init));
  // Make sure the pidfd names bwrap's child and not a process that reused
  // the pid: checked after opening, the answer cannot go stale.
  if (!init_pidfd_ || parent_of(init) != pid_) {
    init_pidfd_.reset();
    init_gone_ = true;
  } else {
    reactor_.watch(init_pidfd_.get(), process_reactor::token(id_, static_cast<uint8_t>(watch_kind::init_exit)));
  }
  if (killed_)
    kill_all();
  else if (term_pending_)
    send_term();
}

bool sandbox_job::init_alive() const {
  return init_pid_ > 0 && init_pidfd_ && !init_gone_;
}

void sandbox_job::on_helper_exit() {
  if (exited_)
    return; // a stale event from the same epoll batch
  int status = 0;
  rusage ru{};
  auto r = ::wait4(pid_, &status, WNOHANG, &ru);
  if (r == 0)
    return; // not yet (spurious wake-up)
  if (r < 0 && errno == EINTR)
    return;
  if (r < 0)
    status_lost_ = true; // ECHILD: someone else reaped it (SIGCHLD ignored?)
  exited_ = true;
  ended_ = std::chrono::steady_clock::now();
  wait_status_ = status;
  rusage_ = ru;
  close_fd(pidfd_);
  if (ladder_timer_ != 0) {
    reactor_.cancel(ladder_timer_);
    ladder_timer_ = 0;
  }
  // bwrap's outer process waits for init, and init (--die-with-parent) gets
  // SIGKILL when the outer one dies, so init is gone or going; make sure.
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
    if (out_ || err_ || result_ || status_ || init_alive())
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
  for (auto* t : {&ladder_timer_, &drain_timer_, &recheck_timer_, &outer_kill_timer_})
    if (*t != 0) {
      reactor_.cancel(*t);
      *t = 0;
    }
  // Read what is left before closing (forced finish only).
  if (status_)
    read_status();
  cgroup_usage usage;
  if (cgroup_) {
    usage = cgroup_->read_usage();
    if (forced_)
      cgroup_->signal_all(SIGKILL);
  }
  auto info = make_exit_info(usage);
  for (auto* fd : {&out_, &err_, &result_, &status_, &pidfd_, &init_pidfd_})
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
  if (cgroup_) {
    // Everything, bwrap's outer process included; cpuacct keeps the CPU
    // time of whatever dies here.
    cgroup_->signal_all(SIGKILL);
    if (pidfd_)
      signal_pidfd(pidfd_.get(), SIGKILL);
    return;
  }
  if (!init_alive()) {
    if (pidfd_)
      signal_pidfd(pidfd_.get(), SIGKILL);
    return;
  }
  // Killing the init kills its whole pid namespace at once. bwrap's outer
  // process then reaps it and exits by itself, so wait4's rusage still
  // covers the job (our only CPU figure without cgroups). Should it not
  // exit, it is killed a moment later.
  ::kill(-init_pid_, SIGKILL);
  signal_pidfd(init_pidfd_.get(), SIGKILL);
  if (outer_kill_timer_ == 0) {
    std::weak_ptr<sandbox_job> weak = weak_from_this();
    outer_kill_timer_ = reactor_.schedule(std::chrono::steady_clock::now() + 1s, [weak] {
      if (auto self = weak.lock()) {
        self->outer_kill_timer_ = 0;
        if (self->pidfd_)
          signal_pidfd(self->pidfd_.get(), SIGKILL);
      }
    });
  }
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
    kill_all();
    if (pidfd_)
      signal_pidfd(pidfd_.get(), SIGKILL); // so the wait below is short
    int status = 0;
    rusage ru{};
    if (::wait4(pid_, &status, 0, &ru) == pid_) {
      wait_status_ = status;
      rusage_ = ru;
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
  facts.usage = usage;
  facts.resources = rusage_;
  facts.stderr_head = stderr_head_;
  facts.wall = std::chrono::duration_cast<std::chrono::microseconds>(ended_ - started_);
  return describe_exit(facts);
}

} // namespace millrace::sandbox::detail
