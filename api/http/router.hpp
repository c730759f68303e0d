// Routes requests to handlers by method and path pattern.
//
// Patterns are '/'-separated segments: literals, `{name}` (exactly one
// non-empty segment) and, as the last segment only, `{name*}` (the rest of
// the path, one or more segments joined with '/', e.g. "f/folder/script").
// At each level a literal beats `{name}`, which beats `{name*}`; matching
// backtracks, so "/a/b/c" can match "/a/{x}/c" when "/a/b/d" exists.
//
// Threads: add() before the server starts; match() is const and safe to
// call from any number of threads afterwards.

#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/api_error.hpp"
#include "api/http/types.hpp"

namespace millrace::api::http {

/// One registered route, as listed for the OpenAPI check.
struct route_info {
  std::string method;  // "GET"
  std::string pattern; // "/api/w/{workspace}/jobs/run/p/{path*}"
};

class router {
public:
  enum class outcome {
    matched,            ///< `target`, `route` and `match` are set.
    not_found,          ///< 404: no pattern matches the path.
    method_not_allowed, ///< 405: the path matches, the method does not; see `allow`.
    bad_path,           ///< 400: a parameter would carry an encoded '/' or an empty segment.
  };

  struct result {
    outcome kind = outcome::not_found;
    const handler* target = nullptr;
    std::size_t route = 0; ///< Index into routes(), when matched.
    route_match match;     ///< Pattern and decoded parameters, when matched.
    std::string allow;     ///< "GET, POST" for a 405.
    api_error error;       ///< The error to answer with, when not matched.
  };

  router();
  ~router();
  router(router&&) noexcept;
  router& operator=(router&&) noexcept;

  /// Registers `h` for `method` (case-sensitive, e.g. "GET") and `pattern`.
  /// Throws std::invalid_argument for a malformed pattern (not starting with
  /// '/', an empty segment, a bad or repeated parameter name, `{x*}` not
  /// last) or when the same method is already registered for the same shape.
  void add(std::string method, std::string pattern, handler h);

  /// Matches decoded segments (decoded_target::segments, see uri.hpp).
  result match(std::string_view method, const std::vector<std::string>& segments) const;

  /// Decodes `target` (path and query) first; decoding errors give bad_path.
  result match_target(std::string_view method, std::string_view target) const;

  /// Every route, in registration order.
  std::vector<route_info> routes() const;

  std::size_t size() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace millrace::api::http
