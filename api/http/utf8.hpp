// UTF-8 validation and the two text clean-ups the HTTP layer needs: making
// error messages valid JSON strings, and making request text safe to log.

#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace millrace::api::http {

/// True if `s` is well-formed UTF-8 (RFC 3629): no overlong forms, no
/// surrogates (U+D800..U+DFFF), nothing above U+10FFFF. NUL is valid here;
/// callers that must refuse it check separately.
bool valid_utf8(std::string_view s) noexcept;

/// Offset of the first byte that makes `s` ill-formed, or `s.size()`.
std::size_t utf8_error_offset(std::string_view s) noexcept;

/// Copy of `s` where every ill-formed sequence is replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);

/// Copy of `s` for a log line: bytes outside printable ASCII (controls, DEL,
/// non-ASCII, quotes and backslash) become \xNN, and the result is cut at
/// `max_bytes` with a trailing "...". No log injection through CR/LF.
std::string escape_for_log(std::string_view s, std::size_t max_bytes = 512);

} // namespace millrace::api::http
