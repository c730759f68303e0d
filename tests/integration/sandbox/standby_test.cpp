// Standby sandboxes: the pool's rules (with a fake maker: no processes) and
// the launcher handing jobs to real standbys. The streams and isolation
// suites run every case both cold and warm; these cover what only standbys
// have.

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "sandbox/detail/standby_pool.hpp"
#include "sandbox/detail/standby_wire.hpp"
#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::detail;
using namespace millrace::sandbox::testing;

namespace {

/// A pool whose standbys are plain job_setups tagged by pid (no processes).
struct fake_pool {
  std::shared_ptr<const etc_snapshot> etc = std::make_shared<etc_snapshot>("/nonexistent/millrace-etc-a");
  std::mutex mutex;
  std::vector<pid_t> made, retired;
  pid_t next = 100;
  spawn_thread spawner;
  standby_pool pool;

  explicit fake_pool(size_t per_shape, size_t shapes = 4)
    : pool(
        per_shape, shapes, spawner,
        [this](const launch_plan&, const limits&) {
          std::lock_guard<std::mutex> g{mutex};
          job_setup s;
          s.pid = next++;
          s.etc = etc;
          made.push_back(s.pid);
          return std::optional<job_setup>{std::move(s)};
        },
        [this](job_setup s) {
          std::lock_guard<std::mutex> g{mutex};
          retired.push_back(s.pid);
        }) {
  }

  ~fake_pool() {
    pool.close();
    spawner.stop();
  }
};

TEST(StandbyPool, TakeWaitsForTheStandbyBeingMadeAndRefillKeepsPerShape) {
  fake_pool f{2};
  EXPECT_FALSE(f.pool.take("a", f.etc)) << "nothing made yet, nothing in the making";
  f.pool.refill("a", {}, {});
  auto first = f.pool.take("a", f.etc); // waits for the one in the making
  ASSERT_TRUE(first);
  EXPECT_EQ(first->pid, 100);
  f.pool.refill("a", {}, {}); // one left or in the making: one more
  auto second = f.pool.take("a", f.etc);
  auto third = f.pool.take("a", f.etc);
  ASSERT_TRUE(second && third);
  EXPECT_EQ(second->pid, 101);
  EXPECT_EQ(third->pid, 102);
  EXPECT_FALSE(f.pool.take("a", f.etc));
  EXPECT_FALSE(f.pool.take("b", f.etc)) << "another shape never gets shape a's standbys";
  std::lock_guard<std::mutex> g{f.mutex};
  EXPECT_EQ(f.made.size(), 3u);
  EXPECT_TRUE(f.retired.empty());
}

TEST(StandbyPool, AStandbyMadeWithAnOlderEtcCopyIsRetiredNotUsed) {
  fake_pool f{1};
  f.pool.refill("a", {}, {});
  auto newer = std::make_shared<etc_snapshot>("/nonexistent/millrace-etc-b");
  EXPECT_FALSE(f.pool.take("a", newer));
  std::lock_guard<std::mutex> g{f.mutex};
  EXPECT_EQ(f.retired, std::vector<pid_t>{100});
}

TEST(StandbyPool, OnlyTheLastShapesUsedKeepStandbysAndCloseRetiresTheRest) {
  fake_pool f{1, 2};
  f.pool.refill("a", {}, {});
  f.pool.refill("b", {}, {});
  ASSERT_TRUE(f.pool.take("b", f.etc)); // waits: b is made, and a before it
  f.pool.refill("c", {}, {});           // a is now the least recent: retired
  {
    std::lock_guard<std::mutex> g{f.mutex};
    EXPECT_EQ(f.retired, std::vector<pid_t>{100});
  }
  EXPECT_FALSE(f.pool.take("a", f.etc));
  ASSERT_TRUE(f.pool.take("c", f.etc));
  f.pool.refill("c", {}, {});
  f.pool.refill("b", {}, {});
  f.pool.close();
  f.pool.refill("b", {}, {}); // refused once closed
  EXPECT_FALSE(f.pool.take("b", f.etc));
  f.spawner.stop();
  std::lock_guard<std::mutex> g{f.mutex};
  // Three were taken or retired above (b, c, and a by the trim); every
  // other one made was retired by close(): none is lost.
  ASSERT_GE(f.retired.size(), 1u);
  EXPECT_EQ(f.made.size() - 3, f.retired.size() - 1);
  EXPECT_EQ(f.pool.ready(), 0u);
}

TEST(StandbyPool, NoStandbysWhenPerShapeIsZero) {
  fake_pool f{0};
  f.pool.refill("a", {}, {});
  EXPECT_FALSE(f.pool.take("a", f.etc));
  std::lock_guard<std::mutex> g{f.mutex};
  EXPECT_TRUE(f.made.empty());
}

TEST(StandbyShape, OnlyWhatIsFixedBeforeTheProgramCounts) {
  launch_plan a = bash("echo a");
  launch_plan b = bash("echo b");
  b.env = {{"X", "1"}};
  b.files = {{"/job/x", "x", false}};
  b.stdin_data = "in";
  b.result_channel = true;
  EXPECT_EQ(standby_shape(a, {}), standby_shape(b, {}));
  b.network = true;
  EXPECT_NE(standby_shape(a, {}), standby_shape(b, {}));
  limits small;
  small.memory_bytes = 1 << 20;
  EXPECT_NE(standby_shape(a, {}), standby_shape(a, small));
  launch_plan c = a, d = a;
  c.ro_binds = {{"/a", "/b:/c"}};
  d.ro_binds = {{"/a:/b", "/c"}};
  EXPECT_NE(standby_shape(c, {}), standby_shape(d, {}));
}

/// Pids whose parent is this process (the launcher's spawn thread).
std::vector<pid_t> our_children() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr)
    return out;
  while (auto* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0)
      continue;
    std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest{text.substr(close + 2)};
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid())
      out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

