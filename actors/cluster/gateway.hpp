// The cluster gateway (/millrace/cluster, server side): published on the
// cluster endpoint through CAF's middleman. A worker node joins with a proof
// of the shared secret (challenge-response, proof.hpp) and gets the
// dispatcher and storage writer to talk to; its slots then register with the
// dispatcher like local ones. The gateway monitors each node's link, so it
// knows which nodes are joined. Interface: actors/protocol/cluster_actors.hpp.

#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "actors/supervision/supervisor.hpp"

namespace millrace::actors {

struct gateway_config {
  /// The shared cluster secret (cluster::read_secret).
  std::string secret;
  /// Address and port of the endpoint; port 0 picks a free one (logged).
  std::string bind = "127.0.0.1";
  uint16_t port = 7700;
  /// Shown to workers and in logs.
  std::string server_name;
};

/// Child spec (id "cluster", permanent). Place it after the dispatcher: a
/// new dispatcher restarts it, and every node joins again.
child_spec gateway_spec(gateway_config cfg);

} // namespace millrace::actors
