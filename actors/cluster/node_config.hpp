// Actor-system settings of a process that takes part in a cluster (server or
// worker), and what a worker node says about itself when it joins.

#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "caf/fwd.hpp"
#include "caf/io/middleman_actor.hpp"

#include "actors/protocol/types/cluster.hpp"

namespace millrace::actors {

/// TLS between nodes (CAF's OpenSSL module): every node has a certificate
/// and key, and accepts peers whose certificate the CA file vouches for.
struct cluster_tls {
  std::string certificate; ///< PEM file
  std::string key;         ///< PEM file
  std::string cafile;      ///< PEM file of the CA(s) peers are checked against
};

/// Loads CAF's middleman into `cfg` with the given heartbeat interval and
/// connection timeout: a node that sends nothing for `timeout` is dropped,
/// and monitors on its actors fire (a hung node is detected by this; a
/// killed one at once, by its closed connection). With `tls`, the OpenSSL
/// module too: the gateway and link then publish and connect through it.
void enable_cluster(caf::actor_system_config& cfg, std::chrono::milliseconds heartbeat,
                    std::chrono::milliseconds timeout, const cluster_tls* tls = nullptr);

/// The middleman actor that publishes and connects: CAF's OpenSSL manager's
/// when TLS is on, else the plain middleman's.
caf::io::middleman_actor cluster_transport(caf::actor_system& sys);

/// This machine as a node: the name (empty: the host name), version,
/// protocol, tags, slots, online CPUs and physical memory.
node_info this_node(std::string name, std::vector<std::string> tags, int32_t slots);

} // namespace millrace::actors
