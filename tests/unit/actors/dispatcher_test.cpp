// The dispatcher on the test coordinator (virtual clock, no threads), with a
// fake storage writer/reader and fake slots: priority order, tag routing,
// delayed jobs, fairness, recovery decisions, the admission cap, lost slots,
// lease expiry, cancel, and the one-commit start of a job on an idle slot.

#include <algorithm>

#include "tests/unit/actors/dispatcher_fixture.hpp"

using namespace std::chrono_literals;
using namespace millrace::actors;
using namespace millrace::test;

TEST_F(DispatcherTest, HigherPriorityRunsFirst) {
  start(one_at_a_time());
  auto low = submit(noop("admins", 0));
  auto high = submit(noop("admins", 5));
  auto mid = submit(noop("admins", 1));
  auto log = add_slot("s1", {"noop"});
  ASSERT_EQ(log->runs.size(), 1u);
  EXPECT_EQ(log->runs[0].job_id, high);
  done(log->runs[0]);
  ASSERT_EQ(log->runs.size(), 2u);
  EXPECT_EQ(log->runs[1].job_id, mid);
  done(log->runs[1]);
  ASSERT_EQ(log->runs.size(), 3u);
  EXPECT_EQ(log->runs[2].job_id, low);
}

TEST_F(DispatcherTest, TagsRouteJobsToTheSlotsThatServeThem) {
  start(no_recovery());
  auto a = submit(noop("admins", 0, "gpu"));
  auto b = submit(noop("admins", 0, "cpu"));
  auto cpu = add_slot("cpu1", {"cpu"});
  ASSERT_EQ(cpu->runs.size(), 1u);
  EXPECT_EQ(cpu->runs[0].job_id, b);
  done(cpu->runs[0]);
  EXPECT_EQ(cpu->runs.size(), 1u) << "a cpu slot never gets the gpu job";
  auto gpu = add_slot("gpu1", {"gpu"});
  ASSERT_EQ(gpu->runs.size(), 1u);
  EXPECT_EQ(gpu->runs[0].job_id, a);
}

TEST_F(DispatcherTest, AJobSubmittedToAnIdleSlotStartsWithItsOwnCommit) {
  start(no_recovery());
  auto log = add_slot("s1", {"noop"});
  db->groups.clear();
  auto id = submit(noop());
  ASSERT_EQ(log->runs.size(), 1u);
  EXPECT_EQ(log->runs[0].job_id, id);
  EXPECT_EQ(log->runs[0].attempt, 1);
  // The submission is its claim: one write, one transaction.
  ASSERT_EQ(db->groups.size(), 1u);
  EXPECT_EQ(db->groups[0], 1u);
  EXPECT_EQ(db->writes, (std::vector<std::string>{"enqueue_claimed_job " + id}));
  EXPECT_EQ(log->events[1], "claimed " + id) << "the claim is already committed";
}

TEST_F(DispatcherTest, DelayedJobsStartOnTheActorClock) {
  start(no_recovery());
  auto log = add_slot("s1", {"noop"});
  auto spec = noop();
  spec.scheduled_for_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count()
                          + 10000;
  auto id = submit(spec);
  EXPECT_TRUE(log->runs.empty()) << "not before its time";
  advance(9800ms);
  EXPECT_TRUE(log->runs.empty());
  EXPECT_EQ(stats().delayed, 1u);
  advance(400ms);
  ASSERT_EQ(log->runs.size(), 1u);
  EXPECT_EQ(log->runs[0].job_id, id);
}