TEST(SandboxStandby, EachJobGetsAFreshSandboxOfItsOwn) {
  auto l = make_bwrap_launcher(test_config());
  job_record first, second;
  // The first job leaves a file and a process behind in its sandbox.
  auto p1 = start_job(*l, first, bash("echo left > /job/left; (sleep 600 &); echo $$"), {}, true);
  ASSERT_TRUE(first.wait());
  auto p2 = start_job(*l, second, bash("ls /job; pgrep -c sleep || true"), {}, true);
  ASSERT_TRUE(second.wait());
  EXPECT_EQ(second.info().exit_code, 0) << second.err();
  EXPECT_EQ(second.out().find("left"), std::string::npos) << second.out();
  EXPECT_NE(second.out().find("0\n"), std::string::npos) << second.out();
  EXPECT_EQ(first.out(), "2\n") << "the job is pid 2 of its namespace, as when cold";
}

TEST(SandboxStandby, AProgramThatCannotBeExecutedIsASandboxError) {
  auto l = make_bwrap_launcher(test_config());
  launch_plan plan;
  plan.argv = {"/usr/bin/millrace-does-not-exist"};
  job_record rec;
  ASSERT_TRUE(start_job(*l, rec, plan, {}, true));
  ASSERT_TRUE(rec.wait());
  auto info = rec.info();
  EXPECT_EQ(info.sandbox_error,
            "the sandbox could not start the program: millrace-sandbox-stub: cannot execute "
            "/usr/bin/millrace-does-not-exist: No such file or directory");
  EXPECT_EQ(info.exit_code, 127);
  EXPECT_NE(rec.err().find("cannot execute /usr/bin/millrace-does-not-exist"), std::string::npos)
    << "the job's stderr says it too";
  EXPECT_EQ(l->stats().standby_restarts, 0u) << "the stub was ready: the job ran, and failed";
}

// A standby program that takes the job's request and ends without ever
// saying it is ready, as one whose set-up failed would (the exec helper, bwrap
// or the program's own start-up): the job never ran, so it runs cold.
launch_plan broken_standby(launch_plan plan, const std::string& then) {
  plan.standby_argv = {"/bin/sh", "-c", "head -c 1 <&6 >/dev/null; echo standby broke >&2; " + then};
  return plan;
}

