// Errors as the HTTP API reports them, and the one table that says which
// error code has which status. Every error response of the server (its own
// 404/405/408/413/... and those of handlers) goes through to_response().

#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/http/types.hpp"

namespace millrace::api::http {

/// An error answer: status, a short snake_case code clients can switch on,
/// a human-readable message, and optionally the JSON pointer of the
/// offending field of the request body (e.g. "/args/x").
struct api_error {
  int status = 500;
  std::string code;
  std::string message;
  std::string field;
};

/// The error codes. Use these constants rather than string literals.
namespace errc {
inline constexpr std::string_view bad_request = "bad_request";         // 400
inline constexpr std::string_view bad_json = "bad_json";               // 400
inline constexpr std::string_view invalid_field = "invalid_field";     // 400
inline constexpr std::string_view invalid_path = "invalid_path";       // 400
inline constexpr std::string_view unauthorized = "unauthorized";       // 401
inline constexpr std::string_view forbidden = "forbidden";             // 403
inline constexpr std::string_view not_found = "not_found";             // 404
inline constexpr std::string_view method_not_allowed = "method_not_allowed"; // 405
inline constexpr std::string_view request_timeout = "request_timeout"; // 408
inline constexpr std::string_view conflict = "conflict";               // 409
inline constexpr std::string_view payload_too_large = "payload_too_large"; // 413
inline constexpr std::string_view uri_too_long = "uri_too_long";       // 414
inline constexpr std::string_view unsupported_media_type = "unsupported_media_type"; // 415
inline constexpr std::string_view unprocessable = "unprocessable";     // 422
inline constexpr std::string_view rate_limited = "rate_limited";       // 429
inline constexpr std::string_view headers_too_large = "headers_too_large"; // 431
inline constexpr std::string_view internal = "internal";               // 500
inline constexpr std::string_view overloaded = "overloaded";           // 429
inline constexpr std::string_view unavailable = "unavailable";         // 503
} // namespace errc

/// One row of the code -> status table.
struct error_code_info {
  std::string_view code;
  int status;
  std::string_view meaning;
};

/// The table itself: every code the API may answer with, in status order.
const std::vector<error_code_info>& error_codes();

/// Status of `code`; 500 for a code missing from the table (a bug).
int status_of(std::string_view code) noexcept;

/// Builds an error whose status comes from the table.
api_error make_error(std::string_view code, std::string message, std::string field = {});

/// The JSON body: {"error": code, "message": text, "field": pointer}, with
/// "field" left out when empty. Invalid UTF-8 in the text becomes U+FFFD.
std::string error_body(const api_error& e);

/// A complete response for `e`. A 405 from the router carries an Allow
/// header added by the caller; see router.hpp.
response to_response(const api_error& e);

/// Standard reason phrase of an HTTP status ("Not Found"), "" if unknown.
std::string_view reason_phrase(int status) noexcept;

} // namespace millrace::api::http
