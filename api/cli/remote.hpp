// CLI commands over the HTTP API: `millrace script push|run`, `millrace job
// get|logs|result|cancel`, and following a job (log to stderr, result to
// stdout) for `script run --wait` and `millrace run` against a server.

#pragma once

#include <string>

#include "api/cli/http_client.hpp"

namespace millrace::api {

/// Streams the job's log to stderr until it finished, then prints its result
/// (JSON) to stdout. Returns 0 on success, 1 otherwise.
int follow_job(const api_endpoint& ep, const std::string& job_id);

/// Prints an error answer ("millrace: 404 not_found: ...") to stderr.
void print_api_error(const std::string& who, const http_reply& r);

} // namespace millrace::api