TEST(SandboxStandby, AStandbyThatFailsBeforeItIsReadyStartsTheJobAgainCold) {
  auto l = make_bwrap_launcher(test_config());
  auto plan = broken_standby(bash("echo ran; cat; echo $WM_X"), "exit 3");
  plan.stdin_data = "input\n";
  plan.env = {{"WM_X", "x"}};
  plan.files = {{"/job/f", "f", false}};
  plan.argv.back() += "; cat /job/f";
  job_record rec;
  ASSERT_TRUE(start_job(*l, rec, plan, {}, true));
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.info().exit_code, 0) << rec.info().sandbox_error << rec.err();
  EXPECT_EQ(rec.info().sandbox_error, "");
  EXPECT_EQ(rec.out(), "ran\ninput\nx\nf");
  EXPECT_EQ(rec.err(), "") << "what the failed standby wrote is not the job's";
  EXPECT_EQ(l->stats().standby_restarts, 1u);
}

TEST(SandboxStandby, IdlePriorityTakenAfterTheHandOverIsLiftedWhenTheStandbyIsReady) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "standbys are made at idle priority only with cgroups (root)";
  auto l = make_bwrap_launcher(test_config());
  // The standby program plays a late exec helper: it switches to SCHED_IDLE
  // after the job was handed to it (start() lifted idle priority before
  // that), only then says it is ready, and then reports its policy once it
  // is no longer idle (or after 5 s).
  launch_plan plan = bash("true");
  plan.standby_argv = {"/bin/sh", "-c",
                       "head -c 1 <&6 >/dev/null; chrt -i -p 0 $$; printf R >&6; "
                       "for i in $(seq 100); do chrt -p $$ | grep -q SCHED_IDLE || break; sleep 0.05; done; "
                       "chrt -p $$ | head -n 1 | sed 's/.*: //'"};
  job_record rec;
  ASSERT_TRUE(start_job(*l, rec, plan, {}, true));
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "SCHED_OTHER\n") << rec.err();
  EXPECT_EQ(l->stats().standby_restarts, 0u);
}

TEST(SandboxStandby, AJobEndedBeforeItsStandbyWasReadyIsNotStartedAgain) {
  // terminate() and kill() alike: the standby dies of them without its
  // ready byte, which must not count as a standby that failed.
  for (bool kill : {false, true}) {
    auto l = make_bwrap_launcher(test_config());
    auto plan = broken_standby(bash("echo ran"), "exec sleep 600");
    job_record rec;
    auto proc = start_job(*l, rec, plan, {}, true);
    ASSERT_TRUE(proc);
    if (kill)
      proc->kill();
    else
      proc->terminate(std::chrono::milliseconds(100));
    ASSERT_TRUE(rec.wait());
    EXPECT_TRUE(kill ? rec.info().killed : rec.info().terminated) << "kill " << kill;
    EXPECT_EQ(rec.out(), "") << "kill " << kill;
    EXPECT_EQ(l->stats().standby_restarts, 0u) << "kill " << kill;
  }
}

TEST(SandboxStandby, AJobOfAnotherShapeStartsCold) {
  auto l = make_bwrap_launcher(test_config());
  l->prepare(bash("true"), {});
  auto other = bash("echo cold");
  other.network = true;
  job_record rec;
  ASSERT_TRUE(start_job(*l, rec, other, {}, false));
  ASSERT_TRUE(rec.wait());
  EXPECT_EQ(rec.out(), "cold\n");
  EXPECT_EQ(l->stats().from_standby, 0u);
  EXPECT_EQ(l->stats().started, 1u);
}

TEST(SandboxStandby, WithoutStandbysEveryJobStartsCold) {
  auto cfg = test_config();
  cfg.standby = 0;
  auto l = make_bwrap_launcher(cfg);
  l->prepare(bash("true"), {});
  for (int i = 0; i < 2; ++i) {
    job_record rec;
    ASSERT_TRUE(start_job(*l, rec, bash("true"), {}, false));
    ASSERT_TRUE(rec.wait());
  }
  EXPECT_EQ(l->stats().from_standby, 0u);
  EXPECT_NE(l->describe().find("no standby sandboxes"), std::string::npos) << l->describe();
}

TEST(SandboxStandby, DestroyingTheLauncherEndsItsStandbys) {
  auto l = make_bwrap_launcher(test_config());
  job_record rec;
  ASSERT_TRUE(start_job(*l, rec, bash("true"), {}, true));
  ASSERT_TRUE(rec.wait());
  // Taking one made the pool make more: they wait now, or are being made.
  l.reset();
  EXPECT_EQ(our_children(), std::vector<pid_t>{});
  EXPECT_EQ(leftover_job_cgroups(), std::vector<std::string>{});
}

} // namespace
