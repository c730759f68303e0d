// Cgroups and network namespaces kept for later jobs (cgroup_pool.hpp,
// netns_pool.hpp): they are reused, and a job learns nothing of the one
// before it in them: not its out-of-memory kill, its pids.max hits, its
// peak memory, its limits, nor a TIME_WAIT socket holding a port.
//
// Jobs start cold (no standby sandboxes) and one after another, so each
// takes what the last one gave back.

#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::testing;

namespace {

class SandboxReuse : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "cgroups and network namespaces of the launcher's own need root";
    // The first python job of a cold machine reads its files into the page
    // cache, charged to its cgroup: more than a pool keeps. Later ones find
    // them cached (and charged elsewhere).
    job_record warm;
    run(warm, python("pass"));
  }

  /// Runs `echo fine` with `lim` and checks that it printed and that it ran
  /// in a cgroup an earlier job had used.
  exit_info echo_in_a_reused_cgroup(const limits& lim) {
    const auto before = launcher_->stats();
    job_record rec;
    auto info = run(rec, bash("echo fine"), lim);
    EXPECT_EQ(rec.out(), "fine\n");
    EXPECT_EQ(cgroups_reused_since(before), 1u);
    return info;
  }

  /// Cgroups reused since `before`.
  uint64_t cgroups_reused_since(const launcher_stats& before) const {
    return launcher_->stats().cgroups_reused - before.cgroups_reused;
  }

  static launcher_config config(bool reuse = true) {
    auto cfg = test_config();
    cfg.standby = 0;
    cfg.reuse = reuse;
    return cfg;
  }

  std::unique_ptr<launcher> launcher_ = make_bwrap_launcher(config());

  exit_info run(job_record& rec, const launch_plan& plan, const limits& lim = {}) {
    auto proc = start_job(*launcher_, rec, plan, lim, false);
    EXPECT_TRUE(proc);
    EXPECT_TRUE(rec.wait());
    return rec.info();
  }

  static launch_plan python(const std::string& code) {
    launch_plan plan;
    plan.argv = {"/usr/bin/python3", "-c", code};
    return plan;
  }
};

TEST_F(SandboxReuse, AnOutOfMemoryKillIsNotCarriedToTheNextJob) {
  limits lim;
  lim.memory_bytes = 64u << 20;
  job_record hog;
  ASSERT_TRUE(run(hog, python("x = b'x' * (256 << 20)"), lim).out_of_memory);
  EXPECT_FALSE(echo_in_a_reused_cgroup(lim).out_of_memory);
}

TEST_F(SandboxReuse, APidsLimitHitIsNotCarriedToTheNextJob) {
  limits lim;
  lim.pids = 8;
  // More children than pids.max allows: a fork fails (python does not
  // retry, as bash does for seconds). When the parent exits, its pid
  // namespace takes the children with it.
  job_record many;
  auto first = run(many,
                   python("import os, time\n"
                          "try:\n"
                          "  for i in range(20):\n"
                          "    if os.fork() == 0:\n"
                          "      time.sleep(60); os._exit(0)\n"
                          "except OSError:\n"
                          "  print('refused')"),
                   lim);
  EXPECT_EQ(many.out(), "refused\n") << many.err();
  ASSERT_TRUE(first.pids_limit_hit) << many.err();
  EXPECT_FALSE(echo_in_a_reused_cgroup(lim).pids_limit_hit);
}

TEST_F(SandboxReuse, EachJobGetsItsOwnLimitsInAReusedCgroup) {
  limits small;
  small.memory_bytes = 64u << 20;
  limits large;
  large.memory_bytes = 256u << 20;
  const auto alloc = python("x = b'x' * (128 << 20); print('fine')");
  job_record a, b, c;
  EXPECT_EQ(run(a, bash("true"), small).exit_code, 0);
  const auto before = launcher_->stats();
  // Raised: 128 MiB fits in 256.
  auto raised = run(b, alloc, large);
  EXPECT_FALSE(raised.out_of_memory);
  EXPECT_EQ(b.out(), "fine\n") << b.err();
  // Lowered again: 128 MiB does not fit in 64.
  auto lowered = run(c, alloc, small);
  EXPECT_TRUE(lowered.out_of_memory);
  EXPECT_EQ(c.out(), "");
  EXPECT_EQ(cgroups_reused_since(before), 2u);
}

