// Actor-system settings of a process that takes part in a cluster (server or
// worker), and what a worker node says about itself when it joins.

#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

#include "actors/protocol/types/cluster.hpp"

namespace millrace::actors {

/// Loads CAF's middleman into `cfg` with the given heartbeat interval and
/// connection timeout: a node that sends nothing for `timeout` is dropped,
/// and monitors on its actors fire (a hung node is detected by this; a
/// killed one at once, by its closed connection).
void enable_cluster(caf::actor_system_config& cfg, std::chrono::milliseconds heartbeat,
                    std::chrono::milliseconds timeout);

/// This machine as a node: the name (empty: the host name), version,
/// protocol, tags, slots, online CPUs and physical memory.
node_info this_node(std::string name, std::vector<std::string> tags, int32_t slots);

} // namespace millrace::actors
