// The cluster link (/millrace/link, worker side): joins this worker node to a
// server and keeps it joined. It connects to the server's cluster endpoint
// (CAF's middleman), proves the shared secret (proof.hpp), and puts the
// server's dispatcher and storage writer into the local registry, where the
// node's slots find them; then it tells every slot to register. When the
// server or the connection goes away it takes them out again and reconnects
// with jittered exponential backoff, trying each server address in turn
// (active and standby). A refusal that retrying cannot fix (wrong secret,
// incompatible version) ends the worker.

#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/protocol/types/cluster.hpp"
#include "actors/supervision/supervisor.hpp"

namespace millrace::actors {

struct link_config {
  /// Server cluster endpoints, tried in order.
  std::vector<std::pair<std::string, uint16_t>> servers;
  std::string secret;
  node_info node;
  /// Called once, on the link's thread, when a server refuses this node for
  /// good (the text says why). The worker then stops.
  std::function<void(const std::string&)> on_fatal;
  /// Set once the node drains and none of its slots runs anything.
  std::shared_ptr<std::atomic<bool>> drained = std::make_shared<std::atomic<bool>>(false);
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  /// Bound of each step of the handshake (connect, hello, join).
  std::chrono::milliseconds handshake_timeout{5000};
};

/// Child spec (id "link", permanent). Start it after the worker node.
/// `drain_atom` sent to it drains the node.
child_spec link_spec(link_config cfg);

/// Parses "host:port[,host:port...]" (`any_port`: port 0 allowed, for a
/// listen address). Throws std::invalid_argument naming the bad entry.
std::vector<std::pair<std::string, uint16_t>> parse_servers(const std::string& text,
                                                            bool any_port = false);

} // namespace millrace::actors
