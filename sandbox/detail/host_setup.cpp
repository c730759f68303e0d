#include "sandbox/detail/host_setup.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace millrace::sandbox::detail {

namespace {

constexpr const char* helper_name = "millrace-sandbox-exec";
constexpr const char* stub_name = "millrace-sandbox-stub";

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

} // namespace

std::string find_exec_helper(const launcher_config& cfg, const std::string& baked_dir) {
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
  if (!baked_dir.empty())
    candidates.push_back(baked_dir + "/" + helper_name);
  std::string tried;
  for (auto& c : candidates) {
    if (executable(c))
      return c;
    tried += (tried.empty() ? "" : ", ") + c;
  }
  throw std::runtime_error(std::string{"sandbox exec helper "} + helper_name + " not found (tried " + tried
                           + "); set launcher_config::exec_helper");
}

std::string find_standby_stub(const std::string& helper) {
  auto slash = helper.rfind('/');
  std::string stub = (slash == std::string::npos ? std::string{"."} : helper.substr(0, slash)) + "/" + stub_name;
  return executable(stub) ? stub : std::string{};
}

std::vector<std::string> exec_helper_argv(const std::string& helper, const std::string& bwrap, int args_fd,
                                          const launch_plan& plan, const limits& lim, const job_cgroup* cg,
                                          const sandbox_identity* drop_to, bool idle, int netns_fd) {
  std::vector<std::string> a{helper};
  if (cg != nullptr)
    for (auto& dir : cg->dirs())
      a.insert(a.end(), {"--cgroup", dir});
  if (netns_fd >= 0)
    a.insert(a.end(), {"--netns", std::to_string(netns_fd)});
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
  if (idle)
    a.insert(a.end(), {"--sched-idle", "1"});
  if (drop_to != nullptr)
    a.insert(a.end(), {"--uid", std::to_string(drop_to->uid), "--gid", std::to_string(drop_to->gid)});
  a.insert(a.end(), {"--", bwrap, "--args", std::to_string(args_fd), "--"});
  a.insert(a.end(), plan.argv.begin(), plan.argv.end());
  return a;
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

std::string ensure_shared_dir(const std::string& dir, const sandbox_identity* owner) {
  namespace fs = std::filesystem;
  auto parent = fs::path{dir}.parent_path();
  std::error_code ec;
  if (!fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec)
      return "cannot create the shared folders' root " + parent.string() + ": " + ec.message();
    ::chmod(parent.c_str(), 0711);
  }
  if (::mkdir(dir.c_str(), 0700) == 0) {
    if (owner && ::chown(dir.c_str(), owner->uid, owner->gid) != 0) {
      auto why = std::string{std::strerror(errno)};
      ::rmdir(dir.c_str());
      return "cannot hand the shared folder " + dir + " to " + owner->user + ": " + why;
    }
    return {};
  }
  if (errno != EEXIST)
    return "cannot create the shared folder " + dir + ": " + std::strerror(errno);
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return "the shared folder " + dir + " exists but is not a folder";
  return {};
}

} // namespace millrace::sandbox::detail
