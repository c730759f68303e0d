// Hashing and randomness for the API: token digests, script hashes, cursor
// signatures (OpenSSL libcrypto).

#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace millrace::api {

/// Lower-case hex of SHA-256(data).
std::string sha256_hex(std::string_view data);

/// Lower-case hex of HMAC-SHA-256(key, data).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// `n` bytes from the OS CSPRNG, as lower-case hex (2n characters). Throws
/// std::runtime_error when the generator fails.
std::string random_hex(size_t n);

/// A new API token: "mr_" followed by 40 base62 characters (238 bits).
std::string new_token();

/// Base64url without padding (RFC 4648 §5), and back (padding accepted);
/// std::nullopt for anything that is not base64url.
std::string base64url_encode(std::string_view data);
std::optional<std::string> base64url_decode(std::string_view text);

/// Constant-time comparison of two strings of the same length.
bool equal_ct(std::string_view a, std::string_view b);

} // namespace millrace::api
