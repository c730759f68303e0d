// Request-target decoding: origin-form "/path?query" into a decoded path,
// its decoded segments and the decoded query parameters. Everything that
// reaches the router and the handlers has passed through here.

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http/api_error.hpp"

namespace millrace::api::http {

/// A target after decoding.
struct decoded_target {
  /// Decoded path ("/api/w/a b/jobs"): valid UTF-8, no NUL, no "." or ".."
  /// segment, also none produced by decoding (%2e%2e, ..%2f).
  std::string path;
  /// One entry per raw '/'-separated segment, each decoded on its own, so an
  /// encoded '/' (%2F) stays inside its segment where the router can see it.
  /// "/" gives {""}, "/a/" gives {"a", ""}.
  std::vector<std::string> segments;
  /// Decoded query parameters in order ('+' is a space); "a" gives {"a", ""}.
  std::vector<std::pair<std::string, std::string>> query;
  /// The raw query (after '?'), for logs that must redact it.
  std::string raw_query;
};

/// Percent-decodes `in` and appends to `out`. False on a malformed escape
/// ("%", "%4", "%zz"). With `plus_as_space`, '+' becomes ' ' (query strings).
bool percent_decode(std::string_view in, std::string& out, bool plus_as_space);

/// Decodes an origin-form target. Errors: 400 invalid_path for the path
/// (malformed escape, NUL, invalid UTF-8, dot segment, not starting with
/// '/'), 400 bad_request for the query (same checks minus dot segments).
std::optional<api_error> decode_target(std::string_view target, decoded_target& out);

} // namespace millrace::api::http
