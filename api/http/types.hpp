// The contract between the HTTP server (api/http/, Boost.Beast, no CAF) and
// the code that answers requests (the api actor, api/service/). Plain C++:
// neither Beast nor CAF appears here.
//
// Threads: the server calls a route's handler on one of its io threads. A
// handler must not block: it hands the request to an actor (or answers at
// once) and returns. Whoever holds the responder calls it exactly once, from
// any thread; the server posts the response to the connection's strand.

#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::api::http {

struct request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received, e.g. "/api/w/admins/jobs/list?per_page=10"
  std::string path;    // percent-decoded path without the query; valid UTF-8, no NUL
  std::vector<std::pair<std::string, std::string>> query;   // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers; // names in lower case
  std::string body;
  std::string remote;  // peer address, for logs

  /// First value of a header (name in lower case), or null.
  const std::string* header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (k == name)
        return &v;
    return nullptr;
  }
  /// First value of a query parameter, or null.
  const std::string* query_param(std::string_view name) const {
    for (auto& [k, v] : query)
      if (k == name)
        return &v;
    return nullptr;
  }
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Extra headers (Allow, WWW-Authenticate, Retry-After, ...).
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Sends the response. Thread-safe; the first call wins, later calls are
/// ignored. If it is destroyed without being called, the server answers 500
/// (a handler lost the request: a bug, logged).
using responder = std::function<void(response)>;

/// What the router matched: the route's pattern (for metrics and logs, e.g.
/// "/api/w/{workspace}/jobs_u/get/{id}") and its parameters, decoded.
struct route_match {
  std::string pattern;
  std::map<std::string, std::string> params;
};

using handler = std::function<void(request&&, route_match&&, responder)>;

} // namespace millrace::api::http