TEST_F(SandboxReuse, PeakMemoryAndCpuAreTheJobsOwn) {
  // (CPU only where cpuacct is mounted; without it cpu_seconds is 0.)
  limits lim;
  lim.memory_bytes = 512u << 20;
  job_record big;
  auto first = run(big, python("import time\nx = b'x' * (128 << 20)\nt = time.process_time()\n"
                               "while time.process_time() - t < 0.3: pass"),
                   lim);
  const bool cpuacct = !cgroup_parent_dir("cpuacct").empty();
  ASSERT_GE(first.max_memory_bytes, 128u << 20);
  if (cpuacct) {
    ASSERT_GE(first.cpu_seconds, 0.3);
  }
  const auto before = launcher_->stats();
  job_record small;
  auto info = run(small, bash("true"), lim);
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_LT(info.max_memory_bytes, 32u << 20);
  if (cpuacct) {
    EXPECT_LT(info.cpu_seconds, 0.2);
  }
  EXPECT_EQ(cgroups_reused_since(before), 1u);
}

TEST_F(SandboxReuse, ANetworkNamespaceIsReusedButNotWithASocketOfTheLastJobInIt) {
  job_record a, b;
  run(a, bash("true"));
  run(b, bash("true"));
  EXPECT_GE(launcher_->stats().netns_reused, 1u);
  // Loopback works in a pooled namespace; the server side closes first, so
  // the port stays in TIME_WAIT (for a minute) after the job.
  job_record tw;
  run(tw, python("import socket\n"
                 "s = socket.socket(); s.bind(('127.0.0.1', 8123)); s.listen()\n"
                 "c = socket.create_connection(('127.0.0.1', 8123)); a, _ = s.accept()\n"
                 "a.close(); c.recv(1); c.close(); s.close(); print('closed')"));
  ASSERT_EQ(tw.out(), "closed\n") << tw.err();
  // Without SO_REUSEADDR, bind fails while a TIME_WAIT holds the port in
  // the same namespace: that one must not have been kept.
  job_record bind;
  run(bind, python("import socket\ns = socket.socket(); s.bind(('127.0.0.1', 8123)); print('bound')"));
  EXPECT_EQ(bind.out(), "bound\n") << bind.err();
}

TEST_F(SandboxReuse, CanBeTurnedOff) {
  launcher_ = make_bwrap_launcher(config(false));
  for (int i = 0; i < 3; ++i) {
    job_record rec;
    EXPECT_EQ(run(rec, bash("true")).exit_code, 0);
  }
  EXPECT_EQ(launcher_->stats().cgroups_reused, 0u);
  EXPECT_EQ(launcher_->stats().netns_reused, 0u);
  EXPECT_NE(launcher_->describe().find("a new network namespace per job (disabled by configuration)"),
            std::string::npos)
    << launcher_->describe();
}

TEST_F(SandboxReuse, NothingIsLeftWhenTheLauncherGoesEvenWithHandlesKept) {
  // Handles of ended jobs outlive the launcher: they must not keep its
  // pools, and so the cgroups in them, alive.
  std::vector<std::shared_ptr<process>> handles;
  for (int i = 0; i < 3; ++i) {
    job_record rec;
    handles.push_back(start_job(*launcher_, rec, bash("true"), {}, false));
    ASSERT_TRUE(handles.back());
    ASSERT_TRUE(rec.wait());
  }
  EXPECT_GE(launcher_->stats().cgroups_reused, 2u);
  launcher_.reset();
  EXPECT_EQ(leftover_job_cgroups(), std::vector<std::string>{});
}

} // namespace
