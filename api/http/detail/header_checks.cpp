#include "api/http/detail/header_checks.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace millrace::api::http::detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

beast::string_view trim(beast::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

std::optional<api_error> check_header(const request_parser& p, const server_config& cfg) {
  const auto& msg = p.get();
  if (msg.target().size() > cfg.max_url_bytes)
    return make_error(errc::uri_too_long,
                      "request target longer than " + std::to_string(cfg.max_url_bytes) + " bytes");
  std::size_t fields = 0, bytes = 0, content_length = 0, transfer_encoding = 0, host = 0;
  bool cl_list = false, te_chunked_only = true;
  for (const auto& f : msg) {
    ++fields;
    bytes += f.name_string().size() + f.value().size() + 4; // ": " and CRLF
    switch (f.name()) {
      case bhttp::field::content_length:
        ++content_length;
        cl_list = cl_list || f.value().find(',') != beast::string_view::npos;
        break;
      case bhttp::field::transfer_encoding:
        ++transfer_encoding;
        te_chunked_only = te_chunked_only && beast::iequals(trim(f.value()), "chunked");
        break;
      case bhttp::field::host:
        ++host;
        break;
      default:
        break;
    }
  }
  if (fields > cfg.max_header_fields)
    return make_error(errc::headers_too_large,
                      "more than " + std::to_string(cfg.max_header_fields) + " header fields");
  if (bytes > cfg.max_header_bytes)
    return make_error(errc::headers_too_large, "header section larger than "
                                                 + std::to_string(cfg.max_header_bytes) + " bytes");
  if (content_length > 1 || cl_list)
    return make_error(errc::bad_request, "duplicate Content-Length");
  if (transfer_encoding > 0 && content_length > 0)
    return make_error(errc::bad_request, "both Content-Length and Transfer-Encoding");
  if (transfer_encoding > 1 || (transfer_encoding == 1 && !te_chunked_only))
    return make_error(errc::bad_request, "unsupported Transfer-Encoding (only \"chunked\")");
  if (transfer_encoding > 0 && msg.version() < 11)
    return make_error(errc::bad_request, "Transfer-Encoding in an HTTP/1.0 request");
  if (msg.version() >= 11 && host != 1)
    return make_error(errc::bad_request, "HTTP/1.1 request needs exactly one Host header");
  return std::nullopt;
}

api_error read_error(const beast::error_code& ec, const request_parser& p,
                     const server_config& cfg) {
  if (ec == bhttp::error::header_limit) {
    // Beast consumed the request line if it parsed it: a missing or long
    // target means the request line itself was over the limit.
    auto target = p.get().target();
    if (target.empty() || target.size() > cfg.max_url_bytes)
      return make_error(errc::uri_too_long, "request target longer than "
                                              + std::to_string(cfg.max_url_bytes) + " bytes");
    return make_error(errc::headers_too_large, "header section larger than "
                                                 + std::to_string(cfg.max_header_bytes) + " bytes");
  }
  if (ec == bhttp::error::body_limit)
    return make_error(errc::payload_too_large,
                      "body larger than " + std::to_string(cfg.max_body_bytes) + " bytes");
  if (ec == bhttp::error::bad_content_length)
    return make_error(errc::bad_request, "bad or conflicting Content-Length");
  if (ec == bhttp::error::bad_transfer_encoding)
    return make_error(errc::bad_request, "bad or conflicting Transfer-Encoding");
  if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream)
    return make_error(errc::bad_request, "connection closed before the end of the request");
  if (ec == bhttp::error::bad_chunk || ec == bhttp::error::bad_chunk_extension)
    return make_error(errc::bad_request, "malformed chunked body");
  if (ec == bhttp::error::bad_version)
    return make_error(errc::bad_request, "unsupported HTTP version or malformed request line");
  return make_error(errc::bad_request, "malformed request: " + ec.message());
}

} // namespace millrace::api::http::detail
