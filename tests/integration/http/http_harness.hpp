// Test harness for the HTTP server: a server on 127.0.0.1:0 with small
// timeouts, a Beast sync client for well-formed requests, and a raw TCP
// connection for malformed ones (smuggling, slowloris, limits).

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http/metrics.hpp"
#include "api/http/server.hpp"

namespace millrace::test::http {

namespace mh = millrace::api::http;

/// Small, test-friendly limits and timeouts.
mh::server_config test_config();

/// A started server. Routes are added by the test before start().
class test_server {
public:
  explicit test_server(mh::server_config cfg = test_config());
  ~test_server();
  mh::server& operator*() {
    return *srv_;
  }
  mh::server* operator->() {
    return srv_.get();
  }
  void start();
  uint16_t port() const {
    return srv_->port();
  }
  mh::metrics::registry& metrics() {
    return reg_;
  }
  /// Value of a counter sample line, e.g.
  /// `millrace_http_requests_total{route="/x",method="GET",status="200"}`; 0 if absent.
  double sample(std::string_view series);

private:
  mh::metrics::registry reg_;
  std::unique_ptr<mh::server> srv_;
};

struct reply {
  int status = 0; ///< 0: no response (closed or timed out)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// First header value (name case-insensitive), "" if absent.
  std::string header(std::string_view name) const;
};

/// A keep-alive connection driven by Beast's synchronous client API.
class client {
public:
  explicit client(uint16_t port);
  ~client();
  reply request(std::string method, std::string target, std::string body = {},
                std::vector<std::pair<std::string, std::string>> headers = {},
                unsigned version = 11);
  reply get(std::string target) {
    return request("GET", std::move(target));
  }
  reply post(std::string target, std::string body) {
    return request("POST", std::move(target), std::move(body),
                   {{"Content-Type", "application/json"}});
  }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A raw TCP connection with timeouts on every read.
class raw_conn {
public:
  explicit raw_conn(uint16_t port);
  ~raw_conn();
  raw_conn(const raw_conn&) = delete;
  raw_conn& operator=(const raw_conn&) = delete;

  /// Writes all bytes; false if the peer closed or reset.
  bool send(std::string_view bytes);
  void shutdown_write();
  /// Reads one response (skipping 100 Continue unless `keep_interim`);
  /// status 0 if the connection ended or `timeout` passed first.
  reply read_reply(std::chrono::milliseconds timeout = std::chrono::seconds{5},
                   bool keep_interim = false);
  /// True if the peer closes (EOF or reset) within `timeout`; discards data.
  bool closed_within(std::chrono::milliseconds timeout);
  /// True if data or EOF arrives within `timeout` (nothing consumed).
  bool readable_within(std::chrono::milliseconds timeout);
  /// Bytes received but not consumed by read_reply.
  const std::string& pending() const {
    return in_;
  }

private:
  bool fill(std::chrono::steady_clock::time_point until);
  int fd_ = -1;
  std::string in_;
  bool eof_ = false;
};

/// Polls `condition` (every 2 ms) until it holds or `timeout` passes. For
/// server state that has no event to wait on (connection counts).
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds{5});

/// "GET <target> HTTP/1.1" with Host and the given extra header lines.
std::string raw_request(std::string_view method, std::string_view target,
                        std::string_view extra_headers = {}, std::string_view body = {});

} // namespace millrace::test::http
