// Jobs end to end: real bash and python jobs through the dispatcher and the
// worker slots, in the bubblewrap sandbox, on a real PostgreSQL.

#include <dirent.h>
#include <sys/resource.h>

#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "actors/protocol/errors.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "sandbox/launcher.hpp"
#include "storage/pg/connection.hpp"
#include "tests/support/job_tree.hpp"

using namespace millrace;
using namespace millrace::actors;
using test::job_tree;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST(Jobs, BashResultIsTheLastLineOfStdoutAsJson) {
  job_tree t;
  auto id = t.submit(job_tree::script("bash", "name=\"$1\"\necho \"hi $name\"\necho "
                                              "'{\"n\": 3}'\n",
                                      R"({"name":"ada"})"));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::success);
  EXPECT_EQ(r.result, R"({"n": 3})");
  EXPECT_EQ(t.logs(id), "hi ada\n{\"n\": 3}\n");
  EXPECT_EQ(t.events(id),
            (std::vector<std::string>{"0:queued", "1:running", "1:success"}));
}

TEST(Jobs, BashNonJsonLastLineIsAString) {
  job_tree t;
  auto r = t.wait(t.submit(job_tree::script("bash", "echo one\necho 'two words'\n")));
  EXPECT_EQ(r.status, job_status::success);
  EXPECT_EQ(r.result, "\"two words\"");
}

TEST(Jobs, BashNonZeroExitFailsWithTheCodeAndStderr) {
  job_tree t;
  auto r = t.wait(t.submit(job_tree::script("bash", "echo oops >&2\nexit 3\n")));
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_TRUE(contains(r.result, "\"exit_code\":3")) << r.result;
  EXPECT_TRUE(contains(r.result, "oops")) << r.result;
}

TEST(Jobs, PythonMainGetsKeywordArgsAndReturnsJson) {
  job_tree t;
  auto id = t.submit(job_tree::script(
    "python3", "def main(a: int, b: str = 'x'):\n    print('log line')\n    return {'sum': a + 1, 'b': b}\n",
    R"({"a": 41, "b": "y", "ignored": true})"));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, R"({"sum":42,"b":"y"})");
  EXPECT_EQ(t.logs(id), "log line\n") << "prints are logs, never the result";
}

TEST(Jobs, PythonExceptionCarriesNameMessageAndStack) {
  job_tree t;
  auto r = t.wait(t.submit(job_tree::script("python3", "def main():\n    raise ValueError('bad input')\n")));
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_TRUE(contains(r.result, R"("name":"ValueError")")) << r.result;
  EXPECT_TRUE(contains(r.result, R"("message":"bad input")")) << r.result;
  EXPECT_TRUE(contains(r.result, "line 2")) << r.result;
}

TEST(Jobs, PythonNonSerialisableOrMissingResultIsInvalid) {
  job_tree t;
  auto r = t.wait(t.submit(job_tree::script("python3", "def main():\n    return {1, 2}\n")));
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_TRUE(contains(r.result, "InvalidResult")) << r.result;
  r = t.wait(t.submit(job_tree::script("python3", "import os\ndef main():\n    os._exit(0)\n")));
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_TRUE(contains(r.result, "InvalidResult")) << r.result;
  EXPECT_TRUE(contains(r.result, "without a result")) << r.result;
  // A script printing a JSON line cannot pass it off as its result.
  r = t.wait(t.submit(job_tree::script("python3", "def main():\n    print('{\"fake\": 1}')\n")));
  EXPECT_EQ(r.status, job_status::success);
  EXPECT_EQ(r.result, "null");
}

