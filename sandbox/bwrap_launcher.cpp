// make_bwrap_launcher: the production launcher. Per job, start() validates
// the plan and then either hands it to a standby sandbox of the same shape
// (detail/standby_pool.hpp: made ahead, waiting in millrace-sandbox-stub)
// or starts cold: creates the job's cgroups, pipes and sealed memfds, and
// spawns
//
//   posix_spawn(millrace-sandbox-exec)  (on the launcher's spawn thread)
//     joins cgroups, rlimits, drops to run_as
//     -> execv(bwrap --args 5 -- argv)  outer process, same pid
//       -> bwrap's init (pid 1)         "child-pid" on --json-status-fd
//         -> the job (pid 2)
//
// A standby is the same chain, made at idle priority, with /proc/self/fd/7
// (the stub) or the plan's standby_argv as the program (detail/
// bwrap_standby.cpp). Either way the reactor thread (detail/
// process_reactor.hpp) then streams output, runs the kill ladder and
// reports the exit.
//
// Descriptors as the helper (and bwrap) receive them:
//   0 stdin (sealed memfd, or /dev/null)   1 stdout pipe   2 stderr pipe
//   3 result pipe (only with result_channel; always for a standby)
//   4 --json-status-fd pipe   5 --args memfd
//   cold:    6.. one sealed memfd per job file
//   standby: 6 the stub's socket, 7 the stub's executable (closed when
//            the plan names its own standby program)
// bwrap closes 5 and the files after reading them and keeps 4 in its outer
// process only; the stub closes 6 and 7. The job sees 0-2 (and 3).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>

#include "sandbox/detail/bwrap_args.hpp"
#include "sandbox/detail/bwrap_launcher.hpp"
#include "sandbox/detail/orphans.hpp"
#include "sandbox/detail/plan_check.hpp"
#include "sandbox/detail/standby_wire.hpp"
#include "sandbox/detail/sys.hpp"

#ifndef MILLRACE_SANDBOX_HELPER_DIR
#  define MILLRACE_SANDBOX_HELPER_DIR ""
#endif

