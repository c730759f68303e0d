// State shared by the server, its sessions and their responders. Internal:
// included only by the server's own translation units (Asio and spdlog).

#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <spdlog/logger.h>

#include "api/http/metrics.hpp"
#include "api/http/router.hpp"
#include "api/http/server_config.hpp"

namespace millrace::api::http::detail {

class session;

/// Metric series the server records, resolved once at start().
struct server_metrics {
  metrics::counter_family* requests = nullptr;    // {route, method, status}
  std::vector<metrics::histogram*> route_latency; // per route index
  metrics::histogram* unmatched_latency = nullptr;
  metrics::gauge* open = nullptr;
  metrics::counter* rejected_total = nullptr;
  metrics::counter* rejected_per_ip = nullptr;
  metrics::counter* rejected_draining = nullptr;
  metrics::counter* dropped = nullptr;
};

/// Lets responders on foreign threads post into the io_context only while
/// it exists. close() waits for posts in progress, so after it returns no
/// thread touches the io_context through a responder again.
class lifeline {
public:
  template <class F>
  void run(F&& f) {
    posting_.fetch_add(1, std::memory_order_acq_rel);
    if (open_.load(std::memory_order_acquire))
      f();
    posting_.fetch_sub(1, std::memory_order_acq_rel);
  }
  void close() {
    open_.store(false, std::memory_order_release);
    while (posting_.load(std::memory_order_acquire) != 0)
      std::this_thread::yield();
  }

private:
  std::atomic<bool> open_{true};
  std::atomic<int> posting_{0};
};

struct core {
  explicit core(server_config c) : cfg(std::move(c)) {
    // nop
  }

  server_config cfg;
  router routes;
  std::vector<std::string> patterns; // route index -> pattern, for labels
  std::vector<std::string> methods;  // route index -> method
  std::vector<bool> any_body;        // route index -> takes any Content-Type
  server_metrics m;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<lifeline> life = std::make_shared<lifeline>();
  std::atomic<bool> draining{false};

  boost::asio::io_context ioc;

  // Open sessions: owned here (and by their pending operations) until they
  // close; per-address counts for the per-IP cap.
  std::mutex mutex;
  std::condition_variable cv;
  std::unordered_map<session*, std::shared_ptr<session>> sessions;
  std::unordered_map<std::string, std::size_t> per_ip;

  /// Removes a closed session; wakes stop().
  void unregister(session* s, const std::string& ip);
};

} // namespace millrace::api::http::detail
