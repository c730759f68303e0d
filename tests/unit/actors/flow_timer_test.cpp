// Flow timers on the virtual clock (CAF's test coordinator): a retry or
// sleep fires exactly at its deadline; a run resumed after a crash fires at
// the deadline recorded before it (what the database answers is what is
// left), or at once when it passed; without storage the timer still fires.
// And the retry schedule itself: constant attempts, then exponential with
// jitter.

#include <memory>

#include "actors/flow/detail/context.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/type_ids.hpp"
#include "actors/system/registry.hpp"
#include "runtime/flow/retry.hpp"
#include "tests/fakes/fake_storage.hpp"
#include "tests/support/actor_test.hpp"

namespace millrace::test {
namespace {

using namespace std::chrono_literals;

struct fired {
  int count = 0;
  uint64_t op = 0;
};

// Stands in for the sequence: records the wake-ups it gets.
caf::behavior recorder(caf::event_based_actor*, std::shared_ptr<fired> f) {
  return {[f](actors::wake_atom, uint64_t op) {
    ++f->count;
    f->op = op;
  }};
}

class FlowTimer : public actor_test {
protected:
  std::shared_ptr<fake_db> db = std::make_shared<fake_db>();
  std::shared_ptr<actors::registry> reg = std::make_shared<actors::registry>();
  std::shared_ptr<actors::flow_engine::run_context> ctx =
    std::make_shared<actors::flow_engine::run_context>();
  std::shared_ptr<fired> f = std::make_shared<fired>();
  caf::actor target;

  void SetUp() override {
    ctx->reg = reg;
    ctx->flow_job_id = "01a20000-0000-7000-8000-000000000001";
    target = sys.spawn(recorder, f);
  }

  void with_storage() {
    reg->put(actors::actor_entry{actors::paths::storage_writer, "storage_writer", "",
                                 spawn_fake_writer(sys, db), std::chrono::system_clock::now(), 0});
  }

  caf::actor start(const std::string& key, int64_t ms) {
    auto t = actors::flow_engine::spawn_timer(sys, ctx, key, "retry 1 of step r", ms, target, 7,
                                              "/t/timer");
    run();
    return t;
  }

  void TearDown() override {
    anon_send_exit(target, caf::exit_reason::user_shutdown);
    actor_test::TearDown();
  }
};

TEST_F(FlowTimer, AFreshWaitFiresAtItsFullDelayAndRecordsItsDeadline) {
  with_storage();
  auto t = start("/r#retry-1", 10000);
  EXPECT_EQ(db->count("flow_timer_start"), 1u);
  EXPECT_TRUE(reg->find("/t/timer")) << "listed in the registry while it waits";
  advance(9999ms);
  EXPECT_EQ(f->count, 0);
  advance(1ms);
  EXPECT_EQ(f->count, 1);
  EXPECT_EQ(f->op, 7u);
  drain();
  EXPECT_FALSE(reg->find("/t/timer")) << "gone once it fired";
}

TEST_F(FlowTimer, AResumedWaitFiresAtTheDeadlineRecordedBeforeTheCrash) {
  with_storage();
  db->timer_left_ms["/r#retry-1"] = 3000; // 7 s of 10 s passed before the crash
  start("/r#retry-1", 10000);
  advance(2999ms);
  EXPECT_EQ(f->count, 0);
  advance(1ms);
  EXPECT_EQ(f->count, 1);
}

TEST_F(FlowTimer, AWaitWhoseDeadlinePassedFiresAtOnce) {
  with_storage();
  db->timer_left_ms["/sleep"] = 0;
  start("/sleep", 60000);
  drain(); // a zero delay is still a (due) timeout on the clock
  EXPECT_EQ(f->count, 1);
}

TEST_F(FlowTimer, WithoutStorageTheWaitStillFiresFromItsStart) {
  start("/r#retry-1", 5000);
  EXPECT_EQ(db->count("flow_timer_start"), 0u);
  advance(4999ms);
  EXPECT_EQ(f->count, 0);
  advance(1ms);
  EXPECT_EQ(f->count, 1);
}

TEST_F(FlowTimer, AStoppedTimerNeverFires) {
  with_storage();
  auto t = start("/r#retry-1", 1000);
  anon_send_exit(t, caf::exit_reason::user_shutdown);
  run();
  advance(2000ms);
  EXPECT_EQ(f->count, 0);
}

TEST(FlowRetrySchedule, ConstantAttemptsFirstThenExponentialWithJitter) {
  flow::retry_policy r;
  r.constant_attempts = 2;
  r.constant_seconds = 5;
  r.exponential_attempts = 3;
  r.exponential_multiplier = 2;
  r.exponential_seconds = 3;
  EXPECT_DOUBLE_EQ(flow::retry_delay_s(r, 1, 0.9), 5.0) << "no jitter on constant attempts";
  EXPECT_DOUBLE_EQ(flow::retry_delay_s(r, 2, -0.9), 5.0);
  EXPECT_DOUBLE_EQ(flow::retry_delay_s(r, 3, 0.0), 54.0) << "2 x 3^3";
  EXPECT_DOUBLE_EQ(flow::retry_delay_s(r, 4, 0.0), 162.0);
  r.random_factor = 10;
  EXPECT_DOUBLE_EQ(flow::retry_delay_s(r, 3, 1.0), 54.0 * 1.1);
  EXPECT_DOUBLE_EQ(flow::retry_delay_s(r, 3, -1.0), 54.0 * 0.9);
  EXPECT_DOUBLE_EQ(flow::retry_delay_s(r, 3, 7.0), 54.0 * 1.1) << "jitter is clamped";
  r.exponential_seconds = 100;
  EXPECT_DOUBLE_EQ(flow::retry_delay_s(r, 5, 0.0), 86400.0) << "at most a day";
  EXPECT_TRUE(flow::may_retry(r, 4));
  EXPECT_FALSE(flow::may_retry(r, 5)) << "2 constant + 3 exponential";
}

} // namespace
} // namespace millrace::test