namespace millrace::sandbox::detail {

namespace {

constexpr int fd_status = 4;
constexpr int fd_args = 5;
constexpr int fd_first_file = 6;
/// Shapes a launcher keeps standbys for (the last ones used).
constexpr size_t standby_shapes = 4;

bool executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

} // namespace

bwrap_launcher::bwrap_launcher(launcher_config cfg) : cfg_(std::move(cfg)) {
  if (!executable(cfg_.bwrap))
    throw std::runtime_error("bubblewrap not found at " + cfg_.bwrap + " (install the bubblewrap package)");
  helper_ = find_exec_helper(cfg_, MILLRACE_SANDBOX_HELPER_DIR);
  as_root_ = ::geteuid() == 0;
  identity_ = lookup_identity(cfg_, as_root_);
  if (cfg_.reap_orphans && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    throw std::runtime_error(sys_error("prctl(PR_SET_CHILD_SUBREAPER)"));
  std::error_code ec;
  auto tmp = std::filesystem::temp_directory_path(ec);
  etc_ = std::make_unique<etc_snapshots>("/etc", etc_snapshots::default_names(), synthetic_passwd(identity_),
                                         synthetic_group(identity_), ec ? "/tmp" : tmp.string());
  if (cfg_.use_cgroups) {
    cgroups_ = probe_cgroups(cfg_.cgroup_parent, no_cgroups_);
    if (cgroups_.usable()) {
      remove_stale_job_cgroups(cgroups_);
      if (cfg_.reuse)
        cgroup_pool_ = std::make_shared<cgroup_pool>(cgroups_);
    }
  } else {
    no_cgroups_ = "disabled by configuration";
  }
  // The cgroups are what tells that no process of a job is left in its
  // namespace, so no pool without them.
  if (!cfg_.reuse)
    no_netns_pool_ = "disabled by configuration";
  else if (!as_root_)
    no_netns_pool_ = "not running as root";
  else if (!cgroup_pool_)
    no_netns_pool_ = "no cgroups to tell that no process of a job is left in it";
  else
    netns_pool_ = netns_pool::make(no_netns_pool_);
  reactor_ = std::make_shared<process_reactor>();
  if (cfg_.standby > 0) {
    if (auto stub = find_standby_stub(helper_); stub.empty())
      no_standby_ = "millrace-sandbox-stub not found next to " + helper_;
    else if (stub_.reset(::open(stub.c_str(), O_RDONLY | O_CLOEXEC)); !stub_)
      no_standby_ = sys_error("open " + stub);
  }
  if (stub_)
    standby_ = std::make_unique<standby_pool>(
      cfg_.standby, standby_shapes, spawner_,
      [this](const launch_plan& shape, const limits& lim) { return make_standby(shape, lim); },
      [this](job_setup sb) { retire(std::move(sb)); });
}

bwrap_launcher::~bwrap_launcher() {
  // Standbys first (queued refills then make nothing), then every job,
  // the retired standbys included, and only then the spawn thread: its
  // end SIGKILLs whatever it spawned (bwrap's --die-with-parent), which
  // would end running jobs before the reactor could report them as shut
  // down.
  if (standby_)
    standby_->close();
  reactor_->stop(std::chrono::seconds(10));
  spawner_.stop();
  cgroup_pool_.reset(); // every job is gone: this removes the idle cgroups
  if (cgroups_.usable())
    remove_empty_parents(cgroups_);
}

std::string bwrap_launcher::describe() const {
  std::string out = "bwrap (" + cfg_.bwrap + ") via " + helper_ + ", ";
  if (cgroups_.usable())
    out += cgroups_.describe();
  else
    out += "no cgroups (" + no_cgroups_
           + "): memory via RLIMIT_AS per process, pids via RLIMIT_NPROC (counted per uid), "
             "out_of_memory not detectable";
  if (cgroup_pool_)
    out += ", cgroups reused across jobs";
  if (netns_pool_)
    out += ", network namespaces reused across jobs";
  else
    out += ", a new network namespace per job (" + no_netns_pool_ + ")";
  out += ", jobs run as " + identity_.user + " (" + std::to_string(identity_.uid) + ":"
         + std::to_string(identity_.gid) + ")";
  if (!as_root_)
    out += ", the server's own user";
  if (standby_)
    out += ", " + std::to_string(cfg_.standby) + " standby sandboxes per shape";
  else
    out += ", no standby sandboxes (" + (no_standby_.empty() ? std::string{"standby = 0"} : no_standby_) + ")";
  return out;
}

void bwrap_launcher::prepare(const launch_plan& plan, const limits& lim) {
  if (standby_ && plan.shared_dir.empty() && check_plan(plan).empty())
    standby_->refill(standby_shape(plan, lim), standby_plan_of(plan), lim);
}

launcher_stats bwrap_launcher::stats() const {
  launcher_stats st;
  st.started = started_.load();
  st.from_standby = from_standby_.load();
  st.standby_restarts = standby_restarts_.load();
  st.cgroups_reused = cgroup_pool_ ? cgroup_pool_->reused() : 0;
  st.netns_reused = netns_pool_ ? netns_pool_->reused() : 0;
  st.standby_ready = standby_ ? standby_->ready() : 0;
  return st;
}

std::optional<job_setup> bwrap_launcher::spawn_sandbox(const launch_plan& plan, const limits& lim, bool stub,
                                                       unique_fd in, std::string& error, bool on_spawn_thread) {
  auto fail = [&error](const std::string& what) -> std::optional<job_setup> {
    error = what + ": " + error;
    return std::nullopt;
  };
  std::unique_ptr<job_cgroup> cg;
  if (cgroup_pool_) {
    cg = cgroup_pool_->take(lim, error);
    if (!cg)
      return fail("cannot create the job's cgroups");
  } else if (cgroups_.usable()) {
    cg = job_cgroup::create(cgroups_, next_job_cgroup_name(), lim, error);
    if (!cg)
      return fail("cannot create the job's cgroups");
  }
  // No pooled namespace when none can be made: bwrap makes one, as without
  // the pool (and says why if it cannot either).
  std::optional<pooled_netns> netns;
  if (!plan.network && netns_pool_) {
    std::string ignored;
    netns = netns_pool_->take(ignored);
  }
  unique_fd out_r, out_w, err_r, err_w, res_r, res_w, st_r, st_w, control, control_peer;
  if (!make_pipe(out_r, out_w, error) || !make_pipe(err_r, err_w, error) || !make_pipe(st_r, st_w, error)
      || (plan.result_channel && !make_pipe(res_r, res_w, error)))
    return fail("cannot create pipes");
  if (stub) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      error = sys_error("socketpair");
      return fail("cannot create the standby's socket");
    }
    control.reset(sv[0]);
    control_peer.reset(sv[1]);
    if (::fcntl(control.get(), F_SETFL, O_NONBLOCK) != 0) {
      error = sys_error("fcntl(O_NONBLOCK)");
      return fail("cannot create the standby's socket");
    }
  }
  if (!in) {
    in.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!in) {
      error = sys_error("open /dev/null");
      return fail("cannot prepare stdin");
    }
  }
  auto etc = etc_->current();
  std::vector<unique_fd> files;
  files.reserve(plan.files.size());
  for (auto& f : plan.files) {
    files.push_back(sealed_memfd("millrace-file", f.contents, error));
    if (!files.back())
      return fail("cannot hold job file " + f.path);
  }
  bwrap_fds layout{fd_status, fd_first_file, netns.has_value()};
  auto args = sealed_memfd("millrace-bwrap-args", nul_joined(bwrap_options(plan, lim, layout, etc->dir())),
                           error);
  if (!args)
    return fail("cannot prepare bwrap arguments");

  spawn_request req;
  req.program = helper_;
  // A standby is made at idle priority, so that making it never slows a
  // running job; hand_over() lifts that. Only with cgroups (and so root):
  // they list every thread of the standby, which hand_over must find.
  req.env = {"PATH=/usr/bin:/bin"};
  req.fds = {in.get(), out_w.get(), err_w.get(), res_w ? res_w.get() : -1, st_w.get(), args.get()};
  if (stub) // the stub's executable only for the stub itself
    req.fds.insert(req.fds.end(), {control_peer.get(), plan.argv[0].rfind("/proc/self/fd/", 0) == 0 ? stub_.get() : -1});
  for (auto& f : files)
    req.fds.push_back(f.get());
  // Last, after everything bwrap reads: the helper joins it and closes it.
  const int netns_fd = netns ? static_cast<int>(req.fds.size()) : -1;
  if (netns)
    req.fds.push_back(netns->ns.get());
  req.argv = exec_helper_argv(helper_, cfg_.bwrap, fd_args, plan, lim, cg.get(), as_root_ ? &identity_ : nullptr,
                              stub && cg != nullptr, netns_fd);

  const auto started = std::chrono::steady_clock::now();
  // Standbys are made on the spawn thread itself (standby_pool::refill).
  pid_t pid = on_spawn_thread ? spawn_process(req, error) : spawner_.spawn(req, error);
  if (pid < 0)
    return fail("cannot start the sandbox");
  unique_fd pidfd{open_pidfd(pid)};
  if (!pidfd) {
    error = sys_error("pidfd_open");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    reap_orphaned_inits(std::chrono::milliseconds(200));
    return fail("cannot watch the sandbox");
  }
  job_setup setup;
  setup.pid = pid;
  setup.pidfd = std::move(pidfd);
  setup.out = std::move(out_r);
  setup.err = std::move(err_r);
  setup.result = std::move(res_r);
  setup.status = std::move(st_r);
  setup.control = std::move(control);
  setup.cgroup = std::move(cg);
  setup.cgroup_home = cgroup_pool_;
  if (netns) {
    setup.netns = std::move(netns);
    setup.netns_home = netns_pool_;
  }
  setup.etc = std::move(etc);
  setup.started = started;
  return setup;
}