TEST(Jobs, APythonJobInAStandbyInterpreterSeesWhatAColdOneSees) {
  // The worker node asked the launcher for python standbys when it started
  // (with the interpreter already running: runtime/python/standby.py), so
  // even its first job runs in one. A warm job must look to the script
  // exactly like a cold one (a launcher without standbys): environment,
  // argv, cwd, pid, stdin args, __main__, files.
  const std::string code = R"py(import os, sys
def main(x: int):
    env = sorted(k for k in os.environ if not k.startswith(('WM_JOB_ID', 'MILLRACE_ATTEMPT')))
    return {'x': x, 'env': env, 'argv': sys.argv, 'cwd': os.getcwd(), 'pid': os.getpid(),
            'main': __name__, 'files': sorted(os.listdir('/job')), 'stdin': sys.stdin.read(),
            'path0': sys.path[0], 'flags': [sys.flags.isolated, sys.flags.no_user_site]}
)py";
  auto run = [&](job_tree& t) {
    auto r = t.wait(t.submit(job_tree::script("python3", code, R"({"x": 7})")));
    EXPECT_EQ(r.status, job_status::success) << r.result;
    return r.result;
  };
  std::vector<std::string> results;
  {
    test::job_tree_options cold;
    cold.standby = 0;
    job_tree t{cold};
    results.push_back(run(t));
    EXPECT_EQ(t.launcher().stats().from_standby, 0u);
  }
  job_tree t;
  results.push_back(run(t));
  results.push_back(run(t));
  EXPECT_EQ(t.launcher().stats().from_standby, 2u) << "both jobs, the first too, ran in standbys";
  EXPECT_EQ(results[1], results[0]);
  EXPECT_EQ(results[2], results[0]);
  EXPECT_TRUE(contains(results[0], R"("x":7)")) << results[0];
  EXPECT_TRUE(contains(results[0], R"("pid":2)")) << results[0];
  EXPECT_TRUE(contains(results[0], R"("cwd":"/job")")) << results[0];
  EXPECT_TRUE(contains(results[0], R"("stdin":"")")) << results[0];
}

TEST(Jobs, ATimeoutKillsAScriptThatIgnoresSigterm) {
  job_tree t;
  auto spec = job_tree::script("bash", "trap 'echo got TERM' TERM\nwhile true; do sleep 0.1; done\n");
  spec.timeout_s = 1;
  auto started = std::chrono::steady_clock::now();
  auto id = t.submit(spec);
  auto r = t.wait(id);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.status, job_status::timed_out);
  EXPECT_TRUE(contains(r.result, "Timeout")) << r.result;
  EXPECT_LT(took, std::chrono::seconds{10}) << "timeout 1 s + grace 1 s";
  EXPECT_TRUE(contains(t.logs(id), "got TERM")) << "SIGTERM came first";
}

TEST(Jobs, CancelAQueuedJobAndARunningJob) {
  test::job_tree_options o;
  o.slots = 1;
  job_tree t{o};
  auto running = t.submit(job_tree::script("bash", "echo started\nsleep 30\n"));
  auto queued = t.submit(job_tree::script("bash", "echo never\n"));
  EXPECT_EQ(t.cancel(queued).state, "canceled");
  EXPECT_EQ(t.wait(queued).status, job_status::canceled);
  EXPECT_EQ(t.cancel(running).state, "canceling");
  EXPECT_EQ(t.cancel(running).state, "already_canceling") << "a second cancel is harmless";
  auto r = t.wait(running);
  EXPECT_EQ(r.status, job_status::canceled);
  // Cancelling a finished job is a clear conflict.
  caf::scoped_actor self{t.system(), true};
  self->request(t.dispatcher(), std::chrono::seconds{30}, cancel_atom_v, running,
                std::string("test"), std::string())
    .receive([](cancel_reply&) { FAIL() << "expected already_finished"; },
             [](caf::error& e) {
               EXPECT_EQ(e, caf::make_error(dispatch_errc::already_finished)) << describe(e);
             });
  EXPECT_EQ(t.events(queued), (std::vector<std::string>{"0:queued", "0:canceled"}));
}

