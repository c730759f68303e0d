// One HTTP request on its way through the api actor: what came in, who sent
// it (after authentication), and how to answer. Plain C++ (no CAF).

#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "api/http/types.hpp"

namespace millrace::api {

/// Who a request acts as: the token it presented.
struct principal {
  std::string token_id;
  /// The one workspace the token may use; empty: every workspace (admin
  /// tokens).
  std::string workspace;
  std::string role; // "admin" or "user"
  std::string label;

  bool admin() const { return role == "admin"; }
  bool can_use(const std::string& ws) const { return workspace.empty() || workspace == ws; }
  /// Name recorded as created_by / canceled_by.
  std::string name() const { return label.empty() ? "token:" + token_id.substr(0, 8) : label; }
};

struct endpoint;

struct api_call {
  http::request req;
  http::route_match match;
  http::responder respond;
  const endpoint* ep = nullptr;
  principal who;
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();

  /// A route parameter ("" when absent).
  const std::string& param(const std::string& name) const {
    static const std::string none;
    auto i = match.params.find(name);
    return i == match.params.end() ? none : i->second;
  }
  /// The {workspace} of /api/w/{workspace}/... routes.
  const std::string& workspace() const { return param("workspace"); }
};

using call_ptr = std::shared_ptr<api_call>;

} // namespace millrace::api
