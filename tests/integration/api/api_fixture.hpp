// The whole server for HTTP-level tests: a scratch database, the job tree
// (storage, dispatcher, worker slots on the real sandbox) and the api actor
// on an ephemeral port, with an admin token and a user token of workspace
// "ws-a". Requests go through the CLI's HTTP client (Boost.Beast).

#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "api/cli/http_client.hpp"
#include "tests/support/job_tree.hpp"

namespace millrace::test {

struct api_server {
  /// `flow_slots`: flows.slots (top-level flow runs at once).
  explicit api_server(std::chrono::seconds max_wait = std::chrono::seconds{20},
                      size_t flow_slots = 4);

  std::unique_ptr<job_tree> tree;
  uint16_t port = 0;
  std::string admin_token;
  std::string user_token; // workspace ws-a
  std::string user_b_token; // workspace ws-b

  api::api_endpoint as(const std::string& token, const std::string& ws = "admins") const;
  /// A request; the reply. `token` empty: no Authorization header.
  api::http_reply call(const std::string& token, const std::string& method,
                       const std::string& target, const std::string& body = {}) const;
  /// A raw request over TCP (full control of headers).
  std::string raw(const std::string& request_bytes) const;
  /// SQL on the server's database.
  storage::result_set sql(const std::string& q, const std::vector<storage::sql_value>& p = {}) const;
};

/// Parses `body` as JSON (fails the test when it is not).
rapidjson::Document json_of(const std::string& body);

/// Pushes a script; returns its hash.
std::string push_script(const api_server& s, const std::string& token, const std::string& ws,
                        const std::string& path, const std::string& language,
                        const std::string& content);

/// The header's value in a reply ("" when absent).
std::string header_of(const api::http_reply& r, const std::string& name);

} // namespace millrace::test
