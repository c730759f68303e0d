// Supervisor semantics on CAF's test coordinator: ordered start, restarts per
// strategy and restart type, intensity/period escalation on the virtual
// clock, reverse-ordered stop with shutdown timeouts, registry upkeep.

#include <memory>
#include <string>
#include <vector>

#include "actors/protocol/errors.hpp"
#include "actors/protocol/type_ids.hpp"
#include "actors/supervision/supervisor.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"
#include "tests/support/actor_test.hpp"

using namespace std::chrono_literals;
using namespace millrace::actors;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

using event_log = std::shared_ptr<std::vector<std::string>>;

// A child that records its start and stop. `stubborn` children ignore the
// polite user_shutdown, so only the supervisor's `kill` stops them.
caf::behavior test_child(caf::event_based_actor* self, std::string name, event_log log,
                         bool stubborn) {
  log->push_back("start " + name);
  self->attach_functor([name, log](const caf::error&) { log->push_back("stop " + name); });
  if (stubborn)
    self->set_exit_handler([](caf::exit_msg&) {});
  return {
    [self](crash_atom) { self->quit(caf::sec::runtime_error); },
    [self](done_atom) { self->quit(); },
    [self](status_atom) { return make_status(self, "test child"); },
  };
}

child_spec child(const std::string& name, event_log log,
                 restart_type restart = restart_type::permanent, bool stubborn = false) {
  child_spec spec;
  spec.id = name;
  spec.kind = "test_child";
  spec.restart = restart;
  spec.start = [name, log, stubborn](const child_context& ctx) {
    return ctx.sys.spawn(test_child, name, log, stubborn);
  };
  return spec;
}

// Records the exit reason of the actors it monitors.
struct watcher_state {
  std::vector<caf::error> reasons;
};

caf::behavior watcher(caf::stateful_actor<watcher_state>* self, caf::actor target) {
  self->monitor(target);
  self->set_down_handler([self](caf::down_msg& dm) { self->state.reasons.push_back(dm.reason); });
  return {[](int) {}};
}

class SupervisorTest : public millrace::test::actor_test {
protected:
  event_log log = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<registry> reg = std::make_shared<registry>();

  caf::actor make(supervisor_flags flags, std::vector<child_spec> kids) {
    supervisor_config sc;
    sc.path = "/t";
    sc.flags = flags;
    sc.children = std::move(kids);
    sc.reg = reg;
    auto h = spawn_root_supervisor(sys, std::move(sc));
    run();
    return h;
  }

  caf::actor at(const std::string& path) { return reg->resolve(path); }

  void send_to(const std::string& path, caf::atom_value) = delete;

  template <class Atom>
  void send_to(const std::string& path, Atom a) {
    auto h = at(path);
    ASSERT_TRUE(h) << "no actor at " << path;
    caf::anon_send(h, a);
    run();
  }

  std::vector<std::string> take_log() {
    auto out = *log;
    log->clear();
    return out;
  }

  caf::error watch_reason(caf::actor& w) {
    auto& st = dynamic_cast<caf::stateful_actor<watcher_state>&>(
                 *caf::actor_cast<caf::abstract_actor*>(w))
                 .state;
    return st.reasons.empty() ? caf::error{} : st.reasons.front();
  }

  size_t watch_count(caf::actor& w) {
    return dynamic_cast<caf::stateful_actor<watcher_state>&>(
             *caf::actor_cast<caf::abstract_actor*>(w))
      .state.reasons.size();
  }
};

using strings = std::vector<std::string>;

TEST_F(SupervisorTest, StartsChildrenInOrderAndRegistersThem) {
  auto sup = make({}, {child("a", log), child("b", log), child("c", log)});
  EXPECT_EQ(take_log(), (strings{"start a", "start b", "start c"}));
  for (auto* p : {"/t", "/t/a", "/t/b", "/t/c"})
    EXPECT_TRUE(at(p)) << p;
  auto e = reg->find("/t/b");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, "test_child");
  EXPECT_EQ(e->parent, "/t");
  EXPECT_EQ(e->restarts, 0u);
  stop(sup);
}

