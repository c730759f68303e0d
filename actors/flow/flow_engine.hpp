// The flow engine: a supervisor (/millrace/flows) of a flow slot pool. Each
// slot serves the flow lanes like a worker slot serves a language tag, and
// runs one flow attempt at a time as a child flow_run actor; every branch and
// loop iteration in flight is a sequence actor under it. The pool grows and
// shrinks the slots. See actors/flow/README.md.

#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "caf/timespan.hpp"

#include "actors/supervision/supervisor.hpp"

namespace millrace::expr {
class evaluator;
} // namespace millrace::expr

namespace millrace::actors {

struct flow_engine_config {
  /// Node name, part of lease owners ("<node>/flow-<n>").
  std::string node = "local";
  /// Top-level flow runs that make progress at once on this node (each
  /// waits for its steps, so this bounds concurrent flows, not CPU). Runs
  /// parked on an approval or a long sleep, and sub-flows, do not count:
  /// the slot pool grows for them (flow_pool.cpp).
  size_t slots = 64;
  /// How often a running flow's lease is renewed (a third of the lease).
  caf::timespan renew_every = std::chrono::seconds{10};
  /// Shared by every flow: evaluates the JavaScript expressions.
  std::shared_ptr<expr::evaluator> eval;
};

/// The flows supervisor and its slot pool, for root_config::extra.
child_spec flow_engine_spec(flow_engine_config cfg);

/// Flow slots the pool starts with (idle top-level spares and one for
/// sub-flows): what a test waits for before the engine is ready.
size_t initial_flow_slots(const flow_engine_config& cfg);

} // namespace millrace::actors
