// make_bwrap_launcher: the production launcher. Per job, start() validates
// the plan, creates the job's cgroups, pipes and sealed memfds, and spawns
//
//   posix_spawn(millrace-sandbox-exec)  (on the launcher's spawn thread)
//     joins cgroups, rlimits, drops to run_as
//     -> execv(bwrap --args 5 -- argv)  outer process, same pid
//       -> bwrap's init (pid 1)         "child-pid" on --json-status-fd
//         -> the job (pid 2)
//
// then hands everything to the reactor thread (detail/process_reactor.hpp),
// which streams output, runs the kill ladder and reports the exit.
//
// Descriptors as the helper (and bwrap) receive them:
//   0 stdin (sealed memfd, or /dev/null)   1 stdout pipe   2 stderr pipe
//   3 result pipe (only with result_channel; otherwise closed)
//   4 --json-status-fd pipe   5 --args memfd   6 /etc/passwd memfd
//   7 /etc/group memfd        8.. one sealed memfd per job file
// bwrap closes 5..N after reading them and keeps 4 in its outer process
// only, so the job sees 0-2 (and 3).

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>

#include "sandbox/detail/bwrap_args.hpp"
#include "sandbox/detail/cgroup.hpp"
#include "sandbox/detail/etc_snapshot.hpp"
#include "sandbox/detail/plan_check.hpp"
#include "sandbox/detail/process_reactor.hpp"
#include "sandbox/detail/sandbox_job.hpp"
#include "sandbox/detail/spawn.hpp"
#include "sandbox/detail/sys.hpp"
#include "sandbox/launcher.hpp"

#ifndef MILLRACE_SANDBOX_HELPER_DIR
#  define MILLRACE_SANDBOX_HELPER_DIR ""
#endif

