#include "tests/bench/jobs_bench.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/bench/bench_util.hpp"

extern char** environ;

namespace millrace::bench {

namespace {

long env_num(const char* name, long fallback) {
  auto* v = std::getenv(name);
  if (!v || !*v)
    return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x <= 0) {
    std::fprintf(stderr, "%s=%s is not a positive integer\n", name, v);
    std::exit(2);
  }
  return x;
}

} // namespace

jobs_settings settings_from_env() {
  jobs_settings s;
  s.n = static_cast<uint64_t>(env_num("N", static_cast<long>(s.n)));
  s.runs = static_cast<int>(env_num("RUNS", s.runs));
  s.trickle_n = static_cast<int>(env_num("TRICKLE_N", s.trickle_n));
  s.trickle_gap_ms = static_cast<int>(env_num("TRICKLE_GAP_MS", s.trickle_gap_ms));
  s.burst_n = static_cast<uint64_t>(env_num("BURST_N", static_cast<long>(s.burst_n)));
  s.burst_call = static_cast<size_t>(env_num("BURST_CALL", static_cast<long>(s.burst_call)));
  s.noop_slots = static_cast<int>(env_num("NOOP_SLOTS", s.noop_slots));
  s.bash_n = static_cast<uint64_t>(env_num("BASH_N", static_cast<long>(s.bash_n)));
  s.process_slots = static_cast<int>(env_num("PROCESS_SLOTS", s.process_slots));
  if (auto* v = std::getenv("STANDBY"); v && std::string{v} == "0")
    s.standby = 0; // cold: env_num takes positive numbers only
  else
    s.standby = static_cast<int>(env_num("STANDBY", s.standby));
  if (auto* v = std::getenv("REUSE"); v && std::string{v} == "0")
    s.reuse = false; // new cgroups and network namespace per job
  s.python_n = static_cast<int>(env_num("PYTHON_N", s.python_n));
  s.ref_seconds = static_cast<double>(env_num("REF_SECONDS", 3));
  if (auto* o = std::getenv("ONLY"))
    s.only = o;
  return s;
}

void probe_log::record(const std::string& slot, const std::string& args, bool start) {
  auto at = now_ns();
  int64_t t = 0;
  if (auto p = args.find("\"t\":"); p != std::string::npos)
    t = std::strtoll(args.c_str() + p + 4, nullptr, 10);
  std::lock_guard<std::mutex> lock{mtx};
  events.push_back({slot, at, start, t});
}

std::vector<probe_log::event> probe_log::take() {
  std::lock_guard<std::mutex> lock{mtx};
  return std::move(events);
}

void emit(const std::string& test, const std::string& fields) {
  std::printf("RESULT {\"peer\":\"millrace\",\"version\":\"0.1\",\"test\":\"%s\",%s}\n",
              test.c_str(), fields.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "[%s] %s\n", test.c_str(), fields.c_str());
}

double machine_busy_seconds() {
  std::ifstream in{"/proc/stat"};
  std::string cpu;
  in >> cpu;
  uint64_t v[10] = {};
  for (auto& x : v)
    in >> x;
  // user nice system idle iowait irq softirq steal guest guest_nice; guest
  // time is already in user.
  uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return static_cast<double>(busy) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

spawn_figures measure_spawn(const std::vector<std::string>& argv, int parallel, double seconds) {
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::vector<double>> per(static_cast<size_t>(parallel));
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::microseconds{static_cast<int64_t>(seconds * 1e6)};
  auto t0 = now_ns();
  std::vector<std::thread> threads;
  for (int i = 0; i < parallel; ++i)
    threads.emplace_back([&, i] {
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
      while (std::chrono::steady_clock::now() < deadline) {
        auto s = now_ns();
        pid_t pid = 0;
        if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) {
          std::perror("posix_spawn");
          std::exit(1);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          std::fprintf(stderr, "spawn reference %s failed (status %d)\n", args[0], status);
          std::exit(1);
        }
        per[static_cast<size_t>(i)].push_back(static_cast<double>(now_ns() - s) / 1e6);
      }
      posix_spawn_file_actions_destroy(&fa);
    });
  for (auto& t : threads)
    t.join();
  auto wall = static_cast<double>(now_ns() - t0) / 1e9;
  std::vector<double> all;
  for (auto& p : per)
    all.insert(all.end(), p.begin(), p.end());
  spawn_figures f;
  f.per_s = static_cast<double>(all.size()) / wall;
  f.p50_ms = percentile(all, 50);
  f.p99_ms = percentile(all, 99);
  return f;
}

std::vector<std::string> bwrap_argv(std::vector<std::string> cmd) {
  std::vector<std::string> a = {"/usr/bin/bwrap", "--unshare-all", "--die-with-parent",
                                "--new-session", "--ro-bind", "/usr", "/usr", "--symlink",
                                "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink",
                                "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev",
                                "--tmpfs", "/tmp"};
  a.insert(a.end(), cmd.begin(), cmd.end());
  return a;
}

std::string fmt(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

} // namespace millrace::bench
