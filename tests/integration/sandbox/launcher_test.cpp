// The launcher as a whole: clear errors for bad setups and plans, the
// helper search, stale cgroup clean-up, many concurrent starts, and the
// rlimit fallback without cgroups.

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::testing;

namespace {

// Describes a zombie child left with us (its /proc status: name, NSpid)
// and reaps it, so that one failure does not carry into later tests.
std::string zombie_left_behind() {
  siginfo_t info{};
  if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
    return {};
  std::ifstream in{"/proc/" + std::to_string(info.si_pid) + "/status"};
  std::string line, what = "zombie child " + std::to_string(info.si_pid) + ":";
  while (std::getline(in, line))
    if (line.rfind("Name:", 0) == 0 || line.rfind("NSpid:", 0) == 0 || line.rfind("PPid:", 0) == 0)
      what += " " + line;
  ::waitpid(info.si_pid, nullptr, WNOHANG);
  return what;
}

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
  // Owner names: job-<pid>-<start time>-<seq>. Stale: a pid above pid_max,
  // and our own pid with another start time (a previous process that had
  // it). Live: our own pid and start time, i.e. another launcher of ours.
  std::string self = std::to_string(::getpid());
  std::string stat;
  {
    std::ifstream in{"/proc/self/stat"};
    std::getline(in, stat);
  }
  std::istringstream fields{stat.substr(stat.rfind(')') + 2)};
  std::string start;
  for (int i = 0; i < 20; ++i)
    fields >> start;
  std::vector<std::string> stale, live;
  for (auto* ctl : {"memory", "pids"}) {
    auto dir = cgroup_parent_dir(ctl);
    ASSERT_FALSE(dir.empty());
    ::mkdir(dir.c_str(), 0755);
    stale.push_back(dir + "/job-2147483000-1-" + self);
    stale.push_back(dir + "/job-" + self + "-" + std::to_string(std::stoull(start) + 1) + "-1");
    live.push_back(dir + "/job-" + self + "-" + start + "-999999999");
  }
  for (auto& dir : stale)
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
  for (auto& dir : live)
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
  auto l = make_bwrap_launcher(test_config());
  for (auto& dir : stale)
    EXPECT_NE(::access(dir.c_str(), F_OK), 0) << dir << " survived";
  for (auto& dir : live) {
    EXPECT_EQ(::access(dir.c_str(), F_OK), 0) << dir << " was removed";
    ::rmdir(dir.c_str());
  }
}

TEST(SandboxLauncher, TwoLaunchersInOneProcessKeepTheirJobsApart) {
  auto a = make_bwrap_launcher(test_config());
  auto b = make_bwrap_launcher(test_config());
  job_record ra, rb;
  std::string error;
  auto pa = a->start(bash("mkfifo /job/f; echo ready; read <> /job/f"), {}, ra.events(), error);
  ASSERT_TRUE(pa) << error;
  auto pb = b->start(bash("mkfifo /job/f; echo ready; read <> /job/f"), {}, rb.events(), error);
  ASSERT_TRUE(pb) << error;
  ASSERT_TRUE(ra.wait_for(stream::out, "ready"));
  ASSERT_TRUE(rb.wait_for(stream::out, "ready"));
  pa->kill();
  ASSERT_TRUE(ra.wait());
  job_record probe; // a round trip through b's reactor after the kill
  ASSERT_TRUE(b->start(bash("true"), {}, probe.events(), error)) << error;
  ASSERT_TRUE(probe.wait());
  EXPECT_EQ(rb.exit_calls(), 0) << "killing a's job hit b's";
  pb->terminate(std::chrono::seconds(10));
  ASSERT_TRUE(rb.wait());
  EXPECT_FALSE(rb.info().killed);
  EXPECT_EQ(rb.info().signal, 15);
}

TEST(SandboxLauncher, JobsStartWithACleanSignalState) {
  // Like the server: SIGINT/SIGTERM blocked in every thread (the launcher's
  // threads inherit the mask), SIGPIPE ignored.
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  auto l = make_bwrap_launcher(test_config());
  launch_plan plan;
  plan.argv = {"/usr/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"};
  job_record rec;
  std::string error;
  auto started = l->start(plan, {}, rec.events(), error);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::signal(SIGPIPE, old_pipe);
  ASSERT_TRUE(started) << error;
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST(SandboxLauncher, OrphanedInitsAreReapedWhenTheyComeToUs) {
  // bwrap's outer process exits without reaping its init, whose zombie then
  // goes to pid 1, or to us when we are pid 1 (containers) or a subreaper.
  // Be a subreaper here and check that no zombie is left with us.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  {
    auto l = make_bwrap_launcher(test_config());
    std::vector<job_record> recs(5);
    for (auto& rec : recs) {
      std::string error;
      ASSERT_TRUE(l->start(bash("true"), {}, rec.events(), error)) << error;
    }
    for (auto& rec : recs)
      ASSERT_TRUE(rec.wait());
    l.reset();
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  EXPECT_EQ(zombie_left_behind(), "");
}

TEST(SandboxLauncher, AnInitThatOutlivesItsOuterProcessBeforeWeLookIsStillReaped) {
  // A loaded reactor can read a job's status pipe (which names the init)
  // only after bwrap's outer process is gone, and the init has come to us.
  // Hold the reactor in job A's output callback until job B's outer process
  // is a zombie, so B's status is read late, every time.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  {
    // Cold jobs only: the scenario needs B's own outer process to be the
    // child that exits while A's callback holds the reactor, and a standby
    // made meanwhile would be another child that can exit first.
    auto cfg = test_config();
    cfg.standby = 0;
    auto l = make_bwrap_launcher(cfg);
    std::promise<void> holding;
    auto held = holding.get_future();
    job_record a_rec;
    auto a_events = a_rec.events();
    auto a_output = a_events.on_output;
    bool first = true;
    a_events.on_output = [&, a_output](stream s, std::string_view chunk) {
      if (std::exchange(first, false)) {
        holding.set_value();
        siginfo_t info{}; // until some child of ours (B's outer) has exited
        while (::waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
        }
      }
      a_output(s, chunk);
    };
    std::string error;
    ASSERT_TRUE(l->start(bash("echo held; exec sleep 600"), {}, a_events, error)) << error;
    held.wait();
    job_record b_rec;
    ASSERT_TRUE(l->start(bash("true"), {}, b_rec.events(), error)) << error;
    ASSERT_TRUE(b_rec.wait());
    EXPECT_EQ(b_rec.info().exit_code, 0);
    l.reset(); // kills A
    EXPECT_TRUE(a_rec.wait(std::chrono::milliseconds(0)));
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  EXPECT_EQ(zombie_left_behind(), "");
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
  EXPECT_EQ(rec.info().max_memory_bytes, 0u); // unknown without cgroups
  EXPECT_EQ(rec.info().cpu_seconds, 0.0);
}

} // namespace
