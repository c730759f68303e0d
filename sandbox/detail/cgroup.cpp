#include "sandbox/detail/cgroup.hpp"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>

#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail {

namespace {

constexpr const char* controllers[] = {"memory", "pids", "freezer", "cpuacct"};

std::string* slot(cgroup_layout& l, std::string_view ctl) {
  if (ctl == "memory")
    return &l.memory;
  if (ctl == "pids")
    return &l.pids;
  if (ctl == "freezer")
    return &l.freezer;
  if (ctl == "cpuacct")
    return &l.cpuacct;
  return nullptr;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos)
      return out;
    start = end + 1;
  }
}

const std::string& path_of(const cgroup_layout& l, std::string_view ctl) {
  return *slot(const_cast<cgroup_layout&>(l), ctl);
}

bool required(std::string_view ctl) {
  return ctl == "memory" || ctl == "pids";
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// mkdir -p below an existing mount point.
bool make_dirs(const std::string& path, std::string& error) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/')
      continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      error = sys_error("mkdir " + prefix);
      return false;
    }
  }
  return true;
}

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

std::set<pid_t> tasks_of(const std::string& dir) {
  std::set<pid_t> out;
  std::string text;
  if (dir.empty() || !read_file(dir + "/cgroup.procs", text))
    return out;
  std::istringstream in{text};
  long pid;
  while (in >> pid)
    out.insert(static_cast<pid_t>(pid));
  return out;
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

std::unique_ptr<job_cgroup> job_cgroup::create(const cgroup_layout& layout, const std::string& name,
                                               const limits& lim, std::string& error) {
  std::unique_ptr<job_cgroup> cg{new job_cgroup};
  for (auto* ctl : controllers) {
    auto& base = path_of(layout, ctl);
    if (base.empty())
      continue;
    auto dir = base + "/" + name;
    // Another launcher (another process) may remove the parent whenever it
    // is empty, so also between our making it again and our mkdir: try a
    // few times. An existing directory is an error: names are unique, and
    // sharing a cgroup would let one job's kill hit another.
    bool made = ::mkdir(dir.c_str(), 0755) == 0;
    for (int tries = 0; !made && errno == ENOENT && tries < 20 && make_dirs(base, error); ++tries)
      made = ::mkdir(dir.c_str(), 0755) == 0;
    if (!made) {
      if (required(ctl)) {
        error = sys_error("mkdir " + dir);
        return nullptr; // the destructor removes what was made
      }
      continue;
    }
    *slot(cg->paths_, ctl) = dir;
    cg->dirs_.push_back(dir);
  }
  if (lim.memory_bytes != 0) {
    auto bytes = std::to_string(lim.memory_bytes);
    if (!write_file(cg->paths_.memory + "/memory.limit_in_bytes", bytes, error))
      return nullptr;
    // RAM + swap; the file exists only with swap accounting. No swap here,
    // but a host with swap must not let a job page its way past the limit.
    std::string ignored;
    if (exists(cg->paths_.memory + "/memory.memsw.limit_in_bytes"))
      write_file(cg->paths_.memory + "/memory.memsw.limit_in_bytes", bytes, ignored);
  }
  // +2: bwrap's outer process and its pid-1 init live in the job's pids
  // cgroup too; the job gets the number it asked for.
  auto pids = lim.pids != 0 ? std::to_string(uint64_t{lim.pids} + 2) : std::string{"max"};
  if (!write_file(cg->paths_.pids + "/pids.max", pids, error))
    return nullptr;
  return cg;
}

std::unique_ptr<job_cgroup> job_cgroup::attach(const cgroup_layout& layout, const std::string& name) {
  std::unique_ptr<job_cgroup> cg{new job_cgroup};
  for (auto* ctl : controllers) {
    auto& base = path_of(layout, ctl);
    if (base.empty() || !exists(base + "/" + name))
      continue;
    *slot(cg->paths_, ctl) = base + "/" + name;
    cg->dirs_.push_back(base + "/" + name);
  }
  return cg;
}

job_cgroup::~job_cgroup() {
  if (dirs_.empty())
    return;
  signal_all(SIGKILL);
  for (int i = 0; i < 50 && !remove(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

cgroup_usage job_cgroup::read_usage() const {
  cgroup_usage u;
  std::string text;
  unsigned long long v = 0;
  if (read_file(paths_.memory + "/memory.oom_control", text) && find_number(text, "oom_kill", v))
    u.out_of_memory = v > 0;
  if (read_file(paths_.pids + "/pids.events", text) && find_number(text, "max", v))
    u.pids_limit_hit = v > 0;
  if (read_file(paths_.memory + "/memory.max_usage_in_bytes", text))
    u.max_memory_bytes = std::strtoull(text.c_str(), nullptr, 10);
  if (!paths_.cpuacct.empty() && read_file(paths_.cpuacct + "/cpuacct.usage", text))
    u.cpu_seconds = static_cast<double>(std::strtoull(text.c_str(), nullptr, 10)) / 1e9;
  return u;
}

bool job_cgroup::empty() const {
  for (auto& dir : dirs_)
    if (!tasks_of(dir).empty())
      return false;
  return true;
}

bool job_cgroup::freeze(bool frozen) const {
  std::string error;
  if (paths_.freezer.empty() || !exists(paths_.freezer)
      || !write_file(paths_.freezer + "/freezer.state", frozen ? "FROZEN" : "THAWED", error))
    return false;
  if (!frozen)
    return true;
  // FREEZING turns into FROZEN once every task stopped; normally at once.
  std::string state;
  for (int i = 0; i < 100; ++i) {
    if (read_file(paths_.freezer + "/freezer.state", state) && state.rfind("FROZEN", 0) == 0)
      return true;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return true; // signal anyway; a straggler is caught by the next round
}

void job_cgroup::signal_all(int sig, std::vector<pid_t> spare) const {
  const bool frozen = freeze(true);
  // Without a freezer a task may fork between listing and killing, so
  // SIGKILL repeats until a listing comes back empty.
  const int rounds = frozen || sig != SIGKILL ? 1 : 5;
  for (int round = 0; round < rounds; ++round) {
    std::set<pid_t> tasks;
    for (auto& dir : dirs_)
      tasks.merge(tasks_of(dir));
    bool any = false;
    for (pid_t pid : tasks) {
      bool spared = false;
      for (pid_t s : spare)
        spared = spared || (s != 0 && s == pid);
      if (!spared && ::kill(pid, sig) == 0)
        any = true;
    }
    if (!any)
      break;
  }
  if (frozen)
    freeze(false);
}

void job_cgroup::leave_idle_scheduling() const {
  if (dirs_.empty())
    return;
  for (int round = 0; round < 10; ++round) {
    std::string text;
    if (!read_file(dirs_.front() + "/tasks", text)) // threads, not processes
      return;
    std::istringstream in{text};
    long tid;
    bool changed = false;
    while (in >> tid) {
      if (::sched_getscheduler(static_cast<pid_t>(tid)) != SCHED_IDLE)
        continue;
      sched_param none{};
      if (::sched_setscheduler(static_cast<pid_t>(tid), SCHED_OTHER, &none) == 0)
        changed = true;
    }
    if (!changed)
      return;
  }
}

bool job_cgroup::remove() {
  std::vector<std::string> left;
  for (auto& dir : dirs_)
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT)
      left.push_back(dir);
  dirs_ = std::move(left);
  return dirs_.empty();
}

} // namespace millrace::sandbox::detail
