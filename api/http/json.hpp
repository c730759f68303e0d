// Strict JSON for request bodies (RapidJSON underneath). A body must be one
// JSON object; everything JSON parsers disagree on is refused with 400
// bad_json and a message that names the problem and its byte offset:
// truncation, trailing garbage, comments, trailing commas, single quotes,
// duplicate keys at any depth, nesting deeper than the limit, NaN/Infinity,
// numbers beyond a double (1e999), lone surrogates, raw control characters,
// invalid UTF-8, a byte order mark, a top-level value that is not an object,
// NUL bytes, and "\u0000" inside strings (PostgreSQL's jsonb cannot store it).
// Time is linear in the size of the body.

#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include <rapidjson/document.h>

#include "api/http/result.hpp"

namespace millrace::api::http {

/// Limits of parse_json_object().
struct json_limits {
  /// Deepest nesting of objects and arrays; the top-level object is depth 1.
  std::size_t max_depth = 64;
  /// Whether the top-level value must be an object (else any JSON value).
  bool object_only = true;
};

/// A parsed JSON object. Strings of the document point into a private copy
/// of the text (in-situ parsing) that this object owns: keep it alive as
/// long as you use root(). Movable, not copyable.
class json_body {
public:
  json_body(json_body&&) noexcept = default;
  json_body& operator=(json_body&&) noexcept = default;

  /// The top-level object.
  const rapidjson::Value& root() const noexcept {
    return *doc_;
  }
  /// The document, e.g. to move parts of it elsewhere (use its allocator).
  rapidjson::Document& doc() noexcept {
    return *doc_;
  }

private:
  friend result<json_body> parse_json_object(std::string_view, const json_limits&);
  json_body() = default;
  std::unique_ptr<char[]> text_;
  std::unique_ptr<rapidjson::Document> doc_;
};

/// Parses `text`, which must be exactly one JSON object (surrounding JSON
/// whitespace allowed; any one value with json_limits::object_only false). On failure: 400 bad_json, e.g. "invalid JSON at byte
/// 7: duplicate key \"a\"".
result<json_body> parse_json_object(std::string_view text, const json_limits& limits = {});

} // namespace millrace::api::http
