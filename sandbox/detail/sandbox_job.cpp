#include "sandbox/detail/sandbox_job.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "sandbox/detail/exit_report.hpp"
#include "sandbox/detail/orphans.hpp"
#include "sandbox/detail/standby_abi.h"
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
    cgroup_home_(std::move(setup.cgroup_home)),
    netns_(std::move(setup.netns)),
    netns_home_(std::move(setup.netns_home)),
    etc_(std::move(setup.etc)),
    events_(std::move(setup.events)),
    started_(setup.started),
    awaiting_ready_(setup.awaiting_ready && control_),
    restart_(std::move(setup.restart)) {
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
    if (awaiting_ready_ && control_)
      read_control(); // the ready byte is written before the job can write anything
    if (awaiting_ready_)
      hold(s, chunk);
    else
      deliver(s, chunk);
  }
}

void sandbox_job::deliver(stream s, std::string_view chunk) {
  if (!events_.on_output)
    return;
  try {
    events_.on_output(s, chunk);
  } catch (...) {
    // A throwing callback must not take the reactor (and every other job)
    // down with it; the contract says callbacks do not throw.
  }
}

void sandbox_job::hold(stream s, std::string_view chunk) {
  // Only the set-up writes here (the helper's or bwrap's error, the
  // standby program's start-up warnings); a few KiB at most. Past the bound
  // it is dropped: stderr_head_ keeps the start for the exit report.
  constexpr size_t held_cap = 64 * 1024;
  if (held_bytes_ >= held_cap)
    return;
  chunk = chunk.substr(0, held_cap - held_bytes_);
  held_bytes_ += chunk.size();
  held_.emplace_back(s, std::string{chunk});
}

void sandbox_job::on_standby_ready() {
  awaiting_ready_ = false;
  restart_ = nullptr; // the standby runs: from here on it is the job's sandbox
  // Standbys are made at idle priority, and start() lifted it when it
  // handed the job over. But this one was still being made then: its exec
  // helper may have switched to SCHED_IDLE (or even joined the cgroups)
  // only after that, and everything it started would run the job at idle
  // priority. The ready byte comes after all of that, so lift it again now.
  if (cgroup_)
    cgroup_->leave_idle_scheduling();
  auto held = std::move(held_);
  held_.clear();
  for (auto& [s, text] : held)
    deliver(s, text);
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
  // A standby handed over before it was ready writes the ready byte first.
  // Then the stub writes one line when it cannot start the program; its
  // exec (close-on-exec) or its exit closes the socket.
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
    std::string_view text{buf, static_cast<size_t>(n)};
    if (awaiting_ready_ && text.front() == MILLRACE_STANDBY_READY) {
      text.remove_prefix(1);
      on_standby_ready();
    }
    if (stub_error_.size() < stderr_head_cap)
      stub_error_.append(text.substr(0, stderr_head_cap - stub_error_.size()));
  }
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
  give_back_namespaces();
  auto events = std::move(events_);
  events_ = {};
  // A standby that ended before it was ready never ran the job, unless we
  // ended it (a cancel, a timeout, the launcher's shutdown).
  auto restart = std::move(restart_);
  restart_ = nullptr;
  if (awaiting_ready_ && restart && !terminated_ && !killed_ && !shutdown_) {
    auto why = !info.sandbox_error.empty() ? info.sandbox_error
               : info.signal != 0           ? "its program was killed by signal " + std::to_string(info.signal)
                                            : "its program exited with " + std::to_string(info.exit_code);
    restart(std::move(events), why);
  } else if (events.on_exit) {
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

void sandbox_job::give_back_namespaces() {
  // Before on_exit: whoever it wakes may start the next job at once, which
  // should find them in the pools. Only when nothing of the job is left:
  // not after a forced end, and only with the pids cgroup (which every
  // process of the job joined) found empty; a gone init alone does not
  // prove it (an init we could not watch counts as gone).
  const bool nothing_left = !forced_ && cgroup_ && cgroup_->no_task_left();
  if (nothing_left && cgroup_home_)
    cgroup_home_->give_back(cgroup_);
  if (nothing_left && netns_ && netns_home_)
    netns_home_->give_back(std::move(*netns_));
  netns_.reset();
  // A handle may keep this job for long after: the pools (which remove
  // what they hold when the launcher goes) must not live on with it.
  cgroup_home_.reset();
  netns_home_.reset();
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