TEST_F(DispatcherTest, WorkspacesTakeTurnsAtEqualPriority) {
  start(one_at_a_time());
  std::vector<std::string> a, b;
  for (int i = 0; i < 6; ++i)
    a.push_back(submit(noop("flood")));
  for (int i = 0; i < 2; ++i)
    b.push_back(submit(noop("quiet")));
  auto log = add_slot("s1", {"noop"});
  std::vector<std::string> order;
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(log->runs.size(), static_cast<size_t>(i + 1));
    order.push_back(log->runs.back().job_id);
    done(log->runs.back());
  }
  // quiet's two jobs do not wait behind flood's six.
  auto pos = [&](const std::string& id) {
    return std::find(order.begin(), order.end(), id) - order.begin();
  };
  EXPECT_LT(pos(b[0]), 3);
  EXPECT_LT(pos(b[1]), 5);
  // Within a workspace, arrival order holds.
  EXPECT_LT(pos(a[0]), pos(a[1]));
  EXPECT_LT(pos(a[4]), pos(a[5]));
}

TEST_F(DispatcherTest, TheAdmissionCapRefusesWithOverloaded) {
  auto dcfg = no_recovery();
  dcfg.max_unfinished_per_workspace = 2;
  start(dcfg);
  EXPECT_EQ(submit(noop()).rfind("error", 0), std::string::npos);
  EXPECT_EQ(submit(noop()).rfind("error", 0), std::string::npos);
  auto third = submit(noop());
  EXPECT_NE(third.find("dispatch: overloaded"), std::string::npos) << third;
  EXPECT_NE(third.find("retry later"), std::string::npos) << third;
  EXPECT_EQ(submit(noop("other")).rfind("error", 0), std::string::npos)
    << "the cap is per workspace";
}

TEST_F(DispatcherTest, InvalidSubmissionsNameTheField) {
  start(no_recovery());
  auto spec = noop();
  spec.args = "[1,2]";
  EXPECT_NE(submit(spec).find("args: must be a JSON object"), std::string::npos);
  spec = noop();
  spec.kind = "rocket";
  EXPECT_NE(submit(spec).find("kind: 'rocket'"), std::string::npos);
  spec = noop();
  spec.kind = job_kind::preview;
  spec.language = "cobol";
  spec.code = "x";
  EXPECT_NE(submit(spec).find("language: 'cobol' is not supported"), std::string::npos);
  spec = noop();
  spec.id = "not-a-uuid";
  EXPECT_NE(submit(spec).find("job_id: 'not-a-uuid' is not a UUID"), std::string::npos);
  spec = noop();
  spec.args = "{\"a\":";
  EXPECT_NE(submit(spec).find("args: not valid JSON at offset"), std::string::npos);
}

TEST_F(DispatcherTest, ALostSlotsAttemptIsRequeuedAndRunsAgainElsewhere) {
  start(no_recovery());
  auto log1 = add_slot("s1", {"bash"});
  auto id = submit(bash());
  ASSERT_EQ(log1->runs.size(), 1u);
  // The slot dies mid-job.
  caf::anon_send_exit(owned.back(), caf::exit_reason::kill);
  run();
  EXPECT_EQ(db->keys_of("requeue_job"), (std::vector<std::string>{id}));
  auto log2 = add_slot("s2", {"bash"});
  ASSERT_EQ(log2->runs.size(), 1u);
  EXPECT_EQ(log2->runs[0].job_id, id);
  EXPECT_EQ(log2->runs[0].attempt, 2) << "a new attempt";
  EXPECT_NE(log2->runs[0].lease_owner, log1->runs[0].lease_owner);
  // Attempt 1 was claimed by its submission (the slot was idle), attempt 2
  // on its own.
  EXPECT_EQ(db->keys_of("enqueue_claimed_job"), (std::vector<std::string>{id}));
  EXPECT_EQ(db->keys_of("claim_job"), (std::vector<std::string>{id})) << "each attempt claimed";
  done(log2->runs[0]);
  EXPECT_EQ(db->count("complete_job"), 1u);
}

