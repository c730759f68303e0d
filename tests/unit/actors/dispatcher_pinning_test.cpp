// same_worker flows, the dispatcher's side, on the test coordinator: a job
// pinned to a worker node runs only on that node's slots and carries its
// flow's shared folder; `pin` picks a node that serves the flow's tags;
// `unpin` reaches one slot of that node; the pin survives a restart.

#include <algorithm>
#include <utility>

#include "tests/unit/actors/dispatcher_fixture.hpp"

namespace millrace::test {
namespace {

const std::string flow_id = "00000000-0000-7000-8000-0000000000f1";

job_spec pinned(const std::string& node, const std::string& language = "bash") {
  job_spec s;
  s.kind = job_kind::preview;
  s.language = language;
  s.code = "echo hi";
  s.parent_job = flow_id;
  s.root_job = flow_id;
  s.node = node;
  return s;
}

class PinningTest : public DispatcherTest {
protected:
  /// `pin` with `tags`: the node, or "error: ..." naming why none.
  std::string pin(std::set<std::string> tags) {
    caf::scoped_actor self{sys};
    auto req = self->request(disp, caf::infinite, pin_atom_v, std::move(tags));
    run();
    std::string out;
    req.receive([&](std::string& node) { out = node; },
                [&](caf::error& e) { out = "error: " + describe(e); });
    return out;
  }
};

TEST_F(PinningTest, APinnedJobRunsOnlyOnItsNodeAndGetsItsFlowsSharedFolder) {
  start(one_at_a_time());
  auto n1 = add_slot("n1/slot-1", {"bash"});
  auto n2 = add_slot("n2/slot-1", {"bash"});
  submit(pinned("n2"));
  EXPECT_TRUE(n1->runs.empty()) << "n1 was idle first, but the job is n2's";
  ASSERT_EQ(n2->runs.size(), 1u);
  EXPECT_EQ(n2->runs[0].shared_folder, flow_id);

  // Queued while n2 is busy: it waits for n2, not for any idle slot.
  submit(pinned("n2"));
  EXPECT_TRUE(n1->runs.empty());
  done(n2->runs[0]);
  ASSERT_EQ(n2->runs.size(), 2u);

  // An unpinned job still goes to whichever slot is idle, with no folder.
  submit(bash());
  ASSERT_EQ(n1->runs.size(), 1u);
  EXPECT_TRUE(n1->runs[0].shared_folder.empty());
}

TEST_F(PinningTest, AJobPinnedToANodeThatIsNotThereWaitsForIt) {
  start(one_at_a_time());
  auto n1 = add_slot("n1/slot-1", {"bash"});
  submit(pinned("n3"));
  EXPECT_TRUE(n1->runs.empty());
  EXPECT_EQ(stats().queued, 1u);
  auto n3 = add_slot("n3/slot-1", {"bash"});
  EXPECT_EQ(n3->runs.size(), 1u) << "the node joined: its job starts";
}

TEST_F(PinningTest, PinPicksANodeServingEveryTagMostIdleFirst) {
  start(one_at_a_time());
  auto none = pin({"bash"});
  EXPECT_NE(none.find("no_node (no worker node is connected)"), std::string::npos) << none;
  add_slot("n1/slot-1", {"bash"});
  add_slot("n2/slot-1", {"bash", "python3"});
  add_slot("n2/flow-1", {job_kind::flow_tag, job_kind::subflow_lane});
  EXPECT_EQ(pin({"bash", "python3"}), "n2");
  auto err = pin({"go"});
  EXPECT_NE(err.find("no connected worker node serves all of: go"), std::string::npos) << err;

  // n1 gets a second slot and n2's only worker slot is busy: n1 has more
  // idle slots.
  add_slot("n1/slot-2", {"bash"});
  submit(pinned("n2"));
  EXPECT_EQ(pin({"bash"}), "n1");
  EXPECT_EQ(pin({}), "n1") << "no known tags: any worker node";

  // A draining node is not picked.
  caf::anon_send(disp, drain_atom_v, std::string{"n1/"}, true);
  run();
  EXPECT_EQ(pin({"bash"}), "n2");
}

TEST_F(PinningTest, UnpinTellsOneWorkerSlotOfTheNode) {
  start(one_at_a_time());
  auto f = add_slot("n1/flow-1", {job_kind::flow_tag});
  auto a = add_slot("n1/slot-1", {"bash"});
  auto b = add_slot("n1/slot-2", {"bash"});
  auto other = add_slot("n2/slot-1", {"bash"});
  caf::anon_send(disp, unpin_atom_v, std::string{"n1"}, flow_id, int32_t{1});
  run();
  auto told = [](const std::shared_ptr<slot_log>& l) {
    return std::count(l->events.begin(), l->events.end(), "unpin " + flow_id);
  };
  EXPECT_EQ(told(a) + told(b), 1);
  EXPECT_EQ(told(f), 0) << "flow slots hold no folders";
  EXPECT_EQ(told(other), 0);
}

TEST_F(PinningTest, OnlyTheAttemptThatEndedTheFlowUnpinsIt) {
  start(one_at_a_time());
  auto flows = add_slot("n9/flow-1", {job_kind::flow_tag});
  auto worker = add_slot("n1/slot-1", {"bash"});
  job_spec f;
  f.kind = job_kind::flowpreview;
  f.code = R"({"modules":[]})";
  submit(f);
  ASSERT_EQ(flows->runs.size(), 1u);
  auto flow_job = flows->runs[0];
  auto unpins = [&] {
    return std::count(worker->events.begin(), worker->events.end(), "unpin " + flow_job.job_id);
  };
  // An older attempt (its lease ran out while the flow went on) must not
  // take the folder from the running one.
  caf::anon_send(disp, unpin_atom_v, std::string{"n1"}, flow_job.job_id, flow_job.attempt - 1);
  run();
  EXPECT_EQ(unpins(), 0);
  caf::anon_send(disp, unpin_atom_v, std::string{"n1"}, flow_job.job_id, flow_job.attempt);
  run();
  EXPECT_EQ(unpins(), 1) << "the current attempt ends the flow";
  done(flow_job);
  caf::anon_send(disp, unpin_atom_v, std::string{"n1"}, flow_job.job_id, flow_job.attempt - 1);
  run();
  EXPECT_EQ(unpins(), 2) << "the flow ended: no attempt runs that could need the folder";
}

TEST_F(PinningTest, AJobPinnedToANodeWithoutItsTagIsRefused) {
  start(one_at_a_time());
  add_slot("n1/slot-1", {"bash"});
  auto err = submit(pinned("n1", "python3"));
  EXPECT_NE(err.find("node: worker node 'n1' has no slot serving tag 'python3'"),
            std::string::npos)
    << err;
  EXPECT_EQ(submit(pinned("n2", "python3")).size(), 36u) << "a node not connected: it waits";
}

TEST_F(PinningTest, PinnedLanesCostNothingUntilAJobIsPinnedAndCountAsTheirTag) {
  start(one_at_a_time());
  add_slot("n1/slot-1", {"bash", "python3"});
  auto n2 = add_slot("n2/slot-1", {"bash"});
  EXPECT_EQ(stats().idle_entries, 3u) << "no <tag>@<node> lanes before a job is pinned";
  submit(pinned("n2"));
  ASSERT_EQ(n2->runs.size(), 1u) << "the node's lanes were added when its first job came";
  submit(pinned("n3"));
  auto queued = stats().queued_by_tag;
  EXPECT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued["bash"], 1u) << "metrics count a pinned lane as its tag";
}

TEST_F(PinningTest, OnlyScriptJobsArePinnedAndTheNodeMustBeAName) {
  start(one_at_a_time());
  auto j = noop();
  j.node = "n1";
  EXPECT_NE(submit(j).find("node: only script and preview jobs"), std::string::npos);
  EXPECT_NE(submit(pinned("../etc")).find("node: '../etc' is not a worker node name"),
            std::string::npos);
}

TEST_F(PinningTest, APinSurvivesARestart) {
  auto cols = recover_columns();
  cols.push_back("worker_node");
  storage::sql_row r(cols.size(), storage::sql_value::null_value());
  auto set = [&](const std::string& col, const std::string& v) {
    auto i = std::find(cols.begin(), cols.end(), col) - cols.begin();
    r[static_cast<size_t>(i)] = storage::sql_value{v};
  };
  set("job_id", "00000000-0000-7000-8000-00000000000a");
  set("workspace_id", "admins");
  set("tag", "bash");
  set("priority", "0");
  set("scheduled_for_ms", "0");
  set("created_at", "2026-01-01 00:00:00+00");
  set("state", "queued");
  set("attempt", "0");
  set("restarts", "0");
  set("kind", "preview");
  set("language", "bash");
  set("code", "echo hi");
  set("args", "{}");
  set("timeout_s", "0");
  set("parent_job", flow_id);
  set("created_by", "t");
  set("worker_node", "n2");
  db->recover_rows.columns = cols;
  db->recover_rows.rows = {r};
  start(one_at_a_time(dispatcher_config{})); // with recovery
  auto n1 = add_slot("n1/slot-1", {"bash"});
  EXPECT_TRUE(n1->runs.empty());
  auto n2 = add_slot("n2/slot-1", {"bash"});
  ASSERT_EQ(n2->runs.size(), 1u);
  EXPECT_EQ(n2->runs[0].shared_folder, flow_id);
}

TEST_F(PinningTest, ANodeThatJoinsHasTheFoldersOfFlowsThatEndedRemoved) {
  start(one_at_a_time());
  job_spec f; // unfinished: queued, with no flow slot to run it
  f.kind = job_kind::flowpreview;
  f.code = R"({"modules":[]})";
  auto live = submit(f);
  ASSERT_EQ(live.size(), 36u) << live;
  const std::string ended = "00000000-0000-7000-8000-0000000000e1";
  auto count = [](const std::shared_ptr<slot_log>& l, const std::string& event) {
    return std::count(l->events.begin(), l->events.end(), event);
  };
  auto a = add_slot("n1/slot-1", {"bash"}, {live, ended});
  EXPECT_EQ(count(a, "sweep"), 1);
  EXPECT_EQ(count(a, "unpin " + ended), 1) << "its flow ended while the node was away";
  EXPECT_EQ(count(a, "unpin " + live), 0) << "its flow has not ended";

  // The node's other slots joining with it do not sweep it again; flow
  // slots hold no folders and are never asked.
  auto b = add_slot("n1/slot-2", {"bash"}, {live, ended});
  auto flows = add_slot("n2/flow-1", {job_kind::flow_tag});
  EXPECT_EQ(count(b, "sweep"), 0);
  EXPECT_EQ(count(flows, "sweep"), 0);

  // The node restarts a while later: its first slot sweeps it again.
  advance(std::chrono::minutes(2));
  auto again = add_slot("n1/slot-1", {"bash"}, {ended});
  EXPECT_EQ(count(again, "sweep"), 1);
  EXPECT_EQ(count(a, "unpin " + ended) + count(b, "unpin " + ended) + count(again, "unpin " + ended),
            2);
}

TEST_F(PinningTest, NodesThatJoinDuringRecoveryAreSweptAfterIt) {
  // Until the queue is in memory no flow is known to be unfinished: a sweep
  // then would remove the folders of flows still running.
  db->hold_recovery = true;
  start(one_at_a_time(dispatcher_config{})); // with recovery
  auto a = add_slot("n1/slot-1", {"bash"}, {flow_id});
  EXPECT_TRUE(a->events.empty()) << "asked during recovery";
  caf::anon_send(owned[1], recover_atom_v); // the fake reader answers recover_jobs now
  run();
  EXPECT_EQ(std::count(a->events.begin(), a->events.end(), "sweep"), 1);
  EXPECT_EQ(std::count(a->events.begin(), a->events.end(), "unpin " + flow_id), 1);
}

} // namespace
} // namespace millrace::test
