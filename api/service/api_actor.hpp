// The api actor (/millrace/api): owns the HTTP server, authenticates every
// request, and answers it by talking to the dispatcher and the storage
// actors. Routes follow Windmill's REST paths (WINDMILL.md §3.3); the list is
// in api/service/endpoints/ and in api/openapi.json.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/supervision/supervisor.hpp"

namespace millrace::api {

struct service_config {
  std::string bind = "127.0.0.1";
  uint16_t port = 8000;
  size_t io_threads = 2;
  /// Largest request body (bytes); job args have their own limit in the
  /// dispatcher.
  size_t body_limit = 4 << 20;
  /// Longest run_wait_result wait before it answers 504 (the job goes on).
  std::chrono::seconds max_wait{60};
  /// Page size of list routes when none is asked for, and the largest one.
  int page_default = 100;
  int page_max = 1000;
  /// Tags a job may ask for (worker.tags): a tag no slot serves would leave
  /// the job queued forever. Empty: any tag.
  std::vector<std::string> served_tags;
  /// Tags whose jobs get the network (sandbox.network_tags): admin tokens
  /// only.
  std::vector<std::string> network_tags;
  /// Called once the server listens, with the bound port (tests, start-up
  /// messages). May be empty.
  std::function<void(uint16_t)> on_listening;
};

/// Child spec (id "api", permanent).
actors::child_spec api_spec(service_config cfg);

} // namespace millrace::api
