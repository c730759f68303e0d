// The media-type rule for request bodies: a POST, PUT or PATCH that carries
// a body must say it is JSON. The server applies it before reading the body
// (server_config::require_json_bodies); handlers may call it too.

#pragma once

#include <optional>
#include <string_view>

#include "api/http/api_error.hpp"
#include "api/http/types.hpp"

namespace millrace::api::http {

/// True for "application/json", case-insensitive, with optional parameters
/// ("application/json; charset=utf-8"). A charset other than UTF-8 is
/// refused: the body parser reads UTF-8 only.
bool is_json_content_type(std::string_view value) noexcept;

/// True for the methods whose bodies must be JSON: POST, PUT, PATCH.
bool method_needs_json_body(std::string_view method) noexcept;

/// 415 unsupported_media_type when `method` needs JSON, the request carries
/// a body and `content_type` (null if absent) is not JSON.
std::optional<api_error> check_json_content_type(std::string_view method, bool has_body,
                                                 const std::string* content_type);

/// The same check on a complete request (a body is "present" if not empty).
std::optional<api_error> check_json_content_type(const request& req);

} // namespace millrace::api::http
