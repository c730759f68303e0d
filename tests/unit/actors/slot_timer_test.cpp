// A worker slot's one timer (actors/worker/slot.cpp, "One timer per slot"),
// on the test coordinator's virtual clock: a fake launcher whose processes
// end when the test says so, a fake dispatcher that records what the slot
// reports, the fake storage writer.

#include <memory>
#include <string>
#include <vector>

#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/registry.hpp"
#include "actors/worker/slot.hpp"
#include "sandbox/launcher.hpp"
#include "tests/fakes/fake_storage.hpp"
#include "tests/support/actor_test.hpp"

namespace millrace::test {
namespace {

using namespace std::chrono_literals;
using namespace millrace::actors;

struct process_log {
  std::vector<sandbox::process_events> events;
  int terminated = 0;
  int killed = 0;
};

class fake_process : public sandbox::process {
public:
  explicit fake_process(std::shared_ptr<process_log> log) : log_(std::move(log)) {}
  pid_t pid() const override { return 4242; }
  void terminate(std::chrono::milliseconds) override { ++log_->terminated; }
  void kill() override { ++log_->killed; }

private:
  std::shared_ptr<process_log> log_;
};

class fake_launcher : public sandbox::launcher {
public:
  explicit fake_launcher(std::shared_ptr<process_log> log) : log_(std::move(log)) {}
  std::shared_ptr<sandbox::process> start(const sandbox::launch_plan&, const sandbox::limits&,
                                          sandbox::process_events events, std::string&) override {
    log_->events.push_back(std::move(events));
    return std::make_shared<fake_process>(log_);
  }
  std::string describe() const override { return "fake"; }

private:
  std::shared_ptr<process_log> log_;
};

struct dispatcher_log {
  std::vector<std::string> events;
  caf::actor slot;
};

// Untyped: it answers only what a slot sends while it runs attempts.
caf::behavior fake_dispatcher(caf::event_based_actor* self, std::shared_ptr<dispatcher_log> log) {
  self->set_default_handler(caf::drop);
  return {
    [log](register_atom, worker_slot_actor& s, slot_info&) { log->slot = caf::actor_cast<caf::actor>(s); },
    [log](ready_atom, std::string&) { log->events.push_back("ready"); },
    [log](done_atom, job_outcome& o) { log->events.push_back("done " + o.job_id + " " + o.status); },
    [log](renew_atom, std::string& id, int32_t) { log->events.push_back("renew " + id); },
  };
}

class SlotTimer : public actor_test {
protected:
  std::shared_ptr<fake_db> db = std::make_shared<fake_db>();
  std::shared_ptr<registry> reg = std::make_shared<registry>();
  std::shared_ptr<process_log> procs = std::make_shared<process_log>();
  std::shared_ptr<dispatcher_log> disp = std::make_shared<dispatcher_log>();
  std::vector<caf::actor> owned;

  void start_slot() {
    auto w = spawn_fake_writer(sys, db);
    auto d = sys.spawn(fake_dispatcher, disp);
    owned = {w, d};
    reg->put({paths::storage_writer, "fake", "", w, {}, 0});
    reg->put({paths::dispatcher, "dispatcher", "", d, {}, 0});
    slot_config sc;
    sc.name = "test/slot-1";
    sc.tags = {"bash"};
    sc.renew_every = 1s;
    sc.log_flush_every = 100ms;
    sc.launcher = std::make_shared<fake_launcher>(procs);
    owned.push_back(spawn_slot(sys, sc, reg, "/millrace/worker/slot-1"));
    run();
    ASSERT_TRUE(disp->slot);
  }