std::shared_ptr<process> bwrap_launcher::adopt(job_setup setup, process_events events, std::string& error,
                                               std::shared_ptr<const cold_spec> again) {
  setup.id = next_id_++;
  setup.events = std::move(events);
  const pid_t pid = setup.pid;
  auto link = std::make_shared<job_link>();
  if (again) {
    setup.awaiting_ready = true;
    // Weak: the job must not keep its own handle alive (the link holds the
    // job). A handle nobody holds any more has nothing left to follow.
    std::weak_ptr<job_link> weak = link;
    setup.restart = [this, again, weak](process_events ev, const std::string& why) {
      auto l = weak.lock();
      restart_cold(again, std::move(ev), l ? l : std::make_shared<job_link>(), why);
    };
  }
  auto job = std::make_shared<sandbox_job>(std::move(setup), *reactor_);
  link->pid.store(pid);
  link->job = job; // before the reactor sees either
  if (!reactor_->adopt(job)) {
    // Never watched, so never reported: kill and reap it here. The job's
    // cgroup is removed when `job` goes away.
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    reap_orphaned_inits(std::chrono::milliseconds(200)); // its init, if it made one
    error = "the launcher is shutting down";
    return nullptr;
  }
  return std::make_shared<linked_process>(reactor_, std::move(link));
}

