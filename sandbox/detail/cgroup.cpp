// The cgroup layout (cgroup.hpp): finding the v1 hierarchies, the parent
// directories, job directory names, and the removal of what a crashed
// launcher left. One job's directories: cgroup_job.cpp.

#include "sandbox/detail/cgroup.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>

#include "sandbox/detail/cgroup_fs.hpp"
#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail {

using namespace cgroup_fs;

namespace {

/// Mount point per v1 controller, from /proc/self/mountinfo.
cgroup_layout v1_mounts() {
  cgroup_layout mounts;
  std::string text;
  if (!read_file("/proc/self/mountinfo", text))
    return mounts;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos)
      continue;
    auto before = split(line.substr(0, dash), ' ');
    auto after = split(line.substr(dash + 3), ' ');
    if (before.size() < 5 || after.size() < 3 || after[0] != "cgroup")
      continue;
    for (auto& opt : split(after[2], ',')) {
      if (auto* s = slot(mounts, opt); s != nullptr && s->empty())
        *s = before[4];
    }
  }
  return mounts;
}

/// This process's own cgroup path per v1 controller, from /proc/self/cgroup.
cgroup_layout own_paths() {
  cgroup_layout own;
  std::string text;
  if (!read_file("/proc/self/cgroup", text))
    return own;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos)
      continue;
    for (auto& ctl : split(line.substr(first + 1, second - first - 1), ',')) {
      if (auto* s = slot(own, ctl))
        *s = line.substr(second + 1);
    }
  }
  return own;
}

bool valid_parent(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.back() == '/')
    return false;
  for (auto& part : split(p, '/'))
    if (part.empty() || part == "." || part == "..")
      return false;
  return true;
}

/// The owner (pid, start time) of "job-<pid>-<start>-<seq>"; pid 0 when
/// the name is not one of ours.
std::pair<pid_t, unsigned long long> owner_of(const std::string& name) {
  if (name.rfind("job-", 0) != 0)
    return {0, 0};
  const char* p = name.c_str() + 4;
  char* end = nullptr;
  long pid = std::strtol(p, &end, 10);
  if (end == p || *end != '-' || pid <= 0)
    return {0, 0};
  p = end + 1;
  unsigned long long start = std::strtoull(p, &end, 10);
  if (end == p || *end != '-')
    return {0, 0};
  return {static_cast<pid_t>(pid), start};
}

} // namespace

std::string cgroup_layout::describe() const {
  std::string ctls;
  for (auto* ctl : controllers) {
    if (!path_of(*this, ctl).empty())
      ctls += ctls.empty() ? ctl : std::string{"+"} + ctl;
  }
  return "cgroups v1 " + ctls + " (e.g. " + memory + "/job-*)";
}

cgroup_layout probe_cgroups(const std::string& cgroup_parent, std::string& why_not) {
  if (::geteuid() != 0) {
    why_not = "not running as root";
    return {};
  }
  if (!valid_parent(cgroup_parent)) {
    why_not = "cgroup_parent '" + cgroup_parent + "' is not a relative path";
    return {};
  }
  auto mounts = v1_mounts();
  auto own = own_paths();
  cgroup_layout layout;
  for (auto* ctl : controllers) {
    auto& mount = *slot(mounts, ctl);
    if (mount.empty())
      continue;
    auto own_path = *slot(own, ctl);
    if (own_path == "/")
      own_path.clear();
    auto base = mount + own_path + "/" + cgroup_parent;
    std::string err;
    if (make_dirs(base, err) && exists(base + "/cgroup.procs"))
      *slot(layout, ctl) = base;
    else if (required(ctl))
      why_not = err.empty() ? "cannot use " + base : err;
  }
  if (!layout.usable()) {
    if (why_not.empty())
      why_not = "cgroup v1 memory and pids controllers are not mounted";
    return {};
  }
  return layout;
}

std::string next_job_cgroup_name() {
  static const pid_t self = ::getpid();
  static const unsigned long long started = process_start_time(self);
  static std::atomic<uint64_t> seq{0};
  return "job-" + std::to_string(self) + "-" + std::to_string(started) + "-" + std::to_string(++seq);
}

void remove_stale_job_cgroups(const cgroup_layout& layout) {
  std::set<std::string> stale;
  for (auto* ctl : controllers) {
    auto& base = path_of(layout, ctl);
    if (base.empty())
      continue;
    DIR* dir = ::opendir(base.c_str());
    if (dir == nullptr)
      continue;
    while (auto* ent = ::readdir(dir)) {
      std::string name = ent->d_name;
      auto [pid, start] = owner_of(name);
      if (pid == 0)
        continue;
      // Alive means: that pid exists and started when the name says. (With
      // parents shared across pid namespaces the pid may name another
      // process; then a leftover may survive, but no live job is touched
      // unless its owner's pid also exists here with the same start time.)
      if (process_start_time(pid) == start)
        continue;
      stale.insert(name);
    }
    ::closedir(dir);
  }
  for (auto& name : stale) {
    auto cg = job_cgroup::attach(layout, name);
    cg->signal_all(SIGKILL);
    for (int i = 0; i < 100 && !cg->remove(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void remove_empty_parents(const cgroup_layout& layout) {
  for (auto* ctl : controllers) {
    auto& base = path_of(layout, ctl);
    if (!base.empty())
      ::rmdir(base.c_str()); // fails while other jobs live there: fine
  }
}

} // namespace millrace::sandbox::detail
