// millrace-bench-sandbox-spawn [seconds] [concurrency] [program] [nocgroups|network|cold|noreuse]...: how many
// jobs per second the launcher starts and reaps, each running /bin/true (or
// `program`) in a full sandbox (bwrap, cgroups when root, exec helper).
// `concurrency` threads each start a job, wait for its on_exit, repeat.
// `cold`: no standby sandboxes (every job pays the helper and bwrap set-up).
// `noreuse`: new cgroups and network namespace per job (launcher_config::reuse).
// Prints the rate, the p50 of exit_info::wall (hand-over or spawn to the
// reaping of bwrap) and how many jobs went to a standby.
// Not a ctest test: run it by hand, ideally from a Release build.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "sandbox/launcher.hpp"

using namespace millrace::sandbox;

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  const int concurrency = argc > 2 ? std::atoi(argv[2]) : 1;
  const std::string program = argc > 3 ? argv[3] : "/bin/true";
  bool cgroups = true;
  bool network = false;
  bool cold = false;
  bool reuse = true;
  for (int i = 4; i < argc; ++i) {
    cgroups = cgroups && std::string{argv[i]} != "nocgroups";
    network = network || std::string{argv[i]} == "network";
    cold = cold || std::string{argv[i]} == "cold";
    reuse = reuse && std::string{argv[i]} != "noreuse";
  }

  launcher_config cfg;
  cfg.exec_helper = MILLRACE_SANDBOX_EXEC;
  cfg.cgroup_parent = "millrace-bench";
  cfg.use_cgroups = cgroups;
  cfg.reuse = reuse;
  if (cold)
    cfg.standby = 0;
  auto l = make_bwrap_launcher(cfg);
  std::printf("%s\n", l->describe().c_str());

  std::atomic<long> done{0}, failed{0};
  std::mutex walls_mutex;
  std::vector<double> walls_ms;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  auto worker = [&] {
    while (std::chrono::steady_clock::now() < deadline) {
      std::mutex m;
      std::condition_variable cv;
      bool finished = false;
      bool ok = false;
      process_events ev;
      ev.on_exit = [&](const exit_info& info) {
        std::lock_guard<std::mutex> g{m};
        ok = info.exit_code == 0 && info.sandbox_error.empty();
        {
          std::lock_guard<std::mutex> w{walls_mutex};
          walls_ms.push_back(static_cast<double>(info.wall.count()) / 1000.0);
        }
        static std::atomic<int> reported{0};
        if (!ok && reported++ < 3)
          std::fprintf(stderr, "job failed: exit %d signal %d error '%s'\n", info.exit_code, info.signal,
                       info.sandbox_error.c_str());
        finished = true;
        cv.notify_all();
      };
      launch_plan plan;
      plan.argv = {program};
      plan.network = network;
      std::string error;
      auto p = l->start(plan, limits{}, std::move(ev), error);
      if (!p) {
        std::fprintf(stderr, "start failed: %s\n", error.c_str());
        ++failed;
        return;
      }
      std::unique_lock<std::mutex> lock{m};
      cv.wait(lock, [&] { return finished; });
      ++(ok ? done : failed);
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i)
    threads.emplace_back(worker);
  for (auto& t : threads)
    t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s%s%s, concurrency %d: %ld jobs in %.2f s = %.1f jobs/s (%.2f ms per job per thread), %ld failed\n",
              program.c_str(), cgroups ? "" : " (no cgroups)", network ? " (host network)" : "", concurrency, done.load(), elapsed, done.load() / elapsed,
              1000.0 * elapsed * concurrency / std::max(1L, done.load()), failed.load());
  std::sort(walls_ms.begin(), walls_ms.end());
  auto st = l->stats();
  std::printf("wall p50 %.2f ms; %llu of %llu jobs went to a standby sandbox; reused: %llu cgroups, %llu network "
              "namespaces\n",
              walls_ms.empty() ? 0.0 : walls_ms[walls_ms.size() / 2],
              static_cast<unsigned long long>(st.from_standby), static_cast<unsigned long long>(st.started),
              static_cast<unsigned long long>(st.cgroups_reused), static_cast<unsigned long long>(st.netns_reused));
  return failed.load() == 0 ? 0 : 1;
}