  void TearDown() override {
    for (auto& a : owned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    actor_test::TearDown();
  }

  /// Gives the slot a bash attempt and commits its claim.
  void assign(const std::string& id, int32_t timeout_s) {
    job_assignment a;
    a.job_id = id;
    a.attempt = 1;
    a.lease_owner = "test/slot-1";
    a.workspace = "admins";
    a.kind = job_kind::preview;
    a.language = "bash";
    a.code = "echo hello\n";
    a.args = "{}";
    a.timeout_s = timeout_s;
    caf::anon_send(caf::actor_cast<worker_slot_actor>(disp->slot), run_atom_v, a,
                   std::vector<job_watcher_actor>{});
    run();
    caf::anon_send(caf::actor_cast<worker_slot_actor>(disp->slot), claimed_atom_v, id, int32_t{1});
    run();
  }

  /// The newest process prints `text` and exits with 0.
  void finish_last(const std::string& text) {
    auto& ev = procs->events.back();
    ev.on_output(sandbox::stream::out, text);
    sandbox::exit_info x;
    x.exit_code = 0;
    ev.on_exit(x);
    run();
  }

  /// Delayed messages waiting in the clock (the slot's timers; request
  /// timeouts, which CAF 0.17 never cancels, are not counted).
  size_t pending_timers() {
    size_t n = 0;
    for (auto& [due, ev] : sched.clock().schedule())
      n += ev->subtype == caf::detail::simple_actor_clock::actor_msg_type ? 1 : 0;
    return n;
  }

  size_t count(const std::string& prefix) const {
    size_t n = 0;
    for (auto& e : disp->events)
      n += e.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }
};

TEST_F(SlotTimer, ShortJobsBackToBackLeaveOneTimerInTheClock) {
  start_slot();
  for (int i = 0; i < 50; ++i) {
    assign("job-" + std::to_string(i), 900);
    finish_last("hello\n");
  }
  EXPECT_EQ(count("done "), 50u);
  EXPECT_EQ(count("done job-49 success"), 1u);
  // One timer per deadline per job used to stay here: 150 entries, the
  // timeouts for 15 minutes after their jobs ended.
  EXPECT_LE(pending_timers(), 1u);
  advance(1s); // the tick finds no job and arms nothing
  EXPECT_EQ(pending_timers(), 0u);
  EXPECT_EQ(count("renew "), 0u);
}

TEST_F(SlotTimer, TheTickRenewsFlushesAndEnforcesTheTimeout) {
  start_slot();
  assign("long", 3);
  procs->events.back().on_output(sandbox::stream::out, "first line\n");
  run();
  EXPECT_EQ(db->count("append_log"), 0u);
  advance(100ms); // the first flush is due
  EXPECT_EQ(db->count("append_log"), 1u);
  advance(900ms);
  EXPECT_EQ(count("renew long"), 1u);
  advance(1s);
  EXPECT_EQ(count("renew long"), 2u);
  EXPECT_EQ(procs->terminated, 0);
  advance(999ms);
  EXPECT_EQ(procs->terminated, 0) << "not before its 3 s";
  advance(1ms);
  EXPECT_EQ(procs->terminated, 1) << "the kill ladder starts at the timeout";
  EXPECT_EQ(count("renew long"), 3u);
  advance(10s); // still running (its grace): renewals go on, no second terminate
  EXPECT_EQ(procs->terminated, 1);
  EXPECT_GE(count("renew long"), 4u);
  sandbox::exit_info x;
  x.signal = 15;
  x.terminated = true;
  procs->events.back().on_exit(x);
  run();
  EXPECT_EQ(count("done long timed_out"), 1u);
  advance(2s);
  auto renewals = count("renew long");
  advance(5s);
  EXPECT_EQ(count("renew long"), renewals) << "nothing after the attempt ended";
  EXPECT_EQ(pending_timers(), 0u);
}

TEST_F(SlotTimer, AJobStartedWhileATickIsPendingKeepsItsOwnDeadlines) {
  start_slot();
  assign("a", 900);
  advance(50ms); // a's flush tick is due at 100 ms
  finish_last("x\n");
  // b starts at 50 ms; its first deadline (its flush at 150 ms) comes after
  // the pending tick (100 ms), so b adds no timer: that tick arms b's next.
  assign("b", 1);
  EXPECT_EQ(pending_timers(), 1u);
  advance(950ms); // 1000 ms
  EXPECT_EQ(procs->terminated, 0);
  advance(49ms);
  EXPECT_EQ(procs->terminated, 0);
  advance(1ms); // 1050 ms: b's 1 s timeout, counted from its own start
  EXPECT_EQ(procs->terminated, 1);
}

} // namespace
} // namespace millrace::test
