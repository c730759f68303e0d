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
// (the stub) or the plan's standby_argv as the program. Either way the reactor thread (detail/process_reactor.hpp) then
// streams output, runs the kill ladder and reports the exit.
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
#include "sandbox/detail/cgroup.hpp"
#include "sandbox/detail/etc_snapshot.hpp"
#include "sandbox/detail/host_setup.hpp"
#include "sandbox/detail/orphans.hpp"
#include "sandbox/detail/plan_check.hpp"
#include "sandbox/detail/process_reactor.hpp"
#include "sandbox/detail/sandbox_job.hpp"
#include "sandbox/detail/spawn.hpp"
#include "sandbox/detail/standby_pool.hpp"
#include "sandbox/detail/standby_wire.hpp"
#include "sandbox/detail/sys.hpp"
#include "sandbox/launcher.hpp"

#ifndef MILLRACE_SANDBOX_HELPER_DIR
#  define MILLRACE_SANDBOX_HELPER_DIR ""
#endif

namespace millrace::sandbox {

namespace {

using namespace detail;

constexpr int fd_status = 4;
constexpr int fd_args = 5;
constexpr int fd_first_file = 6;
/// Shapes a launcher keeps standbys for (the last ones used).
constexpr size_t standby_shapes = 4;

bool executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

/// The plan a standby of `plan`'s shape is made from: what bwrap and the
/// helper need, with the stub as the program.
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

/// The handle callers hold. Every action is posted to the reactor thread.
class bwrap_process final : public process {
public:
  bwrap_process(std::shared_ptr<process_reactor> reactor, std::shared_ptr<sandbox_job> job)
    : reactor_(std::move(reactor)), job_(std::move(job)) {
    // nop
  }

  pid_t pid() const override {
    return job_->pid();
  }

  void terminate(std::chrono::milliseconds grace) override {
    reactor_->post([job = job_, grace] { job->terminate(grace); });
  }

  void kill() override {
    reactor_->post([job = job_] { job->kill_now(); });
  }

private:
  std::shared_ptr<process_reactor> reactor_;
  std::shared_ptr<sandbox_job> job_;
};

class bwrap_launcher final : public launcher {
public:
  explicit bwrap_launcher(launcher_config cfg) : cfg_(std::move(cfg)) {
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
      if (cgroups_.usable())
        remove_stale_job_cgroups(cgroups_);
    } else {
      no_cgroups_ = "disabled by configuration";
    }
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

  ~bwrap_launcher() override {
    // Standbys first (queued refills then make nothing), then every job,
    // the retired standbys included, and only then the spawn thread: its
    // end SIGKILLs whatever it spawned (bwrap's --die-with-parent), which
    // would end running jobs before the reactor could report them as shut
    // down.
    if (standby_)
      standby_->close();
    reactor_->stop(std::chrono::seconds(10));
    spawner_.stop();
    if (cgroups_.usable())
      remove_empty_parents(cgroups_);
  }

  std::shared_ptr<process> start(const launch_plan& plan, const limits& lim, process_events events,
                                 std::string& error) override;

