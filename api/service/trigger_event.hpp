// The event a flow's preprocessor_module gets when a run comes in over HTTP
// (jobs/run/f, run_wait_result/f: Windmill's webhooks). See API.md,
// "Preprocessor".

#pragma once

#include <string>

#include "api/service/call.hpp"

namespace millrace::api {

/// The run's args for a flow with a preprocessor:
/// `{"event": {"kind": "webhook", "body", "raw_string", "query", "headers"}}`.
/// - body: the request body as JSON (any JSON value; `{}` when empty; for
///   GET, ?payload=); null when it is not JSON and ?raw=true was given.
/// - raw_string: the body as text with ?raw=true, else null.
/// - query: the query parameters (first value of each) but `token`.
/// - headers: the request headers (lower-case names) but the credentials:
///   authorization, cookie, proxy-authorization.
/// Answers 400/415 and returns false on a body it cannot carry.
bool webhook_event(const call_ptr& c, std::string& args);

} // namespace millrace::api
