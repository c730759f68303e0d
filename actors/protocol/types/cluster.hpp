// The vocabulary of the worker cluster: what a worker node says about itself
// when it joins, and what the server answers. Plain C++ plus CAF handles.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor.hpp"

namespace millrace::actors {

/// Bumped whenever a message of the cluster path changes shape (the type-ID
/// block, job_assignment, slot_info, ...). Server and worker must agree.
// 2: same_worker (pin, unpin, job_assignment::shared_folder);
// 3: job_assignment::priority, sweep.
constexpr int32_t cluster_protocol = 3;

/// A worker node, as it describes itself.
/// A worker node's name: 1-64 of letters, digits, - _ . (it prefixes slot
/// names and lease owners, and pins same_worker steps).
inline bool valid_node_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
          || c == '_' || c == '.'))
      return false;
  return true;
}

struct node_info {
  /// Unique in the cluster; the prefix of its slots' names and so of the
  /// lease owners of the attempts it runs.
  std::string name;
  /// millrace version of the node (informational).
  std::string version;
  int32_t protocol = cluster_protocol;
  std::vector<std::string> tags;
  int32_t slots = 0;
  int32_t cpus = 0;
  int64_t memory_bytes = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(x.name, x.version, x.protocol, x.tags, x.slots, x.cpus, x.memory_bytes);
}

/// A join. `proof` is hex HMAC-SHA256(secret, challenge "\n" name "\n"
/// protocol) for the challenge the server just gave: the secret itself never
/// crosses the network. `link` is the node's cluster link, monitored by the
/// server for as long as the node is joined.
struct join_request {
  node_info node;
  std::string challenge;
  std::string proof;
  caf::actor link;
  /// The node drains (it rejoins while draining): its slots get no jobs.
  bool draining = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_request& x) {
  return f(x.node, x.challenge, x.proof, x.link, x.draining);
}

/// The server's answer to a join: where slots report and logs go. Handles
/// as untyped actors (cast on the worker to the interfaces of
/// job_actors.hpp and storage_actor.hpp).
struct join_reply {
  std::string server_name;
  std::string server_version;
  caf::actor dispatcher;
  caf::actor storage_writer;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_reply& x) {
  return f(x.server_name, x.server_version, x.dispatcher, x.storage_writer);
}

/// A joined node as the server sees it.
struct node_entry {
  node_info info;
  int64_t joined_ms = 0; ///< wall clock, ms since the Unix epoch
  bool draining = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_entry& x) {
  return f(x.info, x.joined_ms, x.draining);
}

} // namespace millrace::actors