std::shared_ptr<process> bwrap_launcher::start(const launch_plan& plan, const limits& lim,
                                               process_events events, std::string& error) {
  error.clear();
  if (auto why = check_plan(plan); !why.empty()) {
    error = why;
    return nullptr;
  }
  unique_fd in;
  if (!plan.stdin_data.empty()) {
    // A sealed memfd instead of a pipe: the job reads it at its own pace
    // (or never) and no thread of ours ever blocks writing it.
    in = sealed_memfd("millrace-stdin", plan.stdin_data, error);
    if (!in) {
      error = "cannot hold stdin data: " + error;
      return nullptr;
    }
  }
  if (!plan.shared_dir.empty()) {
    error = ensure_shared_dir(plan.shared_dir, as_root_ ? &identity_ : nullptr);
    if (!error.empty())
      return nullptr;
  }
  ++started_;
  // A shared folder is a bind of its own: such a job always starts cold (a
  // shape per flow would only push the useful shapes out of the pool).
  if (standby_ && plan.shared_dir.empty()) {
    const auto shape = standby_shape(plan, lim);
    auto sb = standby_->take(shape, etc_->current());
    // Replace what was taken (or make the first ones) while the job runs.
    standby_->refill(shape, standby_plan_of(plan), lim);
    if (sb) {
      std::string why;
      switch (hand_over(*sb, plan, in ? in.get() : -1, why)) {
        case handed::ready:
          ++from_standby_;
          return adopt(std::move(*sb), std::move(events), error);
        case handed::not_ready_yet:
          // Still being set up (at idle priority): it may yet fail, and
          // then the job starts again cold, as if it had started so now.
          ++from_standby_;
          return adopt(std::move(*sb), std::move(events), error, std::make_shared<cold_spec>(cold_spec{plan, lim}));
        case handed::gone:
          retire(std::move(*sb)); // and start cold
          break;
      }
    }
  }
  auto setup = spawn_sandbox(plan, lim, false, std::move(in), error, false);
  if (!setup)
    return nullptr;
  return adopt(std::move(*setup), std::move(events), error);
}

} // namespace millrace::sandbox::detail

namespace millrace::sandbox {

std::unique_ptr<launcher> make_bwrap_launcher(launcher_config cfg) {
  return std::make_unique<detail::bwrap_launcher>(std::move(cfg));
}

} // namespace millrace::sandbox
