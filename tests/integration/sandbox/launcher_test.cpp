// The launcher as a whole: clear errors for bad setups and plans, the
// helper search, stale cgroup clean-up, many concurrent starts, and the
// rlimit fallback without cgroups.

#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::testing;

namespace {

TEST(SandboxLauncher, MissingBwrapOrHelperIsAClearError) {
  auto cfg = test_config();
  cfg.bwrap = "/nonexistent/bwrap";
  try {
    make_bwrap_launcher(cfg);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("bubblewrap"), std::string::npos) << e.what();
  }
  cfg = test_config();
  cfg.exec_helper = "/nonexistent/millrace-sandbox-exec";
  EXPECT_THROW(make_bwrap_launcher(cfg), std::runtime_error);
  cfg = test_config();
  cfg.run_as = "no-such-user-millrace";
  if (::geteuid() == 0) {
    EXPECT_THROW(make_bwrap_launcher(cfg), std::runtime_error);
  }
}

TEST(SandboxLauncher, FindsTheHelperWithoutConfiguration) {
  auto cfg = test_config();
  cfg.exec_helper.clear();
  auto l = make_bwrap_launcher(cfg);
  EXPECT_NE(l->describe().find("millrace-sandbox-exec"), std::string::npos) << l->describe();
  job_record rec;
  std::string error;
  ASSERT_TRUE(l->start(bash("echo found"), {}, rec.events(), error)) << error;
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "found\n");
}

TEST(SandboxLauncher, DescribeSaysWhatWasSetUp) {
  auto l = make_bwrap_launcher(test_config());
  auto d = l->describe();
  if (::geteuid() == 0) {
    EXPECT_NE(d.find("cgroups v1 memory+pids"), std::string::npos) << d;
    EXPECT_NE(d.find("nobody (65534:65534)"), std::string::npos) << d;
  }
}

TEST(SandboxLauncher, BadPlansAreRefusedWithoutCallbacks) {
  auto l = make_bwrap_launcher(test_config());
  int calls = 0;
  auto events = [&calls] {
    process_events ev;
    ev.on_output = [&calls](stream, std::string_view) { ++calls; };
    ev.on_exit = [&calls](const exit_info&) { ++calls; };
    return ev;
  };
  auto refused = [&](const launch_plan& plan) {
    std::string error;
    auto p = l->start(plan, {}, events(), error);
    EXPECT_FALSE(p);
    return error;
  };
  launch_plan empty;
  EXPECT_NE(refused(empty).find("argv"), std::string::npos);
  launch_plan relative;
  relative.argv = {"bash", "-c", "true"};
  EXPECT_NE(refused(relative).find("absolute"), std::string::npos);
  for (auto* path : {"/etc/evil", "/job/../etc/evil", "/job", "/job/", "/job/tmp", "job/x", "/job//x"}) {
    auto plan = bash("true");
    plan.files = {{path, "x", false}};
    EXPECT_NE(refused(plan).find("/job"), std::string::npos) << path;
  }
  auto dup = bash("true");
  dup.files = {{"/job/a", "1", false}, {"/job/a", "2", false}};
  EXPECT_NE(refused(dup).find("twice"), std::string::npos);
  auto bad_env = bash("true");
  bad_env.env = {{"A=B", "x"}};
  EXPECT_NE(refused(bad_env).find("environment"), std::string::npos);
  auto bad_bind = bash("true");
  bad_bind.ro_binds = {{"/nonexistent-millrace", "/opt/x"}};
  EXPECT_NE(refused(bad_bind).find("does not exist"), std::string::npos);
  EXPECT_EQ(calls, 0);
}

TEST(SandboxLauncher, MissingProgramIsASandboxError) {
  auto l = make_bwrap_launcher(test_config());
  launch_plan plan;
  plan.argv = {"/usr/bin/millrace-does-not-exist"};
  job_record rec;
  std::string error;
  ASSERT_TRUE(l->start(plan, {}, rec.events(), error)) << error;
  ASSERT_TRUE(rec.wait());
  auto info = rec.info();
  EXPECT_NE(info.sandbox_error.find("execvp /usr/bin/millrace-does-not-exist"), std::string::npos)
    << info.sandbox_error;
  EXPECT_EQ(info.exit_code, 1);
}

TEST(SandboxLauncher, StaleJobCgroupsAreRemovedAtStart) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "cgroups need root";
  // A pid above pid_max: the owner is certainly gone.
  std::vector<std::string> stale;
  for (auto* ctl : {"memory", "pids"}) {
    auto dir = cgroup_parent_dir(ctl);
    ASSERT_FALSE(dir.empty());
    ::mkdir(dir.c_str(), 0755);
    stale.push_back(dir + "/job-2147483000-" + std::to_string(::getpid()));
    ASSERT_EQ(::mkdir(stale.back().c_str(), 0755), 0) << stale.back();
  }
  auto l = make_bwrap_launcher(test_config());
  for (auto& dir : stale)
    EXPECT_NE(::access(dir.c_str(), F_OK), 0) << dir << " survived";
}

TEST(SandboxLauncher, TwentyJobsFromFourThreads) {
  auto l = make_bwrap_launcher(test_config());
  constexpr int threads = 4;
  constexpr int per_thread = 5;
  std::vector<job_record> recs(threads * per_thread);
  std::vector<std::string> errors(recs.size());
  std::vector<std::thread> starters;
  for (int t = 0; t < threads; ++t)
    starters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        size_t n = static_cast<size_t>(t * per_thread + i);
        auto plan = bash("echo job-$N; ls /proc/$$/fd > /job/fds; tr '\\n' ' ' < /job/fds");
        plan.env = {{"N", std::to_string(n)}};
        plan.files = {{"/job/n.txt", std::to_string(n), false}};
        if (!l->start(plan, {}, recs[n].events(), errors[n]))
          errors[n] = "start failed: " + errors[n];
      }
    });
  for (auto& s : starters)
    s.join();
  for (size_t n = 0; n < recs.size(); ++n) {
    ASSERT_EQ(errors[n], "") << n;
    ASSERT_TRUE(recs[n].wait()) << n;
    EXPECT_EQ(recs[n].out(), "job-" + std::to_string(n) + "\n0 1 2 ") << n;
    EXPECT_EQ(recs[n].info().exit_code, 0) << n << " signal " << recs[n].info().signal << " error '"
                                           << recs[n].info().sandbox_error << "' stderr " << recs[n].err();
    EXPECT_EQ(recs[n].exit_calls(), 1);
  }
  l.reset();
  EXPECT_EQ(leftover_job_cgroups(), std::vector<std::string>{});
}

TEST(SandboxLauncher, WithoutCgroupsRlimitsStand) {
  auto cfg = test_config();
  cfg.use_cgroups = false;
  auto l = make_bwrap_launcher(cfg);
  EXPECT_NE(l->describe().find("RLIMIT_AS"), std::string::npos) << l->describe();
  limits lim;
  lim.memory_bytes = 256u << 20;
  launch_plan plan;
  plan.argv = {"/usr/bin/python3", "-c",
               "try:\n  x = bytearray(1 << 30)\nexcept MemoryError:\n  print('memory-error')\n"};
  job_record rec;
  std::string error;
  ASSERT_TRUE(l->start(plan, lim, rec.events(), error)) << error;
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "memory-error\n") << rec.err();
  EXPECT_EQ(rec.info().exit_code, 0);
  EXPECT_FALSE(rec.info().out_of_memory);
  EXPECT_GT(rec.info().max_memory_bytes, 0u);
}

} // namespace
