// job_cgroup: one job's directories under each controller (cgroup.hpp):
// created with the job's limits, its usage read, its tasks signalled (frozen
// first), idle priority lifted, removed. The layout they live in:
// cgroup.cpp.

#include <sched.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "sandbox/detail/cgroup.hpp"
#include "sandbox/detail/cgroup_fs.hpp"
#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail {

using namespace cgroup_fs;

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
  if (!cg->apply_limits(lim, error))
    return nullptr;
  return cg;
}

bool job_cgroup::apply_limits(const limits& lim, std::string& error) {
  if (lim.memory_bytes != memory_limit_) {
    auto bytes = lim.memory_bytes != 0 ? std::to_string(lim.memory_bytes) : std::string{"-1"};
    // RAM + swap; the file exists only with swap accounting. No swap here,
    // but a host with swap must not let a job page its way past the limit.
    // memsw must never be below the RAM limit: raised first, lowered after.
    auto memsw = paths_.memory + "/memory.memsw.limit_in_bytes";
    const bool has_memsw = exists(memsw);
    const bool raising = lim.memory_bytes == 0 || (memory_limit_ != 0 && lim.memory_bytes > memory_limit_);
    std::string ignored;
    if (has_memsw && raising)
      write_file(memsw, bytes, ignored);
    if (!write_file(paths_.memory + "/memory.limit_in_bytes", bytes, error))
      return false;
    if (has_memsw && !raising)
      write_file(memsw, bytes, ignored);
    memory_limit_ = lim.memory_bytes;
  }
  // +2: bwrap's outer process and its pid-1 init live in the job's pids
  // cgroup too; the job gets the number it asked for.
  auto pids = lim.pids != 0 ? std::to_string(uint64_t{lim.pids} + 2) : std::string{"max"};
  if (pids != pids_max_) {
    if (!write_file(paths_.pids + "/pids.max", pids, error))
      return false;
    pids_max_ = pids;
  }
  return true;
}

bool job_cgroup::reuse(const limits& lim, std::string& error) {
  if (!apply_limits(lim, error))
    return false;
  std::string ignored;
  // Writing 0 sets the peak to the present charge, and clears the CPU sum.
  write_file(paths_.memory + "/memory.max_usage_in_bytes", "0", ignored);
  if (!paths_.cpuacct.empty())
    write_file(paths_.cpuacct + "/cpuacct.usage", "0", ignored);
  take_baselines();
  return true;
}

void job_cgroup::take_baselines() {
  std::string text;
  unsigned long long v = 0;
  oom_kills_before_ = read_file(paths_.memory + "/memory.oom_control", text) && find_number(text, "oom_kill", v) ? v : 0;
  pids_hits_before_ = read_file(paths_.pids + "/pids.events", text) && find_number(text, "max", v) ? v : 0;
  memory_before_ = memory_charged();
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
    u.out_of_memory = v > oom_kills_before_;
  if (read_file(paths_.pids + "/pids.events", text) && find_number(text, "max", v))
    u.pids_limit_hit = v > pids_hits_before_;
  if (read_file(paths_.memory + "/memory.max_usage_in_bytes", text)) {
    v = std::strtoull(text.c_str(), nullptr, 10);
    u.max_memory_bytes = v > memory_before_ ? v - memory_before_ : 0;
  }
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

uint64_t job_cgroup::memory_charged() const {
  std::string text;
  return read_file(paths_.memory + "/memory.usage_in_bytes", text) ? std::strtoull(text.c_str(), nullptr, 10) : 0;
}

bool job_cgroup::no_task_left() const {
  return tasks_of(paths_.pids).empty();
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