TEST_F(DispatcherTest, AJobThatKeepsLosingItsSlotIsPoisoned) {
  auto dcfg = no_recovery();
  dcfg.restart_limit = 2;
  start(dcfg);
  auto id = submit(bash());
  for (int round = 0; round < 3; ++round) {
    auto log = add_slot("s" + std::to_string(round), {"bash"});
    ASSERT_EQ(log->runs.size(), 1u) << "round " << round;
    caf::anon_send_exit(owned.back(), caf::exit_reason::kill);
    run();
  }
  EXPECT_EQ(db->count("requeue_job"), 2u);
  ASSERT_EQ(db->keys_of("complete_job"), (std::vector<std::string>{id}));
  EXPECT_EQ(stats().poisoned, 1u);
}

TEST_F(DispatcherTest, AJobWithoutAProcessIsClaimedAndCompletedInOneWrite) {
  auto dcfg = no_recovery();
  dcfg.restart_limit = 1;
  start(dcfg);
  auto id = submit(noop()); // queued: no slot yet
  auto log1 = add_slot("s1", {"noop"});
  ASSERT_EQ(log1->runs.size(), 1u);
  EXPECT_EQ(db->count("claim_job"), 0u) << "no claim on its own";
  // Its slot dies before reporting: nothing was written, it simply runs again.
  caf::anon_send_exit(owned.back(), caf::exit_reason::kill);
  run();
  EXPECT_EQ(db->count("requeue_job"), 0u);
  auto log2 = add_slot("s2", {"noop"});
  ASSERT_EQ(log2->runs.size(), 1u);
  EXPECT_EQ(log2->runs[0].attempt, 1) << "the lost attempt left no trace, so the number is reused";
  done(log2->runs[0]);
  EXPECT_EQ(db->keys_of("complete_unclaimed"), (std::vector<std::string>{id}));
  EXPECT_EQ(db->count("complete_job"), 0u);
  EXPECT_EQ(stats().completed, 1u);
  // Past the restart limit it is failed as poisoned, in the same one write.
  caf::anon_send_exit(owned.back(), caf::exit_reason::kill); // s2, idle
  run();
  auto other = submit(noop());
  for (int round = 0; round < 2; ++round) {
    auto log = add_slot("p" + std::to_string(round), {"noop"});
    ASSERT_EQ(log->runs.size(), 1u) << "round " << round;
    caf::anon_send_exit(owned.back(), caf::exit_reason::kill);
    run();
  }
  EXPECT_EQ(db->keys_of("complete_unclaimed"), (std::vector<std::string>{id, other}));
  EXPECT_EQ(stats().poisoned, 1u);
}

TEST_F(DispatcherTest, JobsWithoutAProcessAreSentAheadToTheirSlot) {
  start(no_recovery()); // prefetch 1
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(submit(noop()));
  auto log = add_slot("s1", {"noop", "bash"});
  ASSERT_EQ(log->runs.size(), 2u) << "the first job and one ahead";
  EXPECT_EQ(log->runs[0].job_id, ids[0]);
  EXPECT_EQ(log->runs[1].job_id, ids[1]);
  EXPECT_EQ(stats().running, 2u);
  done(log->runs[0]);
  ASSERT_EQ(log->runs.size(), 3u) << "the pipe is topped up";
  EXPECT_EQ(log->runs[2].job_id, ids[2]);
  // A job with a process never waits behind another one.
  auto script = submit(bash());
  done(log->runs[1]);
  EXPECT_EQ(log->runs.size(), 3u) << "bash job not sent ahead";
  done(log->runs[2]);
  ASSERT_EQ(log->runs.size(), 4u);
  EXPECT_EQ(log->runs[3].job_id, script);
  EXPECT_EQ(db->count("complete_unclaimed"), 3u);
}

