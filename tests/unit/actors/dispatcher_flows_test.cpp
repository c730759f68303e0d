// What the dispatcher does for flow jobs in particular, on the virtual clock
// with fake storage and fake slots: a flow has no timeout unless its run asked
// for one (a script gets dispatcher.default_timeout), and a flow's
// early_return result answers only the waiters that take it.

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

} // namespace
} // namespace millrace::test
