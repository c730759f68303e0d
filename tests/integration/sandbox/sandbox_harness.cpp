#include "tests/integration/sandbox/sandbox_harness.hpp"

#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace millrace::sandbox::testing {

struct job_record::state {
  mutable std::mutex mutex;
  mutable std::condition_variable cv;
  std::string out, err, result;
  exit_info info;
  int exits = 0;
  bool late_output = false;
};

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t status_field(const char* key) {
  std::istringstream in{read_all("/proc/self/status")};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0)
      return std::stoull(line.substr(std::string{key}.size())) * 1024;
  return 0;
}

} // namespace

launcher_config test_config() {
  launcher_config cfg;
  cfg.exec_helper = MILLRACE_SANDBOX_EXEC;
  cfg.cgroup_parent = "millrace-test";
  return cfg;
}

std::string cgroup_parent_dir(const std::string& ctl) {
  std::string own;
  std::istringstream in{read_all("/proc/self/cgroup")};
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    std::string ctls = "," + line.substr(a + 1, b - a - 1) + ",";
    if (ctls.find("," + ctl + ",") != std::string::npos)
      own = line.substr(b + 1);
  }
  if (own == "/")
    own.clear();
  auto base = "/sys/fs/cgroup/" + ctl;
  if (::access(base.c_str(), F_OK) != 0)
    return {};
  return base + own + "/millrace-test";
}

std::vector<std::string> leftover_job_cgroups() {
  std::vector<std::string> out;
  auto prefix = "job-" + std::to_string(::getpid()) + "-";
  for (auto* ctl : {"memory", "pids", "freezer", "cpuacct"}) {
    auto dir = cgroup_parent_dir(ctl);
    DIR* d = dir.empty() ? nullptr : ::opendir(dir.c_str());
    if (d == nullptr)
      continue;
    while (auto* e = ::readdir(d))
      if (std::string{e->d_name}.rfind(prefix, 0) == 0)
        out.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  return out;
}

job_record::job_record() : state_(std::make_shared<state>()) {
  // nop
}

process_events job_record::events() {
  process_events ev;
  auto st = state_;
  ev.on_output = [st](stream s, std::string_view chunk) {
    std::lock_guard<std::mutex> guard{st->mutex};
    if (st->exits > 0)
      st->late_output = true;
    auto& target = s == stream::out ? st->out : s == stream::err ? st->err : st->result;
    target.append(chunk);
    st->cv.notify_all();
  };
  ev.on_exit = [st](const exit_info& info) {
    std::lock_guard<std::mutex> guard{st->mutex};
    st->info = info;
    ++st->exits;
    st->cv.notify_all();
  };
  return ev;
}

bool job_record::wait(std::chrono::milliseconds bound) const {
  std::unique_lock<std::mutex> lock{state_->mutex};
  return state_->cv.wait_for(lock, bound, [&] { return state_->exits > 0; });
}

bool job_record::wait_for(stream s, const std::string& needle, std::chrono::milliseconds bound) const {
  std::unique_lock<std::mutex> lock{state_->mutex};
  auto& target = s == stream::out ? state_->out : s == stream::err ? state_->err : state_->result;
  state_->cv.wait_for(lock, bound, [&] { return target.find(needle) != std::string::npos || state_->exits > 0; });
  return target.find(needle) != std::string::npos;
}

std::string job_record::out() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->out;
}

std::string job_record::err() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->err;
}

std::string job_record::result() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->result;
}

exit_info job_record::info() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->info;
}

int job_record::exit_calls() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->exits;
}

bool job_record::output_after_exit() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->late_output;
}

std::shared_ptr<process> start_job(launcher& l, job_record& rec, const launch_plan& plan, const limits& lim,
                                   bool warm) {
  if (warm)
    l.prepare(plan, lim);
  auto before = l.stats().from_standby;
  std::string error;
  auto proc = l.start(plan, lim, rec.events(), error);
  EXPECT_TRUE(proc) << error;
  if (proc && warm) {
    EXPECT_EQ(l.stats().from_standby, before + 1) << "the job did not go to a standby sandbox";
  }
  return proc;
}

launch_plan bash(const std::string& script) {
  launch_plan plan;
  plan.argv = {"/bin/bash", "-c", script};
  return plan;
}

std::string unique_token(const std::string& tag) {
  static std::atomic<int> counter{0};
  return "millrace-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

std::vector<pid_t> processes_with(const std::string& needle) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr)
    return out;
  while (auto* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == ::getpid())
      continue;
    auto cmdline = read_all("/proc/" + std::string{e->d_name} + "/cmdline");
    if (cmdline.find(needle) != std::string::npos)
      out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

uint64_t peak_rss_bytes() {
  return status_field("VmHWM:");
}

uint64_t rss_bytes() {
  return status_field("VmRSS:");
}

} // namespace millrace::sandbox::testing
