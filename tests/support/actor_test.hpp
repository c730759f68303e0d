// A GoogleTest fixture for deterministic actor tests on CAF 0.17's test
// coordinator: one thread, jobs run only when the test says so, and a virtual
// clock that moves only with advance_time(). No sleeps, no real threads.

#pragma once

#include <gtest/gtest.h>

#include "caf/all.hpp"
#include "caf/scheduler/test_coordinator.hpp"

#include "actors/system/actor_config.hpp"

namespace millrace::test {

struct test_actor_config : actors::millrace_config {
  test_actor_config() : millrace_config(1) {
    set("scheduler.policy", caf::atom("testing"));
  }
};

class actor_test : public ::testing::Test {
protected:
  test_actor_config cfg; // must outlive sys
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());

  /// Runs every pending job, firing no timers.
  void run() { sched.run(); }

  /// Moves the virtual clock forward, fires what is due and runs the jobs.
  void advance(caf::timespan d) {
    sched.advance_time(d);
    sched.run();
  }

  /// Stops `h` (user_shutdown) and runs until everything settled.
  void stop(const caf::actor& h) {
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    drain();
  }

  void drain() {
    do
      sched.run();
    while (sched.trigger_timeouts() > 0 || sched.has_job());
  }

  void TearDown() override { drain(); }
};

} // namespace millrace::test
