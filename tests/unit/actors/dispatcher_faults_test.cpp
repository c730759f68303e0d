// The dispatcher when writes about an attempt are fenced or fail: the slot of
// a poisoned job is freed, and a completion whose write was fenced (or whose
// answer was lost) is settled by what the database says.

#include <algorithm>

#include "tests/unit/actors/dispatcher_fixture.hpp"

using namespace std::chrono_literals;
using namespace millrace::actors;
using namespace millrace::test;

namespace {

bool saw(const slot_log& log, const std::string& event) {
  return std::find(log.events.begin(), log.events.end(), event) != log.events.end();
}

millrace::storage::result_set status_row(const std::string& id, const std::string& state,
                                         const std::string& attempt, const std::string& result) {
  millrace::storage::result_set rs;
  rs.columns = {"id", "workspace_id", "created_at", "state", "attempt", "result", "completed_at"};
  rs.rows.push_back({id, "admins", "t", state, attempt, result, "t"});
  return rs;
}

} // namespace

TEST_F(DispatcherTest, APoisonedJobFreesItsSlotForTheNextJob) {
  auto dcfg = no_recovery();
  dcfg.lease = 30s;
  dcfg.restart_limit = 0; // the first lost attempt is one too many
  start(dcfg);
  auto log = add_slot("s1", {"bash"});
  auto hung = submit(bash());
  auto next = submit(bash());
  ASSERT_EQ(log->runs.size(), 1u);
  advance(40s); // no renewal for a whole lease
  EXPECT_EQ(db->keys_of("complete_job"), (std::vector<std::string>{hung}));
  EXPECT_TRUE(saw(*log, "abort " + hung)) << "the hung process is stopped";
  ASSERT_EQ(log->runs.size(), 2u) << "and the slot goes on with the next job";
  EXPECT_EQ(log->runs[1].job_id, next);
  EXPECT_EQ(stats().poisoned, 1u);
}

TEST_F(DispatcherTest, AFencedCompletionIsSettledByTheDatabase) {
  start(no_recovery());
  auto log = add_slot("s1", {"bash"});
  auto id = submit(bash());
  ASSERT_EQ(log->runs.size(), 1u);
  // The completion commits but its answer is lost; the re-send is fenced.
  db->applies = [&](const millrace::storage::write_request& w) {
    return w.statement != "complete_job";
  };
  db->status_rows[id] = status_row(id, "success", "1", R"({"ok":true})");
  caf::scoped_actor self{sys};
  auto waiting = self->request(disp, caf::infinite, wait_atom_v, id);
  done(log->runs[0]);
  job_result got;
  waiting.receive([&](job_result& r) { got = r; },
                  [](caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(got.status, job_status::success);
  EXPECT_EQ(got.result, R"({"ok":true})");
  auto s = stats();
  EXPECT_EQ(s.fenced, 1u);
  EXPECT_EQ(s.completed, 1u);
  EXPECT_EQ(s.running, 0u) << "nothing left settling";
}

TEST_F(DispatcherTest, ACompletionThatNeverCommittedRunsTheJobAgain) {
  start(no_recovery());
  auto log = add_slot("s1", {"noop"});
  auto id = submit(noop());
  ASSERT_EQ(log->runs.size(), 1u);
  // Nothing of the attempt reached the database: it says queued, at 0.
  db->applies = [&](const millrace::storage::write_request& w) {
    return w.statement != "complete_unclaimed" && w.statement != "complete_job";
  };
  db->status_rows[id] = status_row(id, "queued", "0", "");
  done(log->runs[0]);
  ASSERT_EQ(log->runs.size(), 2u) << "the job runs again";
  EXPECT_EQ(log->runs[1].job_id, id);
  EXPECT_EQ(log->runs[1].attempt, 1) << "attempt numbers follow the database";
}

// A submission to an idle slot is its claim (enqueue_claimed_job). When it
// inserts nothing (its id names an existing job), the slot is free again,
// and so is its tag's room (a limit of one running noop job).
TEST_F(DispatcherTest, AClaimedSubmissionThatInsertsNothingFreesItsSlot) {
  auto dcfg = no_recovery();
  dcfg.tag_limits = {{"noop", 1}};
  start(dcfg);
  auto log = add_slot("s1", {"noop"});
  db->applies = [&](const millrace::storage::write_request& w) {
    return w.statement != "enqueue_claimed_job";
  };
  auto answer = submit(noop());
  EXPECT_NE(answer.find("vanished"), std::string::npos) << answer;
  EXPECT_TRUE(log->runs.empty());
  db->applies = nullptr;
  auto id = submit(noop());
  ASSERT_EQ(log->runs.size(), 1u) << "the slot took the next job";
  EXPECT_EQ(log->runs[0].job_id, id);
  EXPECT_EQ(db->keys_of("enqueue_claimed_job").size(), 2u);
}

// A wait for a job that already ended (no longer in memory) is answered from
// the database with its result written as a slot reports it: no spaces from
// jsonb's text form, numbers exactly as stored.
TEST_F(DispatcherTest, AResultReadFromTheDatabaseIsAnsweredAsFromMemory) {
  start(no_recovery());
  auto id = std::string{"0190f1a2-0000-7000-8000-0000000000d1"};
  db->status_rows[id] =
    status_row(id, "success", "1", R"({"x": [1, 2.50], "big": 123456789012345678901234567890, "s": "a: b"})");
  caf::scoped_actor self{sys};
  auto waiting = self->request(disp, caf::infinite, wait_atom_v, id);
  run();
  job_result got;
  waiting.receive([&](job_result& r) { got = r; },
                  [](caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(got.status, job_status::success);
  EXPECT_EQ(got.result, R"({"x":[1,2.50],"big":123456789012345678901234567890,"s":"a: b"})");
}

// The slot reserved for a claimed submission dies before the submission
// commits: the committed attempt 1 is given back (requeued) and the job
// runs as attempt 2 on the next slot.
TEST_F(DispatcherTest, AClaimedSubmissionWhoseSlotDiedMeanwhileRunsAgainElsewhere) {
  start(no_recovery());
  auto log1 = add_slot("s1", {"noop"});
  auto slot1 = owned.back();
  caf::scoped_actor self{sys};
  auto req = self->request(disp, caf::infinite, submit_atom_v, noop());
  caf::anon_send_exit(slot1, caf::exit_reason::kill); // before the commit's answer
  run();
  std::string id;
  req.receive([&](submit_reply& r) { id = r.job_id; },
              [](caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(db->keys_of("enqueue_claimed_job"), (std::vector<std::string>{id}));
  EXPECT_TRUE(log1->runs.empty()) << "the dead slot never got it";
  EXPECT_EQ(db->keys_of("requeue_job"), (std::vector<std::string>{id}));
  auto log2 = add_slot("s2", {"noop"});
  ASSERT_EQ(log2->runs.size(), 1u);
  EXPECT_EQ(log2->runs[0].job_id, id);
  EXPECT_EQ(log2->runs[0].attempt, 2);
}