namespace millrace::sandbox {

namespace {

using namespace detail;

constexpr const char* helper_name = "millrace-sandbox-exec";
constexpr int fd_status = 4;
constexpr int fd_args = 5;
constexpr int fd_first_file = 6;

bool executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

std::string dir_of_self() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return {};
  std::string path{buf, static_cast<size_t>(n)};
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string{} : path.substr(0, slash);
}

/// The configured helper, else the first of: next to the running
/// executable, <dir>/bin, <dir>/../bin (both live in build/*/bin/ of a
/// build tree), and the build tree's bin/
/// baked in at compile time (tests, and running from the build tree).
std::string find_helper(const launcher_config& cfg) {
  if (!cfg.exec_helper.empty()) {
    if (!executable(cfg.exec_helper))
      throw std::runtime_error("sandbox exec helper " + cfg.exec_helper + " is missing or not executable");
    return cfg.exec_helper;
  }
  std::vector<std::string> candidates;
  if (auto dir = dir_of_self(); !dir.empty()) {
    candidates.push_back(dir + "/" + helper_name);
    candidates.push_back(dir + "/bin/" + helper_name);
    candidates.push_back(dir + "/../bin/" + helper_name);
  }
  if (std::string baked = MILLRACE_SANDBOX_HELPER_DIR; !baked.empty())
    candidates.push_back(baked + "/" + helper_name);
  std::string tried;
  for (auto& c : candidates) {
    if (executable(c))
      return c;
    tried += (tried.empty() ? "" : ", ") + c;
  }
  throw std::runtime_error(std::string{"sandbox exec helper "} + helper_name + " not found (tried " + tried
                           + "); set launcher_config::exec_helper");
}

sandbox_identity lookup_identity(const launcher_config& cfg, bool as_root) {
  sandbox_identity id;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (as_root) {
    if (::getpwnam_r(cfg.run_as.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
      throw std::runtime_error("sandbox run_as user '" + cfg.run_as + "' does not exist");
    if (pw.pw_uid == 0)
      throw std::runtime_error("sandbox run_as user '" + cfg.run_as + "' is root; jobs must not run as root");
    id.uid = pw.pw_uid;
    id.gid = pw.pw_gid;
    id.user = pw.pw_name;
  } else {
    id.uid = ::getuid();
    id.gid = ::getgid();
    if (::getpwuid_r(id.uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr)
      id.user = pw.pw_name;
    else
      id.user = "user" + std::to_string(id.uid);
  }
  group gr{};
  group* gfound = nullptr;
  if (::getgrgid_r(id.gid, &gr, buf.data(), buf.size(), &gfound) == 0 && gfound != nullptr)
    id.group = gr.gr_name;
  else
    id.group = id.user;
  return id;
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
    helper_ = find_helper(cfg_);
    as_root_ = ::geteuid() == 0;
    identity_ = lookup_identity(cfg_, as_root_);
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
  }

  ~bwrap_launcher() override {
    reactor_->stop(std::chrono::seconds(10));
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
    return out;
  }

private:
  std::vector<std::string> helper_argv(const launch_plan& plan, const limits& lim, const job_cgroup* cg) const;

  launcher_config cfg_;
  std::string helper_;
  bool as_root_ = false;
  sandbox_identity identity_;
  std::unique_ptr<etc_snapshots> etc_;
  cgroup_layout cgroups_;
  std::string no_cgroups_;
  std::atomic<uint64_t> next_id_{1};
  std::shared_ptr<process_reactor> reactor_;
  /// Declared last: destroyed first, after the destructor stopped the
  /// reactor (every job is gone by then).
  spawn_thread spawner_;
};

std::vector<std::string> bwrap_launcher::helper_argv(const launch_plan& plan, const limits& lim,
                                                     const job_cgroup* cg) const {
  std::vector<std::string> a{helper_};
  if (cg != nullptr)
    for (auto& dir : cg->dirs())
      a.insert(a.end(), {"--cgroup", dir});
  auto rlimit = [&a](const char* name, uint64_t value) {
    a.insert(a.end(), {"--rlimit", std::string{name} + "=" + std::to_string(value)});
  };
  // No core dumps: they would land in the job folder or, with a piped
  // core_pattern, in a host-side handler.
  rlimit("CORE", 0);
  if (lim.open_files != 0)
    rlimit("NOFILE", lim.open_files);
  if (lim.file_size_bytes != 0)
    rlimit("FSIZE", lim.file_size_bytes);
  if (lim.cpu_seconds != 0)
    rlimit("CPU", lim.cpu_seconds);
  if (cg == nullptr) {
    // The fallback: per-process address space, and processes per uid.
    if (lim.memory_bytes != 0)
      rlimit("AS", lim.memory_bytes);
    if (lim.pids != 0)
      rlimit("NPROC", lim.pids);
  }
  // In a host-wide OOM a job goes before the server.
  a.insert(a.end(), {"--oom-score-adj", "1000"});
  if (as_root_)
    a.insert(a.end(), {"--uid", std::to_string(identity_.uid), "--gid", std::to_string(identity_.gid)});
  a.insert(a.end(), {"--", cfg_.bwrap, "--args", std::to_string(fd_args), "--"});
  a.insert(a.end(), plan.argv.begin(), plan.argv.end());
  return a;
}

std::shared_ptr<process> bwrap_launcher::start(const launch_plan& plan, const limits& lim,
                                               process_events events, std::string& error) {
  error.clear();
  if (auto why = check_plan(plan); !why.empty()) {
    error = why;
    return nullptr;
  }
  const uint64_t id = next_id_++;

  std::unique_ptr<job_cgroup> cg;
  if (cgroups_.usable()) {
    cg = job_cgroup::create(cgroups_, next_job_cgroup_name(), lim, error);
    if (!cg) {
      error = "cannot create the job's cgroups: " + error;
      return nullptr;
    }
  }

  auto fail = [&error](const std::string& what) -> std::shared_ptr<process> {
    error = what + ": " + error;
    return nullptr;
  };
  unique_fd out_r, out_w, err_r, err_w, res_r, res_w, st_r, st_w;
  if (!make_pipe(out_r, out_w, error) || !make_pipe(err_r, err_w, error) || !make_pipe(st_r, st_w, error)
      || (plan.result_channel && !make_pipe(res_r, res_w, error)))
    return fail("cannot create pipes");
  unique_fd in;
  if (plan.stdin_data.empty()) {
    in.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!in) {
      error = sys_error("open /dev/null");
      return fail("cannot prepare stdin");
    }
  } else {
    // A sealed memfd instead of a pipe: the job reads it at its own pace
    // (or never) and no thread of ours ever blocks writing it.
    in = sealed_memfd("millrace-stdin", plan.stdin_data, error);
    if (!in)
      return fail("cannot hold stdin data");
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
  req.argv = helper_argv(plan, lim, cg.get());
  req.env = {"PATH=/usr/bin:/bin"};
  req.fds = {in.get(), out_w.get(), err_w.get(), res_w ? res_w.get() : -1, st_w.get(), args.get()};
  for (auto& f : files)
    req.fds.push_back(f.get());

  const auto started = std::chrono::steady_clock::now();
  pid_t pid = spawner_.spawn(req, error);
  if (pid < 0)
    return fail("cannot start the sandbox");
  unique_fd pidfd{open_pidfd(pid)};
  if (!pidfd) {
    error = sys_error("pidfd_open");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return fail("cannot watch the sandbox");
  }

  job_setup setup;
  setup.id = id;
  setup.pid = pid;
  setup.pidfd = std::move(pidfd);
  setup.out = std::move(out_r);
  setup.err = std::move(err_r);
  setup.result = std::move(res_r);
  setup.status = std::move(st_r);
  setup.cgroup = std::move(cg);
  setup.etc = std::move(etc);
  setup.events = std::move(events);
  setup.started = started;
  auto job = std::make_shared<sandbox_job>(std::move(setup), *reactor_);
  if (!reactor_->adopt(job)) {
    // Never watched, so never reported: kill and reap it here. The job's
    // cgroup is removed when `job` goes away.
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    error = "the launcher is shutting down";
    return nullptr;
  }
  return std::make_shared<bwrap_process>(reactor_, std::move(job));
}

} // namespace

std::unique_ptr<launcher> make_bwrap_launcher(launcher_config cfg) {
  return std::make_unique<bwrap_launcher>(std::move(cfg));
}

} // namespace millrace::sandbox
