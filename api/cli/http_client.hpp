// The CLI's side of the HTTP API: one synchronous request at a time (Boost.
// Beast), with the server address and token found the way README.md says:
// --url/--token flags, then MILLRACE_URL/MILLRACE_TOKEN, then the local
// server (api.bind/api.port of the config) and api.admin_token_file.

#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "api/config/options.hpp"

namespace millrace::api {

struct api_endpoint {
  std::string host = "127.0.0.1";
  std::string port = "8000";
  std::string token;
  std::string workspace = "admins";
};

struct http_reply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class http_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Server and token from flags (--url, --token, --workspace are taken out of
/// `args`), environment and config. Throws config_error for a bad --url.
api_endpoint find_endpoint(std::vector<std::string>& args, const options& opts);

/// One request; throws http_error when the server cannot be reached or does
/// not answer within `timeout`.
http_reply http_call(const api_endpoint& ep, const std::string& method, const std::string& target,
                     const std::string& body = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds{30});

/// True when something answers GET /api/version at `ep` within `timeout`.
bool server_answers(const api_endpoint& ep, std::chrono::milliseconds timeout);

/// Percent-encodes a path or query component (keeps '/' when `keep_slash`).
std::string url_encode(const std::string& s, bool keep_slash = false);

} // namespace millrace::api
