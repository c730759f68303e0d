// Internal to actors/flow: the flow slot pool (flow_pool.cpp) and what it
// needs from flow_slot.cpp. Not part of any interface.

#pragma once

#include <memory>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

#include "actors/flow/flow_engine.hpp"

namespace millrace::actors {

class registry;

namespace flow_engine {

/// Spawns one flow slot linked to `pool`, registered with the dispatcher for
/// `lanes` (the flow tag and/or the sub-flow lane). It tells the pool
/// `run_atom, name` when it takes a job and `ready_atom, name` when it holds
/// none again.
caf::actor spawn_flow_slot(caf::local_actor* pool, const flow_engine_config& cfg,
                           std::string name, std::vector<std::string> lanes,
                           std::shared_ptr<registry> reg, std::string path);

/// Tells the pool that `who` (an approval waiter, a long timer) parks its
/// flow run until it exits: the run's slot then does not count against
/// flows.slots. No-op without a pool.
void park_run(const caf::actor& who, const registry& reg);

/// Idle slots the pool keeps for top-level flows (at most flows.slots).
constexpr size_t spare_slots = 2;

} // namespace flow_engine
} // namespace millrace::actors