TEST_F(SupervisorTest, OneForOneRestartsOnlyTheCrashedChildUnderItsPath) {
  auto sup = make({}, {child("a", log), child("b", log), child("c", log)});
  take_log();
  auto a0 = at("/t/a"), b0 = at("/t/b"), c0 = at("/t/c");
  send_to("/t/b", crash_atom::value);
  EXPECT_EQ(take_log(), (strings{"stop b", "start b"}));
  auto b1 = at("/t/b");
  ASSERT_TRUE(b1);
  EXPECT_NE(b1, b0) << "a restarted child gets a new handle";
  EXPECT_EQ(at("/t/a"), a0);
  EXPECT_EQ(at("/t/c"), c0);
  EXPECT_EQ(reg->find("/t/b")->restarts, 1u);
  stop(sup);
}

TEST_F(SupervisorTest, EscalatesWhenIntensityIsExceededWithinThePeriod) {
  supervisor_flags flags;
  flags.intensity = 1;
  flags.period = 5s;
  auto sup = make(flags, {child("a", log), child("b", log), child("c", log)});
  auto w = sys.spawn(watcher, sup);
  run();
  take_log();
  send_to("/t/b", crash_atom::value); // restart 1 of 1: allowed
  EXPECT_EQ(take_log(), (strings{"stop b", "start b"}));
  advance(4s);                        // still inside the 5 s period
  send_to("/t/b", crash_atom::value); // restart 2: over budget
  drain();
  // All children are stopped in reverse order, then the supervisor exits.
  EXPECT_EQ(take_log(), (strings{"stop b", "stop c", "stop a"}));
  ASSERT_EQ(watch_count(w), 1u);
  EXPECT_EQ(watch_reason(w), caf::make_error(supervision_errc::restart_intensity_exceeded));
  EXPECT_FALSE(at("/t/a"));
  EXPECT_FALSE(at("/t/c"));
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

TEST_F(SupervisorTest, RestartsOutsideThePeriodDoNotAccumulate) {
  supervisor_flags flags;
  flags.intensity = 1;
  flags.period = 5s;
  auto sup = make(flags, {child("a", log)});
  auto w = sys.spawn(watcher, sup);
  run();
  for (int i = 0; i < 5; ++i) {
    send_to("/t/a", crash_atom::value);
    advance(6s); // the previous restart leaves the window
  }
  EXPECT_EQ(watch_count(w), 0u) << "the supervisor must still be alive";
  EXPECT_EQ(reg->find("/t/a")->restarts, 5u);
  stop(sup);
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

TEST_F(SupervisorTest, StopsChildrenInReverseOrderAndExitsWithTheReason) {
  auto sup = make({}, {child("a", log), child("b", log), child("c", log)});
  auto w = sys.spawn(watcher, sup);
  run();
  take_log();
  stop(sup);
  EXPECT_EQ(take_log(), (strings{"stop c", "stop b", "stop a"}));
  ASSERT_EQ(watch_count(w), 1u);
  EXPECT_EQ(watch_reason(w), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

TEST_F(SupervisorTest, KillsAChildThatIgnoresShutdownAfterItsTimeout) {
  auto stubborn = child("b", log, restart_type::permanent, true);
  stubborn.shutdown = 3s;
  auto sup = make({}, {child("a", log), stubborn, child("c", log)});
  take_log();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(take_log(), (strings{"stop c"})) << "b ignores the polite request";
  advance(2999ms);
  EXPECT_TRUE(log->empty()) << "b is not killed before its timeout";
  advance(1ms);
  EXPECT_EQ(take_log(), (strings{"stop b", "stop a"}));
}

TEST_F(SupervisorTest, OneForAllRestartsEveryChildInOrder) {
  supervisor_flags flags;
  flags.strategy = restart_strategy::one_for_all;
  flags.intensity = 3;
  auto sup = make(flags, {child("a", log), child("b", log), child("c", log)});
  take_log();
  send_to("/t/b", crash_atom::value);
  drain();
  EXPECT_EQ(take_log(),
            (strings{"stop b", "stop c", "stop a", "start a", "start b", "start c"}));
  for (auto* p : {"/t/a", "/t/b", "/t/c"})
    EXPECT_EQ(reg->find(p)->restarts, 1u) << p;
  stop(sup);
}

TEST_F(SupervisorTest, RestForOneRestartsTheChildAndThoseStartedAfterIt) {
  supervisor_flags flags;
  flags.strategy = restart_strategy::rest_for_one;
  flags.intensity = 3;
  auto sup = make(flags, {child("a", log), child("b", log), child("c", log), child("d", log)});
  take_log();
  auto a0 = at("/t/a");
  send_to("/t/b", crash_atom::value);
  drain();
  EXPECT_EQ(take_log(), (strings{"stop b", "stop d", "stop c", "start b", "start c", "start d"}));
  EXPECT_EQ(at("/t/a"), a0) << "children started before the crashed one are untouched";
  stop(sup);
}

TEST_F(SupervisorTest, RestartTypesDecideWhetherAChildComesBack) {
  auto sup = make({restart_strategy::one_for_one, 10, 5s},
                  {child("perm", log, restart_type::permanent),
                   child("trans", log, restart_type::transient),
                   child("temp", log, restart_type::temporary)});
  take_log();
  send_to("/t/trans", done_atom::value); // normal exit: a transient child stays down
  EXPECT_EQ(take_log(), (strings{"stop trans"}));
  EXPECT_FALSE(at("/t/trans"));
  send_to("/t/temp", crash_atom::value); // temporary: never restarted
  EXPECT_EQ(take_log(), (strings{"stop temp"}));
  EXPECT_FALSE(at("/t/temp"));
  send_to("/t/perm", done_atom::value); // permanent: back even after a normal exit
  EXPECT_EQ(take_log(), (strings{"stop perm", "start perm"}));
  stop(sup);
}

TEST_F(SupervisorTest, TransientChildIsRestartedAfterACrash) {
  auto sup = make({}, {child("trans", log, restart_type::transient)});
  take_log();
  send_to("/t/trans", crash_atom::value);
  EXPECT_EQ(take_log(), (strings{"stop trans", "start trans"}));
  stop(sup);
}

TEST_F(SupervisorTest, AnEscalatingChildSupervisorIsRestartedByItsParent) {
  supervisor_flags inner_flags;
  inner_flags.intensity = 0; // the first crash escalates
  auto inner = supervisor_spec("inner", inner_flags, {child("x", log)});
  supervisor_flags outer_flags;
  outer_flags.intensity = 5;
  auto sup = make(outer_flags, {child("a", log), inner});
  take_log();
  auto inner0 = at("/t/inner");
  send_to("/t/inner/x", crash_atom::value);
  drain();
  EXPECT_EQ(take_log(), (strings{"stop x", "start x"}));
  auto inner1 = at("/t/inner");
  ASSERT_TRUE(inner1);
  EXPECT_NE(inner0, inner1);
  EXPECT_EQ(reg->find("/t/inner")->restarts, 1u);
  EXPECT_TRUE(at("/t/inner/x"));
  stop(sup);
}

TEST_F(SupervisorTest, ReportsAOneLineStatusWithItsMailboxSize) {
  auto sup = make({}, {child("a", log), child("b", log)});
  caf::scoped_actor self{sys};
  auto req = self->request(sup, caf::infinite, status_atom::value);
  run();
  req.receive(
    [](actor_status& st) {
      EXPECT_NE(st.summary.find("children=2/2"), std::string::npos) << st.summary;
      EXPECT_EQ(st.mailbox, 0u);
    },
    [](caf::error& err) { FAIL() << describe(err); });
  stop(sup);
}

} // namespace
