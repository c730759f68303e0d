// Error codes of the cluster handshake (actors/cluster/). Registered with CAF
// in errors.hpp, so a worker renders the server's refusal as text.

#pragma once

#include <cstdint>
#include <string>

namespace millrace::actors {

enum class cluster_errc : uint8_t {
  none = 0,
  /// Indicates a join whose proof does not match the server's cluster secret
  /// (or a stale or unknown challenge).
  wrong_secret = 1,
  /// Indicates a worker and server of different cluster protocol versions.
  incompatible_version = 2,
  /// Indicates a join under a node name that another live node holds.
  name_taken = 3,
  /// Indicates a join that cannot be served now (the server is stopping, or
  /// its dispatcher or storage is not running); retry later.
  unavailable = 4,
  /// Indicates a node that describes itself wrongly: a bad or reserved
  /// name, no slots, no tags.
  invalid_node = 5,
};

/// @relates cluster_errc
std::string to_string(cluster_errc x);

/// Whether a worker should give up (true) or retry (false) after `x`.
inline bool is_fatal(cluster_errc x) {
  return x == cluster_errc::wrong_secret || x == cluster_errc::incompatible_version
         || x == cluster_errc::invalid_node;
}

} // namespace millrace::actors
