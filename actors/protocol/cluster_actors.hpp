// Message interface of the cluster gateway: the one actor a server publishes
// on its cluster endpoint. Workers join through it and learn from its answer
// where their slots report (the dispatcher) and where logs go (the storage
// writer). Behavior: actors/cluster/gateway.cpp.

#pragma once

#include <string>
#include <vector>

#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "actors/protocol/type_ids.hpp"

namespace millrace::actors {

/// - `hello` (node name): a fresh single-use challenge for the join proof.
/// - `join`: answered with join_reply, or a cluster_errc error that says
///   why the node is refused (wrong_secret, incompatible_version, name_taken,
///   unavailable).
/// - `drain` (node name, from that node's link only): the node takes no new
///   jobs; its running jobs end normally. Answered with the number of slots
///   the dispatcher drained.
/// - `nodes`: the joined nodes.
using gateway_actor = caf::typed_actor<
  caf::replies_to<hello_atom, std::string>::with<std::string>,
  caf::replies_to<join_atom, join_request>::with<join_reply>,
  caf::replies_to<drain_atom, std::string>::with<int32_t>,
  caf::replies_to<nodes_atom>::with<std::vector<node_entry>>,
  caf::replies_to<status_atom>::with<actor_status>>;

} // namespace millrace::actors