TEST_F(DispatcherTest, ASlotLostWithJobsAheadGivesAllOfThemBack) {
  start(no_recovery());
  auto a = submit(noop());
  auto b = submit(noop());
  auto log1 = add_slot("s1", {"noop"});
  ASSERT_EQ(log1->runs.size(), 2u);
  caf::anon_send_exit(owned.back(), caf::exit_reason::kill);
  run();
  EXPECT_EQ(stats().queued, 2u);
  auto log2 = add_slot("s2", {"noop"});
  ASSERT_EQ(log2->runs.size(), 2u);
  EXPECT_EQ(log2->runs[0].job_id, a);
  EXPECT_EQ(log2->runs[1].job_id, b);
  done(log2->runs[0]);
  done(log2->runs[1]);
  EXPECT_EQ(stats().completed, 2u);
  EXPECT_EQ(stats().idle_slots, 1u);
}

TEST_F(DispatcherTest, AStaleCompletionIsIgnored) {
  start(no_recovery());
  auto log = add_slot("s1", {"noop"});
  submit(noop());
  auto a = log->runs.at(0);
  auto stale = a;
  stale.attempt = 7;
  done(stale);
  EXPECT_EQ(db->count("complete_job"), 0u);
  EXPECT_EQ(stats().fenced, 1u);
  done(a);
  EXPECT_EQ(db->count("complete_job"), 1u);
}

TEST_F(DispatcherTest, ALeaseWithoutRenewalsExpiresOnTheDatabaseClock) {
  auto dcfg = no_recovery();
  dcfg.lease = 30s;
  start(dcfg);
  auto log = add_slot("s1", {"noop"});
  auto id = submit(noop());
  ASSERT_EQ(log->runs.size(), 1u);
  advance(29s);
  EXPECT_EQ(db->count("requeue_job"), 0u);
  caf::anon_send(disp, renew_atom_v, id, 1); // a renewal pushes the expiry back
  run();
  EXPECT_EQ(db->count("renew_lease"), 1u);
  advance(2s);
  EXPECT_EQ(db->count("requeue_job"), 0u) << "renewed at 29 s";
  advance(30s);
  ASSERT_EQ(db->count("requeue_job"), 1u) << "no renewal for a whole lease";
  EXPECT_NE(std::find(log->events.begin(), log->events.end(), "abort " + id), log->events.end())
    << "the hung attempt is stopped";
  ASSERT_EQ(log->runs.size(), 2u) << "and the job runs again, as attempt 2";
  EXPECT_EQ(log->runs[1].attempt, 2);
}