TEST(Jobs, HundredMegabytesOfStdoutAreCappedAndTheWorkerStaysSmall) {
  test::job_tree_options o;
  o.log_max_bytes = 1 << 20;
  job_tree t{o};
  auto rss_mb = [] {
    std::ifstream in{"/proc/self/status"};
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0)
        return std::stol(line.substr(6)) / 1024;
    return 0L;
  };
  auto before = rss_mb();
  auto id = t.submit(job_tree::script("bash", "head -c 100000000 /dev/zero | tr '\\0' 'x'\necho\necho done\n"));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "\"done\"");
  auto log = t.logs(id);
  EXPECT_LE(log.size(), (1u << 20) + 200);
  EXPECT_TRUE(contains(log, "[log truncated: ")) << log.substr(log.size() - 200);
  EXPECT_LT(rss_mb() - before, 64) << "the server never holds the whole output";
}

TEST(Jobs, MemoryHogIsKilledAndClassifiedOutOfMemory) {
  test::job_tree_options o;
  o.limits.memory_bytes = 64 << 20;
  job_tree t{o};
  auto r = t.wait(t.submit(job_tree::script("python3", "def main():\n    x = bytearray(256 << 20)\n    return len(x)\n")));
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_TRUE(contains(r.result, "OutOfMemory") || contains(r.result, "MemoryError")) << r.result;
}

TEST(Jobs, AForkBombIsContained) {
  test::job_tree_options o;
  o.limits.pids = 64;
  job_tree t{o};
  auto spec = job_tree::script("bash", "bomb() { bomb | bomb & }; bomb\nsleep 3\necho survived\n");
  spec.timeout_s = 10;
  auto r = t.wait(t.submit(spec));
  // However it ends, it ended, and the next job runs normally.
  EXPECT_FALSE(r.status.empty());
  auto ok = t.wait(t.submit(job_tree::script("bash", "echo fine\n")));
  EXPECT_EQ(ok.status, job_status::success);
  EXPECT_EQ(ok.result, "\"fine\"");
}

TEST(Jobs, ScriptsCannotReadSecretsOrWriteOutsideTheirFolder) {
  job_tree t;
  auto r = t.wait(t.submit(job_tree::script("bash",
    "if cat /etc/shadow >/dev/null 2>&1; then echo READ-SHADOW; fi\n"
    "if touch /usr/pwned 2>/dev/null; then echo WROTE-USR; fi\n"
    "if ls /root >/dev/null 2>&1; then echo SAW-ROOT; fi\n"
    "echo $(id -u) > /job/mine && cat /job/mine >/dev/null\n"
    "echo ok\n")));
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "\"ok\"");
}

TEST(Jobs, AJobCannotSeeAnotherJobsFolder) {
  job_tree t;
  auto a = t.submit(job_tree::script("bash", "echo secret > /job/private\nsleep 2\necho a\n"));
  auto b = t.submit(job_tree::script("bash", "sleep 0.5\nls /job; cat /job/private 2>/dev/null && echo LEAK\necho b\n"));
  EXPECT_EQ(t.wait(a).status, job_status::success);
  auto rb = t.wait(b);
  EXPECT_EQ(rb.result, "\"b\"");
  EXPECT_FALSE(contains(t.logs(b), "LEAK"));
}

TEST(Jobs, NoNetworkUnlessTheTagAllowsIt) {
  test::job_tree_options o;
  o.tags = {"bash", "python3", "noop", "net"};
  o.network_tags = {"net"};
  job_tree t{o};
  auto probe = "cat /proc/net/dev | tail -n +3 | awk -F: '{print $1}' | tr -d ' ' | sort | paste -sd, -\n";
  auto denied = t.wait(t.submit(job_tree::script("bash", probe)));
  EXPECT_EQ(denied.result, "\"lo\"") << "only loopback by default";
  auto spec = job_tree::script("bash", probe);
  spec.tag = "net";
  auto allowed = t.wait(t.submit(spec));
  EXPECT_NE(allowed.result, "\"lo\"") << "the host's interfaces with the network tag";
}

