// Ending jobs: the kill ladder (SIGTERM, then SIGKILL after the grace),
// kill(), daemons that try to outlive their job, and a launcher destroyed
// while jobs run. After on_exit, nothing of a job may be left on the host.

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::testing;

namespace {

/// Every case runs with cgroups and without (then only the process group
/// and the pid namespace end a job).
class SandboxKillLadder : public ::testing::TestWithParam<bool> {
protected:
  static launcher_config config() {
    auto cfg = test_config();
    cfg.use_cgroups = GetParam();
    return cfg;
  }

  std::unique_ptr<launcher> launcher_ = make_bwrap_launcher(config());

  std::shared_ptr<process> start(job_record& rec, const launch_plan& plan, const limits& lim = {}) {
    // Through a standby sandbox, as production runs most jobs (the
    // streams and isolation suites run both ways).
    return start_job(*launcher_, rec, plan, lim, true);
  }
};

/// Prints "ready" from a process named `token` that then blocks in bash's
/// builtin `read` on a fifo: nothing forks or execs after "ready", so a scan
/// right then finds it. The token never appears whole in the script, so only
/// that process matches a scan for it.
std::string named_waiter(const std::string& token) {
  auto half = token.size() / 2;
  return "mkfifo /job/f; T='" + token.substr(0, half) + "'; T=\"$T\"'" + token.substr(half)
         + "'; exec -a \"$T\" bash -c 'echo ready; read <> /job/f'";
}

TEST_P(SandboxKillLadder, IgnoringSigtermEndsWithSigkillAfterTheGrace) {
  job_record rec;
  auto proc = start(rec, bash("trap '' TERM; echo ready; exec sleep 600"));
  ASSERT_TRUE(proc);
  ASSERT_TRUE(rec.wait_for(stream::out, "ready"));
  const auto grace = std::chrono::milliseconds(300);
  auto asked = std::chrono::steady_clock::now();
  proc->terminate(grace);
  ASSERT_TRUE(rec.wait());
  auto took = std::chrono::steady_clock::now() - asked;
  auto info = rec.info();
  EXPECT_TRUE(info.terminated);
  EXPECT_TRUE(info.killed);
  EXPECT_EQ(info.signal, 9);
  EXPECT_EQ(info.exit_code, -1);
  EXPECT_EQ(info.sandbox_error, "");
  EXPECT_GE(took, grace);
  EXPECT_LT(took, grace + std::chrono::seconds(5));
}

TEST_P(SandboxKillLadder, SigtermTrapEndsTheJobOnTheFirstStep) {
  job_record rec;
  auto proc = start(rec, bash("mkfifo /job/f; trap 'echo got-term; exit 0' TERM; echo ready; read <> /job/f"));
  ASSERT_TRUE(proc);
  ASSERT_TRUE(rec.wait_for(stream::out, "ready"));
  proc->terminate(std::chrono::seconds(30));
  ASSERT_TRUE(rec.wait());
  auto info = rec.info();
  EXPECT_EQ(rec.out(), "ready\ngot-term\n");
  EXPECT_TRUE(info.terminated);
  EXPECT_FALSE(info.killed);
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_EQ(info.signal, 0);
  EXPECT_LT(info.wall, std::chrono::seconds(25));
}

TEST_P(SandboxKillLadder, UntrappedSigtermIsReportedAsTheSignal) {
  job_record rec;
  auto proc = start(rec, bash("echo ready; exec sleep 600"));
  ASSERT_TRUE(rec.wait_for(stream::out, "ready"));
  proc->terminate(std::chrono::seconds(30));
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.info().signal, 15);
  EXPECT_TRUE(rec.info().terminated);
  EXPECT_FALSE(rec.info().killed);
}

TEST_P(SandboxKillLadder, KillIsImmediateAndEverythingIsIdempotent) {
  job_record rec;
  auto proc = start(rec, bash("trap '' TERM; echo ready; exec sleep 600"));
  ASSERT_TRUE(rec.wait_for(stream::out, "ready"));
  proc->kill();
  proc->kill();
  proc->terminate(std::chrono::seconds(30));
  ASSERT_TRUE(rec.wait());
  EXPECT_TRUE(rec.info().killed);
  EXPECT_FALSE(rec.info().terminated);
  EXPECT_EQ(rec.info().signal, 9);
  // After the end: no effect, no second on_exit.
  proc->terminate(std::chrono::milliseconds(1));
  proc->kill();
  job_record probe; // a full round trip through the reactor
  std::string error;
  ASSERT_TRUE(launcher_->start(bash("true"), {}, probe.events(), error)) << error;
  ASSERT_TRUE(probe.wait());
  EXPECT_EQ(rec.exit_calls(), 1);
}

