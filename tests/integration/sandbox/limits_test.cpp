// Resource limits: a fork bomb stays inside pids.max, a memory hog is
// OOM-killed and classified, rlimits reach the job, CPU and peak memory are
// accounted.

#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::testing;

namespace {

class SandboxLimits : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "cgroup limits need root";
  }

  std::unique_ptr<launcher> launcher_ = make_bwrap_launcher(test_config());

  std::shared_ptr<process> start(job_record& rec, const launch_plan& plan, const limits& lim) {
    // Through a standby sandbox, as production runs most jobs (the
    // streams and isolation suites run both ways).
    return start_job(*launcher_, rec, plan, lim, true);
  }
};

TEST_F(SandboxLimits, ForkBombIsContainedByPidsMax) {
  limits lim;
  lim.pids = 32;
  // The token is in the script text, so every bomb process carries it in
  // its command line (they are forks of the same bash). The main process
  // sleeps: when it exits the pid namespace, bomb and all, goes with it.
  auto token = unique_token("forkbomb");
  job_record rec;
  auto proc = start(rec, bash(": " + token + "; bomb() { bomb | bomb & }; bomb; exec sleep 600"), lim);
  ASSERT_TRUE(proc);
  // Watch the host side for a while: the bomb must stay under the limit.
  size_t most = 0;
  for (int i = 0; i < 15 && !rec.wait(std::chrono::milliseconds(200)); ++i)
    most = std::max(most, processes_with(token).size());
  EXPECT_FALSE(rec.wait(std::chrono::milliseconds(0))) << "the bomb ended by itself";
  proc->terminate(std::chrono::milliseconds(500));
  ASSERT_TRUE(rec.wait());
  auto info = rec.info();
  EXPECT_TRUE(info.pids_limit_hit);
  EXPECT_TRUE(info.terminated);
  EXPECT_GE(most, 8u) << "the bomb never got going";
  // bwrap's outer process and init carry the script in their command line
  // too; pids.max is the job's 32 plus those two.
  EXPECT_LE(most, size_t{lim.pids} + 2);
  EXPECT_EQ(processes_with(token), std::vector<pid_t>{});
}

TEST_F(SandboxLimits, MemoryHogIsOomKilledAndClassified) {
  limits lim;
  lim.memory_bytes = 64u << 20;
  launch_plan plan;
  // Four times the limit, every page written.
  plan.argv = {"/usr/bin/python3", "-c", "x = b'x' * (256 << 20); print('survived')"};
  job_record rec;
  auto proc = start(rec, plan, lim);
  ASSERT_TRUE(rec.wait());
  auto info = rec.info();
  EXPECT_TRUE(info.out_of_memory);
  EXPECT_EQ(info.signal, 9);
  EXPECT_EQ(rec.out(), "");
  EXPECT_GE(info.max_memory_bytes, 32u << 20);
  EXPECT_LE(info.max_memory_bytes, lim.memory_bytes);
  EXPECT_EQ(info.sandbox_error, "");
}

TEST_F(SandboxLimits, JobWithinItsMemoryIsNotFlagged) {
  limits lim;
  lim.memory_bytes = 256u << 20;
  launch_plan plan;
  plan.argv = {"/usr/bin/python3", "-c", "x = b'x' * (32 << 20); print('fine')"};
  job_record rec;
  auto proc = start(rec, plan, lim);
  ASSERT_TRUE(rec.wait());
  EXPECT_FALSE(rec.info().out_of_memory);
  EXPECT_FALSE(rec.info().pids_limit_hit);
  EXPECT_EQ(rec.out(), "fine\n");
  EXPECT_GE(rec.info().max_memory_bytes, 32u << 20);
}

TEST_F(SandboxLimits, RlimitsReachTheJob) {
  limits lim;
  lim.open_files = 77;
  lim.file_size_bytes = 1u << 20;
  lim.cpu_seconds = 7;
  job_record rec;
  auto proc = start(rec, bash("echo $(ulimit -n) $(ulimit -f) $(ulimit -t) $(ulimit -c); "
                              "head -c 2000000 /dev/zero > /job/big; echo rc=$?"),
                    lim);
  ASSERT_TRUE(rec.wait());
  // ulimit -f counts 1024-byte blocks; SIGXFSZ ends head (128 + 25).
  EXPECT_EQ(rec.out(), "77 1024 7 0\nrc=153\n");
}

TEST_F(SandboxLimits, CpuTimeIsAccounted) {
  launch_plan plan;
  plan.argv = {"/usr/bin/python3", "-c",
               "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass"};
  job_record rec;
  auto proc = start(rec, plan, limits{});
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.info().exit_code, 0);
  EXPECT_GE(rec.info().cpu_seconds, 0.45);
  EXPECT_LT(rec.info().cpu_seconds, 30.0);
  EXPECT_GT(rec.info().max_memory_bytes, 1u << 20);
}

} // namespace
