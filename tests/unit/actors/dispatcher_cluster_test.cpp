// The dispatcher's side of the worker cluster, on the test coordinator: a
// slot whose node rejoins keeps a current attempt and is told to kill a stale
// one, completions and registrations that arrive while the queue is being
// recovered wait for it, and a drained node's slots get no new jobs (not
// even prefetched ones).

#include <algorithm>

#include "tests/unit/actors/dispatcher_fixture.hpp"

using namespace std::chrono_literals;
using namespace millrace::actors;
using namespace millrace::test;

namespace {

bool has(const std::vector<std::string>& events, const std::string& e) {
  return std::find(events.begin(), events.end(), e) != events.end();
}

} // namespace

TEST_F(DispatcherTest, ARejoiningSlotKeepsItsCurrentAttempt) {
  start(no_recovery());
  auto first = add_slot("n1/slot-1", {"bash"});
  auto id = submit(bash());
  ASSERT_EQ(first->runs.size(), 1u);
  auto a = first->runs[0];
  // The node's connection came back: the same slot name registers from a
  // new handle and says it still runs attempt 1.
  auto again = add_slot(slot_info{"n1/slot-1", {"bash"}, id, a.attempt, a.lease_owner, false});
  EXPECT_FALSE(has(again->events, "abort " + id));
  EXPECT_TRUE(has(again->events, "claimed " + id)) << "the claim is confirmed again";
  EXPECT_TRUE(again->runs.empty()) << "a slot holding an attempt gets no other job";
  done(a);
  EXPECT_EQ(stats().completed, 1u);
  EXPECT_EQ(stats().fenced, 0u);
}

TEST_F(DispatcherTest, ARejoiningSlotWithAStaleAttemptIsToldToKillIt) {
  start(no_recovery());
  auto first = add_slot("n1/slot-1", {"bash"});
  auto id = submit(bash());
  ASSERT_EQ(first->runs.size(), 1u);
  auto a1 = first->runs[0];
  // The node is lost (its slot's monitor fires); the job runs again elsewhere.
  caf::anon_send_exit(owned.back(), caf::exit_reason::remote_link_unreachable);
  run();
  auto other = add_slot("n2/slot-1", {"bash"});
  ASSERT_EQ(other->runs.size(), 1u);
  EXPECT_EQ(other->runs[0].attempt, 2);
  // The lost node wakes up and rejoins, still running attempt 1.
  auto back = add_slot(slot_info{"n1/slot-1", {"bash"}, id, a1.attempt, a1.lease_owner, false});
  EXPECT_TRUE(has(back->events, "abort " + id)) << "told to kill the stale attempt";
  // Its late completion is fenced; attempt 2's counts.
  done(a1);
  EXPECT_EQ(stats().completed, 0u);
  done(other->runs[0]);
  EXPECT_EQ(stats().completed, 1u);
  EXPECT_GE(stats().fenced, 2u);
}

TEST_F(DispatcherTest, ADrainedNodeFinishesItsJobButGetsNoNewOne) {
  start(one_at_a_time());
  auto n1 = add_slot("n1/slot-1", {"bash"});
  auto first = submit(bash());
  ASSERT_EQ(n1->runs.size(), 1u);
  caf::anon_send(disp, drain_atom_v, std::string{"n1/"}, true);
  run();
  auto second = submit(bash());
  done(n1->runs[0]);
  EXPECT_EQ(n1->runs.size(), 1u) << "a draining slot gets no new job: " << ::testing::PrintToString(n1->events);
  EXPECT_EQ(stats().completed, 1u);
  auto n2 = add_slot("n2/slot-1", {"bash"});
  ASSERT_EQ(n2->runs.size(), 1u);
  EXPECT_EQ(n2->runs[0].job_id, second);
  (void)first;
}

TEST_F(DispatcherTest, ADrainedSlotRunsWhatItWasSentButIsNotToppedUpWithMore) {
  start(no_recovery()); // prefetch 1: a no-process job goes with one ahead
  for (int i = 0; i < 3; ++i)
    submit(noop());
  auto n1 = add_slot("n1/slot-1", {"noop"});
  ASSERT_EQ(n1->runs.size(), 2u) << "the job and the one ahead";
  caf::anon_send(disp, drain_atom_v, std::string{"n1/"}, true);
  run();
  done(n1->runs[0]);
  EXPECT_EQ(n1->runs.size(), 2u) << "no new job ahead: " << ::testing::PrintToString(n1->events);
  done(n1->runs[1]);
  EXPECT_EQ(n1->runs.size(), 2u);
  auto n2 = add_slot("n2/slot-1", {"noop"});
  EXPECT_EQ(n2->runs.size(), 1u) << "the third job went to the other node";
}

TEST_F(DispatcherTest, AFinishedAttemptReportedOnRejoinIsAcceptedIfCurrent) {
  start(one_at_a_time());
  auto first = add_slot("n1/slot-1", {"bash"});
  auto id = submit(bash());
  auto next = submit(bash());
  ASSERT_EQ(first->runs.size(), 1u);
  auto a = first->runs[0];
  // The job ended while the connection was down; the slot rejoins with it
  // finished, reports it, and asks for work.
  auto again = add_slot(slot_info{"n1/slot-1", {"bash"}, id, a.attempt, a.lease_owner, true});
  done(a);
  EXPECT_EQ(stats().completed, 1u);
  EXPECT_EQ(stats().fenced, 0u);
  ASSERT_EQ(again->runs.size(), 1u);
  EXPECT_EQ(again->runs[0].job_id, next);
}

TEST_F(DispatcherTest, ATagLimitHoldsAcrossNodesAndFreesAsJobsEnd) {
  auto dcfg = one_at_a_time();
  dcfg.tag_limits = {{"gpu", 2}};
  start(dcfg);
  std::vector<std::shared_ptr<slot_log>> nodes;
  for (int n = 1; n <= 3; ++n)
    nodes.push_back(add_slot("n" + std::to_string(n) + "/slot-1", {"gpu"}));
  for (int i = 0; i < 4; ++i)
    submit(noop("admins", 0, "gpu"));
  auto runs = [&] {
    size_t n = 0;
    for (auto& log : nodes)
      n += log->runs.size();
    return n;
  };
  EXPECT_EQ(runs(), 2u) << "two gpu jobs at once, on three idle slots";
  EXPECT_EQ(stats().queued, 2u);
  // One ends: exactly one more starts (on the idle node or the freed one).
  for (auto& log : nodes)
    if (!log->runs.empty()) {
      done(log->runs.back());
      break;
    }
  EXPECT_EQ(runs(), 3u);
  EXPECT_EQ(stats().queued, 1u);
  // A slot serving another tag too still takes that tag's jobs meanwhile.
  auto both = add_slot("n4/slot-1", {"gpu", "cpu"});
  auto cpu = submit(noop("admins", 0, "cpu"));
  ASSERT_EQ(both->runs.size(), 1u);
  EXPECT_EQ(both->runs[0].job_id, cpu);
  EXPECT_EQ(stats().queued, 1u) << "the fourth gpu job still waits for room";
}
