// The join proof: a challenge-response over the shared cluster secret, so the
// secret never crosses the network (OpenSSL's HMAC-SHA256 and RAND_bytes).

#pragma once

#include <cstdint>
#include <string>

namespace millrace::actors::cluster {

/// 16 random bytes, hex.
std::string make_challenge();

/// hex HMAC-SHA256(secret, challenge "\n" node "\n" protocol).
std::string join_proof(const std::string& secret, const std::string& challenge,
                       const std::string& node, int32_t protocol);

/// Constant-time comparison.
bool same_proof(const std::string& a, const std::string& b);

/// Reads the cluster secret: the file `path` when not empty (trailing
/// whitespace dropped), else the environment variable MILLRACE_CLUSTER_SECRET.
/// Throws std::runtime_error naming what is missing, unreadable, too short
/// (under 16 bytes) or readable by others (the file must not be group- or
/// world-readable).
std::string read_secret(const std::string& path);

} // namespace millrace::actors::cluster
