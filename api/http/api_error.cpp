#include "api/http/api_error.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/http/utf8.hpp"

namespace millrace::api::http {

const std::vector<error_code_info>& error_codes() {
  static const std::vector<error_code_info> table = {
    {errc::bad_request, 400, "malformed request (syntax, framing, query string)"},
    {errc::bad_json, 400, "request body is not a strict JSON object"},
    {errc::invalid_field, 400, "a body field is missing, of the wrong type or out of range"},
    {errc::invalid_path, 400, "path is not valid UTF-8, has NUL, dot segments or an encoded '/'"},
    {"invalid_input", 400, "a value the database refused (the message says which)"},
    {"invalid_script", 400, "the script does not parse or has no main"},
    {"invalid_cursor", 400, "a list cursor that this server did not issue for this query"},
    {errc::unauthorized, 401, "no valid credentials"},
    {errc::forbidden, 403, "credentials valid, action not allowed"},
    {errc::not_found, 404, "no such route or object"},
    {errc::method_not_allowed, 405, "route exists, method does not (see Allow)"},
    {errc::request_timeout, 408, "header or body not received in time"},
    {errc::conflict, 409, "state does not allow the action"},
    {errc::payload_too_large, 413, "body over the limit"},
    {errc::uri_too_long, 414, "request target over the limit"},
    {errc::unsupported_media_type, 415, "body is not application/json"},
    {errc::unprocessable, 422, "well-formed but semantically invalid"},
    {"idempotency_conflict", 422, "an Idempotency-Key reused with a different request"},
    {errc::rate_limited, 429, "too many requests (see Retry-After)"},
    {errc::overloaded, 429, "the workspace has too many unfinished jobs (see Retry-After)"},
    {errc::headers_too_large, 431, "header section too large or too many fields"},
    {errc::internal, 500, "a bug; logged"},
    {"job_failure", 500, "run_wait_result: the job failed (its error is in the body)"},
    {"job_canceled", 500, "run_wait_result: the job was canceled"},
    {"job_timed_out", 500, "run_wait_result: the job ran past its timeout"},
    {errc::unavailable, 503, "shutting down, or the handler did not answer in time"},
    {"wait_timeout", 504, "run_wait_result: the job did not finish within api.max_wait (it goes on)"},
  };
  return table;
}

int status_of(std::string_view code) noexcept {
  for (auto& row : error_codes())
    if (row.code == code)
      return row.status;
  return 500;
}

api_error make_error(std::string_view code, std::string message, std::string field) {
  return api_error{status_of(code), std::string{code}, std::move(message), std::move(field)};
}

std::string error_body(const api_error& e) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  auto put = [&w](std::string_view s) {
    if (valid_utf8(s)) {
      w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    } else {
      auto clean = sanitize_utf8(s);
      w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
    }
  };
  w.StartObject();
  w.Key("error");
  put(e.code.empty() ? std::string_view{errc::internal} : std::string_view{e.code});
  w.Key("message");
  put(e.message);
  if (!e.field.empty()) {
    w.Key("field");
    put(e.field);
  }
  w.EndObject();
  return std::string{buf.GetString(), buf.GetSize()};
}

response to_response(const api_error& e) {
  response r;
  r.status = e.status;
  r.content_type = "application/json";
  r.body = error_body(e);
  return r;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

} // namespace millrace::api::http
