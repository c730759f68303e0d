// Checks on a parsed request header that Beast does not make, and the
// mapping of Beast's read errors to api_errors. Internal (Beast types).

#pragma once

#include <optional>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http/api_error.hpp"
#include "api/http/server_config.hpp"

namespace millrace::api::http::detail {

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Limits and framing of a complete header. Any error returned here closes
/// the connection after the answer (framing cannot be trusted any more).
///
/// Beast 1.74 by itself already refuses: Content-Length after
/// "Transfer-Encoding: chunked", Transfer-Encoding after Content-Length,
/// two Transfer-Encoding fields, differing Content-Length values. It lets
/// through (and this refuses): the same Content-Length twice or as a list
/// ("5, 5"), "Transfer-Encoding: gzip" before a Content-Length, transfer
/// codings other than a lone "chunked" (the body would otherwise be read as
/// the next request), HTTP/1.1 without exactly one Host.
std::optional<api_error> check_header(const request_parser& p, const server_config& cfg);

/// The answer to a failed header or body read (not for timeouts, which the
/// session knows about, nor for a clean end of stream).
api_error read_error(const boost::beast::error_code& ec, const request_parser& p,
                     const server_config& cfg);

} // namespace millrace::api::http::detail
