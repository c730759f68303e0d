// millrace_config: the scheduler policy asked for is the one the actor
// system runs (actors.scheduler), and the default number of its threads.

#include <thread>

#include <gtest/gtest.h>

#include "caf/all.hpp"
#include "caf/policy/work_sharing.hpp"
#include "caf/policy/work_stealing.hpp"
#include "caf/scheduler/coordinator.hpp"

#include "actors/system/actor_config.hpp"

using namespace millrace::actors;

namespace {

template <class Policy>
bool runs_on(caf::actor_system& sys) {
  return dynamic_cast<caf::scheduler::coordinator<Policy>*>(&sys.scheduler()) != nullptr;
}

/// A message round trip through a scheduled actor, from outside.
int echo_through(caf::actor_system& sys) {
  // (With no argument but self, CAF 0.17 dereferences an empty tuple
  // pointer, which UBSan reports: hence `by`.)
  auto echo = sys.spawn(
    [](caf::event_based_actor*, int by) -> caf::behavior { return {[by](int x) { return x + by; }}; }, 1);
  caf::scoped_actor self{sys};
  int got = 0;
  self->request(echo, std::chrono::seconds(10), 41).receive([&](int x) { got = x; }, [](caf::error&) {});
  self->send_exit(echo, caf::exit_reason::user_shutdown);
  return got;
}

TEST(ActorConfig, SchedulerPolicyNames) {
  EXPECT_EQ(parse_scheduler_policy("sharing"), scheduler_policy::sharing);
  EXPECT_EQ(parse_scheduler_policy("stealing"), scheduler_policy::stealing);
  EXPECT_EQ(parse_scheduler_policy("Sharing"), std::nullopt);
  EXPECT_EQ(parse_scheduler_policy(""), std::nullopt);
}

TEST(ActorConfig, DefaultThreadsLeaveACoreToTheRest) {
  EXPECT_EQ(default_scheduler_threads(0), 1u); // cores unknown
  EXPECT_EQ(default_scheduler_threads(1), 1u);
  EXPECT_EQ(default_scheduler_threads(2), 1u);
  EXPECT_EQ(default_scheduler_threads(8), 7u);
  millrace_config cfg;
  caf::actor_system sys{cfg};
  EXPECT_EQ(sys.scheduler().num_workers(), default_scheduler_threads(std::thread::hardware_concurrency()));
  EXPECT_EQ(echo_through(sys), 42);
}

TEST(ActorConfig, WorkSharingIsTheDefaultAndRuns) {
  millrace_config cfg{2};
  caf::actor_system sys{cfg};
  EXPECT_TRUE(runs_on<caf::policy::work_sharing>(sys));
  EXPECT_EQ(echo_through(sys), 42);
}

TEST(ActorConfig, WorkStealingWhenAskedFor) {
  millrace_config cfg{2, scheduler_policy::stealing};
  caf::actor_system sys{cfg};
  EXPECT_TRUE(runs_on<caf::policy::work_stealing>(sys));
  EXPECT_EQ(echo_through(sys), 42);
}

} // namespace