TEST(Jobs, ADaemonizingScriptLeavesNoOrphan) {
  job_tree t;
  auto marker = "millrace-orphan-" + std::to_string(::getpid());
  auto r = t.wait(t.submit(job_tree::script(
    "bash", "( setsid bash -c 'exec -a " + marker + " sleep 300' & ) ; sleep 0.5; echo detached\n")));
  EXPECT_EQ(r.result, "\"detached\"");
  // Nothing named like the marker may still run anywhere on the host.
  auto alive = [&] {
    DIR* d = opendir("/proc");
    bool found = false;
    while (auto* e = readdir(d)) {
      std::ifstream cmd{std::string("/proc/") + e->d_name + "/cmdline"};
      std::string s;
      std::getline(cmd, s);
      if (s.find(marker) != std::string::npos)
        found = true;
    }
    closedir(d);
    return found;
  };
  EXPECT_FALSE(alive()) << "the pid namespace took the daemon with it";
}

TEST(Jobs, ArgsThatAreNotAnObjectAreRefused) {
  job_tree t;
  auto err = t.submit_error(job_tree::script("bash", "echo x\n", "[1]"));
  EXPECT_TRUE(contains(err, "args: must be a JSON object")) << err;
}

} // namespace

namespace {

std::string scalar(const std::string& conninfo, const std::string& sql,
                   const std::vector<storage::sql_value>& params = {}) {
  storage::pg::connection c{storage::pg::connect_options{conninfo}};
  auto rs = c.query(sql, params);
  return rs.empty() || rs.rows[0][0].null ? std::string{} : rs.rows[0][0].text;
}

// Waits (bounded) until the database says the job's attempt runs.
void await_running(const std::string& conninfo, const std::string& id, int attempt) {
  for (int i = 0; i < 500; ++i) {
    if (scalar(conninfo, "SELECT attempt FROM job_queue WHERE job_id = $1 AND state = 'running'",
               {id})
        == std::to_string(attempt))
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  FAIL() << "job " << id << " never ran attempt " << attempt;
}

TEST(Jobs, ASlotKilledMidJobYieldsANewAttemptAndTheOldAttemptsWritesAreFenced) {
  test::job_tree_options o;
  o.slots = 2;
  job_tree t{o};
  auto id = t.submit(job_tree::script("bash", "echo start\nsleep 2\necho end\n"));
  await_running(t.conninfo(), id, 1);
  auto old_owner = scalar(t.conninfo(),
                          "SELECT lease_owner FROM job_queue WHERE job_id = $1", {id});
  ASSERT_FALSE(old_owner.empty());
  // Kill the slot that runs it (the registry knows which: its status says).
  caf::actor victim;
  caf::scoped_actor self{t.system(), true};
  for (auto& e : t.reg()->list("/millrace/worker/slot-"))
    self->request(e.handle, std::chrono::seconds{5}, status_atom_v)
      .receive(
        [&](actor_status& st) {
          if (st.summary.find(id) != std::string::npos)
            victim = e.handle;
        },
        [](caf::error&) {});
  ASSERT_TRUE(victim) << "no slot runs the job";
  self->send_exit(victim, caf::exit_reason::kill);
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.attempt, 2);
  EXPECT_EQ(t.events(id), (std::vector<std::string>{"0:queued", "1:running", "1:requeued",
                                                    "2:running", "2:success"}));
  // A late write from the dead attempt is fenced by the statements themselves.
  auto writer = t.reg()->resolve_as<storage_writer_actor>("/millrace/storage/writer");
  auto created = scalar(t.conninfo(), "SELECT created_at FROM job WHERE id = $1", {id});
  std::vector<storage::write_request> late{
    {"append_log", {id, "1", old_owner, "99", "late line", created}, id},
    {"complete_job",
     {id, "1", old_owner, "failure", "{}", created, "preview", storage::sql_value::null_value(),
      "test", storage::sql_value::null_value(), storage::sql_value::null_value()},
     id},
  };
  self->request(writer, std::chrono::seconds{30}, write_atom_v, late)
    .receive(
      [](std::vector<storage::op_result>& rs) {
        ASSERT_EQ(rs.size(), 2u);
        EXPECT_TRUE(rs[0].ok() && rs[0].rows.empty()) << "log write of attempt 1 fenced";
        EXPECT_TRUE(rs[1].ok() && rs[1].rows.empty()) << "completion of attempt 1 fenced";
      },
      [](caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(scalar(t.conninfo(), "SELECT count(*) FROM job_completed WHERE job_id = $1", {id}), "1")
    << "exactly one terminal state";
  EXPECT_EQ(scalar(t.conninfo(), "SELECT status FROM job_completed WHERE job_id = $1", {id}),
            "success");
  EXPECT_EQ(t.logs(id).find("late line"), std::string::npos);
}

TEST(Jobs, StartUpRecoveryRunsQueuedJobsAndRetriesOrphans) {
  auto db = std::make_shared<test::scratch_database>();
  std::string queued, orphan;
  {
    test::job_tree_options o;
    o.db = db;
    o.slots = 0; // nothing runs: the jobs stay queued
    job_tree t{o};
    queued = t.submit(job_tree::script("bash", "echo first\n"));
    orphan = t.submit(job_tree::script("bash", "echo second\n"));
  }
  // Pretend the second one was running on a worker of a dead server.
  {
    storage::pg::connection c{storage::pg::connect_options{db->conninfo()}};
    c.query("UPDATE job_queue SET state = 'running', attempt = 1, lease_owner = 'dead/slot-9', "
            "lease_deadline = now() + interval '1 hour' WHERE job_id = $1",
            {orphan});
  }
  test::job_tree_options o;
  o.db = db;
  o.slots = 1;
  job_tree t{o};
  auto a = t.wait(queued);
  EXPECT_EQ(a.status, job_status::success);
  EXPECT_EQ(a.result, "\"first\"");
  auto b = t.wait(orphan);
  EXPECT_EQ(b.status, job_status::success);
  EXPECT_EQ(b.attempt, 2) << "a new attempt for the orphan";
  auto ev = t.events(orphan);
  EXPECT_NE(std::find(ev.begin(), ev.end(), "1:requeued"), ev.end())
    << "the recovery decision is recorded as an event";
}

// Receives a job's log live.
struct collected {
  std::mutex mu;
  std::string text;
};

job_watcher_actor::behavior_type collector(job_watcher_actor::pointer,
                                           std::shared_ptr<collected> out) {
  return {[out](log_atom, log_chunk& c) {
    std::lock_guard<std::mutex> guard{out->mu};
    out->text += c.text;
  }};
}

TEST(Jobs, AWatcherGetsTheLogAsItIsPrinted) {
  job_tree t;
  auto out = std::make_shared<collected>();
  auto w = t.system().spawn(collector, out);
  caf::scoped_actor self{t.system(), true};
  std::string id;
  self->request(t.dispatcher(), std::chrono::seconds{30}, submit_atom_v,
                job_tree::script("python3", "def main():\n    for i in range(3):\n        print('tick', i)\n"),
                w)
    .receive([&](submit_reply& r) { id = r.job_id; }, [](caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(t.wait(id).status, job_status::success);
  // The live stream and the stored log agree.
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> guard{out->mu};
      if (out->text == "tick 0\ntick 1\ntick 2\n")
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  std::lock_guard<std::mutex> guard{out->mu};
  EXPECT_EQ(out->text, "tick 0\ntick 1\ntick 2\n");
  EXPECT_EQ(t.logs(id), out->text);
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

} // namespace
