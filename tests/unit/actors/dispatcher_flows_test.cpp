// What the dispatcher does for flow jobs in particular, on the virtual clock
// with fake storage and fake slots: a flow has no timeout unless its run asked
// for one (a script gets dispatcher.default_timeout), and a flow's
// early_return result answers only the waiters that take it; a flow's lease
// is dispatcher.flow_lease; a sub-flow is
// queued on a lane of its own; a slot that asks to leave gets nothing new and
// is let go once it holds no job.

#include "tests/unit/actors/dispatcher_fixture.hpp"

namespace millrace::test {
namespace {

job_spec flow_job(int32_t timeout_s = 0) {
  job_spec s;
  s.kind = job_kind::flowpreview;
  s.tag = job_kind::flow_tag;
  s.code = R"({"modules":[]})";
  s.timeout_s = timeout_s;
  return s;
}

TEST_F(DispatcherTest, AFlowHasNoTimeoutUnlessAskedAScriptGetsTheDefault) {
  auto dcfg = no_recovery();
  dcfg.default_timeout_s = 900;
  start(dcfg);
  submit(flow_job());
  submit(flow_job(60));
  submit(bash());
  auto flows = add_slot("flow1", {job_kind::flow_tag});
  auto scripts = add_slot("bash1", {"bash"});
  ASSERT_EQ(flows->runs.size(), 1u);
  EXPECT_EQ(flows->runs[0].timeout_s, 0) << "an approval may wait longer than a script may run";
  done(flows->runs[0]);
  ASSERT_EQ(flows->runs.size(), 2u);
  EXPECT_EQ(flows->runs[1].timeout_s, 60);
  ASSERT_EQ(scripts->runs.size(), 1u);
  EXPECT_EQ(scripts->runs[0].timeout_s, 900);
}

// A flow job's attempts take dispatcher.flow_lease, not lease: its claim and
// its renewals ask for it, and the lease sweep waits that long (a flow that
// waits for an approval renews once per flow_lease / 3, not per lease / 3).
TEST_F(DispatcherTest, AFlowJobTakesTheFlowLease) {
  auto dcfg = no_recovery();
  dcfg.lease = 30s;
  dcfg.flow_lease = std::chrono::minutes{10};
  start(dcfg);
  std::vector<std::string> leases;
  db->applies = [&](const storage::write_request& w) {
    if (w.statement == "claim_job" || w.statement == "renew_lease")
      leases.push_back(w.statement + " " + w.params[3].text);
    if (w.statement == "enqueue_claimed_job") // lease_owner, lease_ms last
      leases.push_back(w.statement + " " + w.params.back().text);
    return true;
  };
  auto id = submit(flow_job());
  auto slot = add_slot("flow1", {job_kind::flow_tag});
  ASSERT_EQ(slot->runs.size(), 1u);
  advance(std::chrono::minutes{5});
  EXPECT_EQ(db->count("requeue_job"), 0u) << "past the lease, within the flow lease";
  caf::anon_send(disp, renew_atom_v, id, 1);
  run();
  advance(std::chrono::minutes{9});
  EXPECT_EQ(db->count("requeue_job"), 0u) << "renewed at 5 min";
  advance(std::chrono::minutes{2});
  EXPECT_EQ(db->count("requeue_job"), 1u) << "no renewal for a whole flow lease";
  // The claim, the renewal, and the claim of attempt 2 (the job ran again).
  EXPECT_EQ(leases, (std::vector<std::string>{"claim_job 600000", "renew_lease 600000",
                                               "claim_job 600000"}));
  ASSERT_EQ(slot->runs.size(), 2u);
  EXPECT_EQ(slot->runs[1].attempt, 2);
  // A flow job submitted to an idle flow slot is claimed with its submission.
  auto idle = add_slot("flow2", {job_kind::flow_tag});
  leases.clear();
  submit(flow_job());
  ASSERT_EQ(idle->runs.size(), 1u);
  EXPECT_EQ(leases, (std::vector<std::string>{"enqueue_claimed_job 600000"}));
}

// Asks the dispatcher to wait for `id` (taking an early result or not) and
// records the answer.
void waiter(caf::event_based_actor* self, dispatcher_actor d, std::string id, bool early_ok,
            std::shared_ptr<std::vector<std::string>> out) {
  self->request(d, caf::infinite, wait_atom_v, std::move(id), early_ok)
    .then([out](job_result& r) { out->push_back(r.status + " " + r.result); },
          [out](caf::error& e) { out->push_back("error: " + describe(e)); });
}

TEST_F(DispatcherTest, AnEarlyReturnAnswersOnlyTheWaitersThatTakeIt) {
  start(no_recovery());
  auto id = submit(flow_job());
  auto slot = add_slot("flow1", {job_kind::flow_tag});
  ASSERT_EQ(slot->runs.size(), 1u);
  auto early = std::make_shared<std::vector<std::string>>();
  auto full = std::make_shared<std::vector<std::string>>();
  sys.spawn(waiter, disp, id, true, early);
  sys.spawn(waiter, disp, id, false, full);
  run();
  caf::anon_send(disp, progress_atom_v, id, std::string{"42"});
  run();
  ASSERT_EQ(early->size(), 1u);
  EXPECT_EQ(early->at(0), "success 42");
  // A waiter that comes later gets the early result at once too.
  sys.spawn(waiter, disp, id, true, early);
  run();
  ASSERT_EQ(early->size(), 2u);
  EXPECT_EQ(early->at(1), "success 42");
  // The plain waiter (a parent flow's step) waits for the end.
  EXPECT_TRUE(full->empty());
  done(slot->runs[0]);
  ASSERT_EQ(full->size(), 1u);
  EXPECT_EQ(full->at(0), "success null") << "the flow's own result (the fake reports null)";
}

TEST_F(DispatcherTest, ASubFlowGoesToItsOwnLaneATopLevelFlowDoesNot) {
  start(no_recovery());
  auto top = submit(flow_job());
  auto child = flow_job();
  child.parent_job = top;
  auto sub = submit(child);
  ASSERT_EQ(sub.size(), 36u) << sub;
  // A slot kept for sub-flows gets the sub-flow only, though the top-level
  // flow was queued first.
  auto subs = add_slot("sub1", {job_kind::subflow_lane});
  ASSERT_EQ(subs->runs.size(), 1u);
  EXPECT_EQ(subs->runs[0].job_id, sub);
  auto any = add_slot("flow1", {job_kind::flow_tag, job_kind::subflow_lane});
  ASSERT_EQ(any->runs.size(), 1u);
  EXPECT_EQ(any->runs[0].job_id, top);
  // Nobody may queue a script on the flow lanes.
  auto script = bash();
  script.tag = job_kind::subflow_lane;
  EXPECT_NE(submit(script).find("flow engine"), std::string::npos);
}

// Asks the dispatcher to let slot `name` go; records the answer.
void leaver(caf::event_based_actor* self, dispatcher_actor d, std::string name,
            std::shared_ptr<std::vector<std::string>> out) {
  self->request(d, caf::infinite, drain_atom_v, std::move(name))
    .then([out](bool ok) { out->push_back(ok ? "gone" : "kept"); },
          [out](caf::error& e) { out->push_back("error: " + describe(e)); });
}

TEST_F(DispatcherTest, ASlotThatLeavesFinishesItsJobGetsNothingNewThenIsForgotten) {
  start(one_at_a_time());
  auto idle = add_slot("flow1", {job_kind::flow_tag});
  auto answers = std::make_shared<std::vector<std::string>>();
  sys.spawn(leaver, disp, "flow1", answers);
  run();
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ(answers->at(0), "gone") << "an idle slot goes at once";
  EXPECT_EQ(stats().slots, 0u);
  auto first = submit(flow_job());
  EXPECT_TRUE(idle->runs.empty()) << "a slot that left gets no job";

  auto busy = add_slot("flow2", {job_kind::flow_tag});
  ASSERT_EQ(busy->runs.size(), 1u);
  EXPECT_EQ(busy->runs[0].job_id, first);
  sys.spawn(leaver, disp, "flow2", answers);
  run();
  EXPECT_EQ(answers->size(), 1u) << "not answered while it runs a job";
  auto second = submit(flow_job());
  done(busy->runs[0]);
  ASSERT_EQ(answers->size(), 2u);
  EXPECT_EQ(answers->at(1), "gone");
  EXPECT_EQ(busy->runs.size(), 1u) << "the queued flow did not go to the leaving slot";
  EXPECT_EQ(stats().slots, 0u);
  EXPECT_EQ(stats().queued, 1u);
  auto next = add_slot("flow3", {job_kind::flow_tag});
  ASSERT_EQ(next->runs.size(), 1u);
  EXPECT_EQ(next->runs[0].job_id, second);
}

} // namespace
} // namespace millrace::test