  std::string describe() const override {
    std::string out = "bwrap (" + cfg_.bwrap + ") via " + helper_ + ", ";
    if (cgroups_.usable())
      out += cgroups_.describe();
    else
      out += "no cgroups (" + no_cgroups_
             + "): memory via RLIMIT_AS per process, pids via RLIMIT_NPROC (counted per uid), "
               "out_of_memory not detectable";
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

  void prepare(const launch_plan& plan, const limits& lim) override {
    if (standby_ && plan.shared_dir.empty() && check_plan(plan).empty())
      standby_->refill(standby_shape(plan, lim), standby_plan_of(plan), lim);
  }

  launcher_stats stats() const override {
    launcher_stats st;
    st.started = started_.load();
    st.from_standby = from_standby_.load();
    st.standby_ready = standby_ ? standby_->ready() : 0;
    return st;
  }

private:
  /// Cgroups, pipes, memfds and the spawn of helper + bwrap for `plan`.
  /// With `stub`, a standby: the stub's socket and executable go to 6 and 7
  /// and `plan` must be a standby_plan_of(). `in` is stdin (cold only).
  std::optional<job_setup> spawn_sandbox(const launch_plan& plan, const limits& lim, bool stub, unique_fd in,
                                         std::string& error);
  std::optional<job_setup> make_standby(const launch_plan& shape, const limits& lim);
  /// Hands the job to a standby; false (standby retired) if it is gone.
  bool hand_over(job_setup& sb, const launch_plan& plan, int in, std::string& error);
  void retire(job_setup sb);
  std::shared_ptr<process> adopt(job_setup setup, process_events events, std::string& error);

  launcher_config cfg_;
  std::string helper_;
  bool as_root_ = false;
  sandbox_identity identity_;
  std::unique_ptr<etc_snapshots> etc_;
  cgroup_layout cgroups_;
  std::string no_cgroups_;
  unique_fd stub_;
  std::string no_standby_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> started_{0};
  std::atomic<uint64_t> from_standby_{0};
  std::shared_ptr<process_reactor> reactor_;
  spawn_thread spawner_;
  /// Declared after the spawn thread: its queued tasks point at the pool,
  /// and the destructor closes the pool and stops the thread first.
  std::unique_ptr<standby_pool> standby_;
};

std::optional<job_setup> bwrap_launcher::spawn_sandbox(const launch_plan& plan, const limits& lim, bool stub,
                                                       unique_fd in, std::string& error) {
  auto fail = [&error](const std::string& what) -> std::optional<job_setup> {
    error = what + ": " + error;
    return std::nullopt;
  };
  std::unique_ptr<job_cgroup> cg;
  if (cgroups_.usable()) {
    cg = job_cgroup::create(cgroups_, next_job_cgroup_name(), lim, error);
    if (!cg)
      return fail("cannot create the job's cgroups");
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
  bwrap_fds layout{fd_status, fd_first_file};
  auto args = sealed_memfd("millrace-bwrap-args", nul_joined(bwrap_options(plan, lim, layout, etc->dir())),
                           error);
  if (!args)
    return fail("cannot prepare bwrap arguments");

  spawn_request req;
  req.program = helper_;
  // A standby is made at idle priority, so that making it never slows a
  // running job; hand_over() lifts that. Only with cgroups (and so root):
  // they list every thread of the standby, which hand_over must find.
  req.argv = exec_helper_argv(helper_, cfg_.bwrap, fd_args, plan, lim, cg.get(), as_root_ ? &identity_ : nullptr,
                              stub && cg != nullptr);
  req.env = {"PATH=/usr/bin:/bin"};
  req.fds = {in.get(), out_w.get(), err_w.get(), res_w ? res_w.get() : -1, st_w.get(), args.get()};
  if (stub) // the stub's executable only for the stub itself
    req.fds.insert(req.fds.end(), {control_peer.get(), plan.argv[0].rfind("/proc/self/fd/", 0) == 0 ? stub_.get() : -1});
  for (auto& f : files)
    req.fds.push_back(f.get());

  const auto started = std::chrono::steady_clock::now();
  // Standbys are made on the spawn thread itself (standby_pool::refill).
  pid_t pid = stub ? spawn_process(req, error) : spawner_.spawn(req, error);
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
  setup.etc = std::move(etc);
  setup.started = started;
  return setup;
}

std::optional<job_setup> bwrap_launcher::make_standby(const launch_plan& shape, const limits& lim) {
  std::string error;
  return spawn_sandbox(shape, lim, true, unique_fd{}, error);
}

bool bwrap_launcher::hand_over(job_setup& sb, const launch_plan& plan, int in, std::string& error) {
  // Gone already (killed from outside, or bwrap failed to set up): a
  // readable pidfd means the outer process exited.
  pollfd p{sb.pidfd.get(), POLLIN, 0};
  if (::poll(&p, 1, 0) != 0) {
    error = "the standby sandbox is gone";
    return false;
  }
  if (sb.cgroup)
    sb.cgroup->leave_idle_scheduling(); // the job runs at normal priority
  auto request = sealed_memfd("millrace-job", encode_standby_request(plan, job_environment(plan)), error);
  if (!request)
    return false;
  if (!send_standby_request(sb.control.get(), request.get(), in, error))
    return false;
  if (!plan.result_channel)
    sb.result.reset(); // the stub closes its end, and so the job never has it
  sb.started = std::chrono::steady_clock::now();
  return true;
}

void bwrap_launcher::retire(job_setup sb) {
  sb.control.reset(); // the stub reads end of file and exits
  std::string ignored;
  adopt(std::move(sb), process_events{}, ignored);
}

std::shared_ptr<process> bwrap_launcher::adopt(job_setup setup, process_events events, std::string& error) {
  setup.id = next_id_++;
  setup.events = std::move(events);
  const pid_t pid = setup.pid;
  auto job = std::make_shared<sandbox_job>(std::move(setup), *reactor_);
  if (!reactor_->adopt(job)) {
    // Never watched, so never reported: kill and reap it here. The job's
    // cgroup is removed when `job` goes away.
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    reap_orphaned_inits(std::chrono::milliseconds(200)); // its init, if it made one
    error = "the launcher is shutting down";
    return nullptr;
  }
  return std::make_shared<bwrap_process>(reactor_, std::move(job));
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
      if (hand_over(*sb, plan, in ? in.get() : -1, why)) {
        ++from_standby_;
        return adopt(std::move(*sb), std::move(events), error);
      }
      retire(std::move(*sb)); // and start cold
    }
  }
  auto setup = spawn_sandbox(plan, lim, false, std::move(in), error);
  if (!setup)
    return nullptr;
  return adopt(std::move(*setup), std::move(events), error);
}

} // namespace

std::unique_ptr<launcher> make_bwrap_launcher(launcher_config cfg) {
  return std::make_unique<bwrap_launcher>(std::move(cfg));
}

} // namespace millrace::sandbox