TEST_P(SandboxKillLadder, TerminateRightAfterStartStillEndsTheJob) {
  job_record rec;
  auto proc = start(rec, bash("trap '' TERM; exec sleep 600"));
  proc->terminate(std::chrono::milliseconds(200));
  ASSERT_TRUE(rec.wait());
  EXPECT_TRUE(rec.info().terminated);
  EXPECT_EQ(rec.exit_calls(), 1);
}

TEST_P(SandboxKillLadder, DaemonsDoNotOutliveTheirJob) {
  auto token = unique_token("daemon");
  auto half = token.size() / 2;
  // Double fork + setsid, then wait until the daemon runs, then exit 0.
  auto script = "T='" + token.substr(0, half) + "'; T=\"$T\"'" + token.substr(half) + "'\n"
                + R"sh(( setsid bash -c 'exec -a "$0" sleep 600' "$T" & )
    for i in $(seq 1 1000); do
      for p in /proc/[0-9]*; do
        if grep -qaF -- "$T" $p/cmdline 2>/dev/null && [ "$(cat $p/stat | cut -d' ' -f6)" != "1" ]; then
          echo "daemon-running sid=$(cut -d' ' -f6 $p/stat)"; exit 0
        fi
      done
      sleep 0.01
    done
    exit 1)sh";
  job_record rec;
  auto proc = start(rec, bash(script));
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.info().exit_code, 0) << rec.out() << rec.err();
  EXPECT_NE(rec.out().find("daemon-running"), std::string::npos) << rec.out();
  EXPECT_EQ(processes_with(token), std::vector<pid_t>{});
}

TEST_P(SandboxKillLadder, DestroyingTheLauncherKillsAndReportsEveryJob) {
  auto token = unique_token("orphan");
  std::vector<job_record> recs(3);
  std::vector<std::shared_ptr<process>> procs;
  for (auto& rec : recs) {
    procs.push_back(start(rec, bash("trap '' TERM; " + named_waiter(token))));
    ASSERT_TRUE(procs.back());
  }
  for (auto& rec : recs)
    ASSERT_TRUE(rec.wait_for(stream::out, "ready"));
  EXPECT_EQ(processes_with(token).size(), 3u);
  launcher_.reset();
  for (auto& rec : recs) {
    EXPECT_EQ(rec.exit_calls(), 1);
    EXPECT_TRUE(rec.info().killed);
    EXPECT_NE(rec.info().sandbox_error.find("shut down"), std::string::npos) << rec.info().sandbox_error;
    EXPECT_FALSE(rec.output_after_exit());
  }
  EXPECT_EQ(processes_with(token), std::vector<pid_t>{});
  EXPECT_EQ(leftover_job_cgroups(), std::vector<std::string>{});
  // Handles outlive the launcher harmlessly.
  procs[0]->terminate(std::chrono::milliseconds(1));
  procs[0]->kill();
}

TEST_P(SandboxKillLadder, CpuTimeOfAKilledJobIsKept) {
  if (!GetParam())
    GTEST_SKIP() << "CPU time is only known with the cpuacct cgroup";
  launch_plan plan;
  plan.argv = {"/usr/bin/python3", "-c",
               "import time, sys\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
               "print('ready', flush=True)\ntime.sleep(600)"};
  job_record rec;
  auto proc = start(rec, plan);
  ASSERT_TRUE(rec.wait_for(stream::out, "ready"));
  proc->kill();
  ASSERT_TRUE(rec.wait());
  EXPECT_TRUE(rec.info().killed);
  EXPECT_GE(rec.info().cpu_seconds, 0.35);
}

TEST_P(SandboxKillLadder, SigtermReachesDaemonsThatLeftTheProcessGroup) {
  if (!GetParam())
    GTEST_SKIP() << "only the cgroup can find a process that left the group";
  // The daemon (own session) traps SIGTERM; the main process ignores it.
  // The main process says so once its trap is set (it is set after the
  // daemon starts: a signal ignored on entry cannot be trapped by the
  // daemon's bash). SIGTERM before that killed it, and no SIGKILL was needed.
  job_record rec;
  auto proc = start(rec, bash(R"sh(mkfifo /job/f /job/g
    (setsid bash -c 'trap "echo daemon-got-term; exit 0" TERM; echo daemon-ready; read <> /job/g' &)
    trap '' TERM; echo main-ready; read <> /job/f)sh"));
  ASSERT_TRUE(rec.wait_for(stream::out, "daemon-ready"));
  ASSERT_TRUE(rec.wait_for(stream::out, "main-ready"));
  proc->terminate(std::chrono::milliseconds(500));
  ASSERT_TRUE(rec.wait());
  auto out = rec.out();
  EXPECT_NE(out.find("daemon-got-term\n"), std::string::npos) << out;
  EXPECT_TRUE(rec.info().killed) << out; // the main process ignored SIGTERM
}

INSTANTIATE_TEST_SUITE_P(Cgroups, SandboxKillLadder, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "WithCgroups" : "WithoutCgroups";
                         });

} // namespace
