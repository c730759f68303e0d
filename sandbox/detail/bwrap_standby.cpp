// bwrap_launcher and standby sandboxes: what a standby is made from, handing
// a job to one, retiring one, and starting a job again cold when its
// standby failed before it was ready (sandbox/README.md, "Standby
// sandboxes").

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "sandbox/detail/bwrap_args.hpp"
#include "sandbox/detail/bwrap_launcher.hpp"
#include "sandbox/detail/orphans.hpp"
#include "sandbox/detail/standby_abi.h"
#include "sandbox/detail/standby_wire.hpp"
#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail {

launch_plan standby_plan_of(const launch_plan& plan) {
  launch_plan p;
  p.argv = plan.standby_argv;
  if (p.argv.empty())
    p.argv = {"/proc/self/fd/" + std::to_string(standby_fd_stub)};
  p.network = plan.network;
  p.ro_binds = plan.ro_binds;
  p.result_channel = true;
  return p;
}

std::optional<job_setup> bwrap_launcher::make_standby(const launch_plan& shape, const limits& lim) {
  std::string error;
  return spawn_sandbox(shape, lim, true, unique_fd{}, error, true);
}

bwrap_launcher::handed bwrap_launcher::hand_over(job_setup& sb, const launch_plan& plan, int in,
                                                 std::string& error) {
  // Gone already (killed from outside, or bwrap failed to set up): a
  // readable pidfd means the outer process exited.
  pollfd p{sb.pidfd.get(), POLLIN, 0};
  if (::poll(&p, 1, 0) != 0) {
    error = "the standby sandbox is gone";
    return handed::gone;
  }
  // The ready byte, if the standby's program wrote it already. Anything
  // else (end of file, an error line of a program that failed to start)
  // means the standby is gone or going.
  char first = 0;
  auto n = ::recv(sb.control.get(), &first, 1, MSG_DONTWAIT);
  const bool ready = n == 1 && first == MILLRACE_STANDBY_READY;
  if (!ready && !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
    error = "the standby sandbox failed before it was ready";
    return handed::gone;
  }
  if (sb.cgroup)
    sb.cgroup->leave_idle_scheduling(); // the job runs at normal priority
  auto request = sealed_memfd("millrace-job", encode_standby_request(plan, job_environment(plan)), error);
  if (!request)
    return handed::gone;
  if (!send_standby_request(sb.control.get(), request.get(), in, error))
    return handed::gone;
  if (!plan.result_channel)
    sb.result.reset(); // the stub closes its end, and so the job never has it
  sb.started = std::chrono::steady_clock::now();
  return ready ? handed::ready : handed::not_ready_yet;
}

void bwrap_launcher::restart_cold(std::shared_ptr<const cold_spec> spec, process_events events,
                                  std::shared_ptr<job_link> link, const std::string& why) {
  // on_exit, like every callback, runs on the reactor thread (or here, if
  // the reactor has stopped: it must run exactly once).
  auto end = [this](process_events ev, exit_info info) {
    auto deliver = [ev, info] {
      if (ev.on_exit)
        ev.on_exit(info);
    };
    if (!reactor_->post(deliver))
      deliver();
  };
  // Asked to stop while the standby was failing: the job never ran, and
  // it ends as asked.
  auto stopped = [](bool killed) {
    exit_info info;
    info.terminated = true;
    info.killed = killed;
    return info;
  };
  auto failed = [why](const std::string& error) {
    exit_info info;
    info.sandbox_error = "the job's standby sandbox failed before it was ready (" + why
                         + "), and starting it again without one failed: " + error;
    return info;
  };
  if (link->stop_asked.load()) {
    end(std::move(events), stopped(link->kill.load()));
    return;
  }
  ++standby_restarts_;
  link->pid.store(-1);
  auto work = [this, spec, events, link, end, stopped, failed]() mutable {
    if (link->stop_asked.load())
      return end(std::move(events), stopped(link->kill.load()));
    std::string error;
    unique_fd in;
    if (!spec->plan.stdin_data.empty()) {
      in = sealed_memfd("millrace-stdin", spec->plan.stdin_data, error);
      if (!in)
        return end(std::move(events), failed("cannot hold stdin data: " + error));
    }
    auto setup = spawn_sandbox(spec->plan, spec->lim, false, std::move(in), error, true);
    if (!setup)
      return end(std::move(events), failed(error));
    setup->id = next_id_++;
    setup->events = events; // a copy: ours is needed if the reactor refuses the job
    auto job = std::make_shared<sandbox_job>(std::move(*setup), *reactor_);
    const pid_t pid = job->pid();
    if (!reactor_->adopt(job)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      reap_orphaned_inits(std::chrono::milliseconds(200));
      return end(std::move(events), failed("the launcher is shutting down"));
    }
    // Queued after the job's own attach, on the same thread; point_to()
    // applies a terminate or kill that came meanwhile.
    reactor_->post([link, job] { link->point_to(job); });
  };
  if (!spawner_.post(work))
    end(std::move(events), failed("the launcher is shutting down"));
}

void bwrap_launcher::retire(job_setup sb) {
  sb.control.reset(); // the stub reads end of file and exits
  std::string ignored;
  adopt(std::move(sb), process_events{}, ignored);
}

} // namespace millrace::sandbox::detail
