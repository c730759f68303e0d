// What a route is to the api actor: method, pattern, who may call it, and the
// function that answers. Each file in endpoints/ contributes a list.

#pragma once

#include <vector>

#include "caf/fwd.hpp"

#include "api/service/call.hpp"

namespace millrace::api {

struct api_state;
using api_ptr = caf::stateful_actor<api_state>*;

enum class access {
  open,  ///< no token (health, version, metrics, openapi)
  token, ///< any valid token; /api/w/{workspace}/ routes also check the workspace
  admin, ///< an admin token (403 for others)
};

struct endpoint {
  const char* method;
  const char* pattern;
  access acc;
  void (*fn)(api_ptr self, const call_ptr& c);
  const char* summary; // one line, also in the OpenAPI document
  /// The route checks its body itself and may take any Content-Type (a
  /// webhook with ?raw=true); others get 415 for a body that is not JSON.
  bool any_body = false;
};

std::vector<endpoint> script_endpoints();
std::vector<endpoint> job_run_endpoints();
std::vector<endpoint> job_read_endpoints();
std::vector<endpoint> job_compat_endpoints();
std::vector<endpoint> flow_endpoints();
std::vector<endpoint> flow_run_endpoints();
std::vector<endpoint> flow_resume_endpoints();
std::vector<endpoint> admin_endpoints();
std::vector<endpoint> worker_endpoints();
std::vector<endpoint> service_endpoints();

/// All of the above.
const std::vector<endpoint>& all_endpoints();

} // namespace millrace::api