TEST_F(DispatcherTest, CancelQueuedRunningFinishedAndTwice) {
  start(no_recovery());
  auto queued = submit(noop());
  caf::scoped_actor self{sys};
  auto waiter = self->request(disp, caf::infinite, wait_atom_v, queued);
  auto req = self->request(disp, caf::infinite, cancel_atom_v, queued, std::string("alice"),
                           std::string("no longer needed"));
  run();
  req.receive([](cancel_reply& r) { EXPECT_EQ(r.state, "canceled"); },
              [](caf::error& e) { FAIL() << describe(e); });
  waiter.receive([](job_result& r) { EXPECT_EQ(r.status, job_status::canceled); },
                 [](caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(db->keys_of("cancel_queued"), (std::vector<std::string>{queued}));

  auto log = add_slot("s1", {"noop"});
  auto running = submit(noop());
  ASSERT_EQ(log->runs.size(), 1u);
  auto c1 = self->request(disp, caf::infinite, cancel_atom_v, running, std::string("bob"),
                          std::string());
  run();
  c1.receive([](cancel_reply& r) { EXPECT_EQ(r.state, "canceling"); },
             [](caf::error& e) { FAIL() << describe(e); });
  EXPECT_EQ(log->events.back(), "cancel " + running);
  auto c2 = self->request(disp, caf::infinite, cancel_atom_v, running, std::string("bob"),
                          std::string());
  run();
  c2.receive([](cancel_reply& r) { EXPECT_EQ(r.state, "already_canceling"); },
             [](caf::error& e) { FAIL() << describe(e); });

  // A job the dispatcher no longer holds: the database says it finished.
  millrace::storage::result_set rs;
  rs.columns = {"id", "workspace_id", "created_at", "state", "attempt", "result", "completed_at"};
  rs.rows.push_back({"x", "admins", "t", "success", "1", "1", "t"});
  db->status_rows["00000000-0000-7000-8000-000000000001"] = rs;
  auto c3 = self->request(disp, caf::infinite, cancel_atom_v,
                          std::string("00000000-0000-7000-8000-000000000001"),
                          std::string("bob"), std::string());
  run();
  c3.receive([](cancel_reply&) { FAIL() << "expected already_finished"; },
             [](caf::error& e) {
               EXPECT_EQ(e, caf::make_error(dispatch_errc::already_finished)) << describe(e);
             });
}

TEST_F(DispatcherTest, RecoveryRequeuesOrphansPoisonsRepeatOffendersAndReloadsTheQueue) {
  auto cols = millrace::test::recover_columns();
  auto row = [&](const std::string& id, const std::string& state, int attempt, int restarts) {
    millrace::storage::sql_row r(cols.size());
    auto set = [&](const std::string& col, const std::string& v) {
      auto i = std::find(cols.begin(), cols.end(), col) - cols.begin();
      r[static_cast<size_t>(i)] = millrace::storage::sql_value{v};
    };
    set("job_id", id);
    set("workspace_id", "admins");
    set("tag", "noop");
    set("priority", "0");
    set("scheduled_for_ms", "0");
    set("created_at", "2026-01-01 00:00:00+00");
    set("state", state);
    set("attempt", std::to_string(attempt));
    set("restarts", std::to_string(restarts));
    set("lease_owner", state == "running" ? "old-node/slot-1" : "");
    set("kind", "noop");
    set("args", "{}");
    set("timeout_s", "0");
    set("created_by", "t");
    return r;
  };
  db->recover_rows.columns = cols;
  db->recover_rows.rows = {row("00000000-0000-7000-8000-00000000000a", "queued", 0, 0),
                           row("00000000-0000-7000-8000-00000000000b", "running", 1, 0),
                           row("00000000-0000-7000-8000-00000000000c", "running", 4, 3)};
  start(one_at_a_time(dispatcher_config{})); // with recovery
  EXPECT_EQ(db->keys_of("requeue_job"),
            (std::vector<std::string>{"00000000-0000-7000-8000-00000000000b"}));
  EXPECT_EQ(db->keys_of("complete_job"),
            (std::vector<std::string>{"00000000-0000-7000-8000-00000000000c"}))
    << "past the restart limit (3): failed as poison";
  auto log = add_slot("s1", {"noop"});
  ASSERT_EQ(log->runs.size(), 1u);
  EXPECT_EQ(log->runs[0].job_id, "00000000-0000-7000-8000-00000000000a");
  done(log->runs[0]);
  ASSERT_EQ(log->runs.size(), 2u);
  EXPECT_EQ(log->runs[1].job_id, "00000000-0000-7000-8000-00000000000b");
  EXPECT_EQ(log->runs[1].attempt, 2) << "the orphan's next attempt";
}

TEST_F(DispatcherTest, IdleListsOfTagsThatGetNoJobsStayBounded) {
  start(one_at_a_time());
  // Each time the slot goes idle it joins the idle list of each of its tags
  // (and node lanes); only noop jobs come, so the bash lists are never
  // popped. They used to grow by one entry per job.
  auto s = add_slot("n1/slot-1", {"noop", "bash"});
  for (int i = 0; i < 300; ++i) {
    submit(noop());
    ASSERT_EQ(s->runs.size(), static_cast<size_t>(i + 1));
    done(s->runs.back());
  }
  auto st = stats();
  EXPECT_EQ(st.idle_slots, 1u);
  EXPECT_LE(st.idle_entries, 4u * (2 + 16 + 1)) << "4 lists, each compacted past 2 x slots + 16";
  // The slot still takes a job of its other tag at once.
  submit(bash());
  EXPECT_EQ(s->runs.size(), 301u);
}
