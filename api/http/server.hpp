// The HTTP/1.1 server: Boost.Beast underneath, none of it in this header.
//
//   metrics::registry reg;
//   server srv{cfg, reg};
//   srv.add_route("GET", "/api/version", [](request&&, route_match&&, responder r) {
//     r(response{200, "application/json", R"({"version":"1"})", {}});
//   });
//   srv.start();            // binds; srv.port() is the bound port
//   ...
//   srv.stop();             // graceful: stop accepting, finish in-flight, close
//
// Threads: add_route() before start(). start() and stop() from one control
// thread, never from a handler. Handlers run on an io thread and must not
// block; the responder may be called from any thread (types.hpp).

#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/http/metrics.hpp"
#include "api/http/router.hpp"
#include "api/http/server_config.hpp"
#include "api/http/types.hpp"

namespace millrace::api::http {

class server {
public:
  /// The server records its metrics in `metrics`, which must outlive it:
  ///   millrace_http_requests_total{route,method,status}          counter
  ///   millrace_http_request_duration_seconds{route}              histogram
  ///   millrace_http_connections_open                             gauge
  ///   millrace_http_connections_rejected_total{reason}           counter
  ///   millrace_http_responders_dropped_total                     counter
  /// `route` is the matched pattern, or "unmatched".
  server(server_config cfg, metrics::registry& metrics);
  ~server(); ///< Stops (stop_timeout) if still running.

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Registers a route (see router.hpp for patterns). Throws
  /// std::invalid_argument for bad patterns, std::logic_error once started.
  /// `any_body`: the route takes bodies of any Content-Type (it checks them
  /// itself), even with server_config::require_json_bodies.
  void add_route(std::string method, std::string pattern, handler h, bool any_body = false);

  /// Every registered route, in registration order.
  std::vector<route_info> routes() const;

  /// Binds, listens and starts the io threads. Throws std::system_error if
  /// the address cannot be bound, std::logic_error if already started.
  void start();

  /// The bound port (useful with port 0); 0 before start().
  uint16_t port() const noexcept;

  /// Graceful stop: closes the listener, closes idle connections, lets
  /// requests in flight finish (their responses carry Connection: close)
  /// until `deadline`, then closes whatever is left and joins the io
  /// threads. Idempotent. Must not be called from an io thread.
  void stop(std::chrono::milliseconds deadline);
  void stop();

  /// Connections currently open.
  std::size_t connections() const;

  const server_config& config() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A handler that answers with `reg.render()` (for GET /metrics).
handler metrics_handler(const metrics::registry& reg);

} // namespace millrace::api::http
