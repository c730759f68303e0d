// The one place the api actor meets the HTTP server (api/http/): routes in,
// calls out. Keeps Beast out of every other file.

#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/service/api_actor.hpp"
#include "api/service/call.hpp"
#include "api/service/endpoint.hpp"

namespace millrace::api {

class http_bridge {
public:
  /// Starts listening; every request of a known route becomes an api_call
  /// handed to `deliver` (on an io thread: `deliver` must not block).
  /// Throws std::runtime_error when the address cannot be bound.
  http_bridge(const service_config& cfg, const std::vector<endpoint>& routes,
              std::function<void(call_ptr)> deliver);
  ~http_bridge();

  uint16_t port() const;
  /// Prometheus text of the server's own metrics (requests, latency).
  std::string render_metrics() const;
  /// Stops accepting, lets requests in flight finish (bounded), then calls
  /// `done` from a thread of its own.
  void stop_async(std::function<void()> done);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace millrace::api
