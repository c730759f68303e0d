// Tunables of the HTTP server. Defaults suit a public-facing API on one
// machine; the application maps its configuration file onto this struct.

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace millrace::api::http {

struct server_config {
  /// Address to bind, IPv4 or IPv6 literal ("0.0.0.0", "::").
  std::string address = "127.0.0.1";

  /// Port to bind; 0 picks an ephemeral port (see server::port()).
  uint16_t port = 8080;

  /// Threads running the io_context. Handlers run on them, so handlers must
  /// not block.
  unsigned io_threads = 2;

  /// listen() backlog.
  int backlog = 1024;

  // -- request limits --------------------------------------------------------

  /// Largest request body. A Content-Length above it is answered 413 right
  /// after the header, before any of the body is read; a chunked body is
  /// counted as it streams and answered 413 when it crosses the limit.
  std::size_t max_body_bytes = 1024 * 1024;

  /// Largest header section (field lines, not counting the request line);
  /// above it: 431.
  std::size_t max_header_bytes = 16 * 1024;

  /// Most header fields; above it: 431.
  std::size_t max_header_fields = 100;

  /// Longest request target (path and query); above it: 414.
  std::size_t max_url_bytes = 8 * 1024;

  /// POST, PUT and PATCH requests with a body must declare
  /// Content-Type: application/json, else 415 before the body is read.
  bool require_json_bodies = true;

  // -- timeouts --------------------------------------------------------------

  /// From the first byte of a request (or the accept, for a connection's
  /// first request) to the end of its header. Expiry: 408 and close, or a
  /// silent close when no byte arrived.
  std::chrono::milliseconds header_timeout{10'000};

  /// From the end of the header to the end of the body. Expiry: 408, close.
  std::chrono::milliseconds body_timeout{30'000};

  /// How long a keep-alive connection may sit idle between requests.
  std::chrono::milliseconds idle_timeout{60'000};

  /// How long the handler may take to answer. Expiry: 503 "unavailable";
  /// the late answer is dropped.
  std::chrono::milliseconds response_timeout{60'000};

  /// How long writing a response may take (a client that does not read).
  std::chrono::milliseconds write_timeout{30'000};

  /// After an error response that closes the connection, unread input is
  /// drained for up to this long so the client sees the response rather
  /// than a reset.
  std::chrono::milliseconds linger_timeout{2'000};

  /// Default deadline of server::stop() for in-flight requests.
  std::chrono::milliseconds stop_timeout{10'000};

  // -- connection caps -------------------------------------------------------

  /// Open connections in total; further connections are closed at once.
  std::size_t max_connections = 4096;

  /// Open connections from one peer address.
  std::size_t max_connections_per_ip = 256;

  // -- logging ---------------------------------------------------------------

  /// spdlog logger for the access log (debug level) and errors; the default
  /// logger when no logger of this name is registered.
  std::string logger_name = "http";
};

} // namespace millrace::api::http
