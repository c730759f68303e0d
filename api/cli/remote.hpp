// CLI commands over the HTTP API: `millrace script push|run`, `millrace job
// get|logs|result|cancel`, and following a job (log to stderr, result to
// stdout) for `script run --wait` and `millrace run` against a server.

#pragma once

#include <string>
#include <utility>
#include <vector>

#include "api/cli/http_client.hpp"

namespace millrace::api {

/// Streams the job's log to stderr until it finished, then prints its result
/// (JSON) to stdout. Returns 0 on success, 1 otherwise.
int follow_job(const api_endpoint& ep, const std::string& job_id);

/// Flags of the form --name VALUE or --name=VALUE.
struct flags {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> values; // in order
  std::vector<std::string> switches;
  std::vector<std::string> settings; // --config and --section.key=value
};

/// Splits arguments into positional ones, `with_value` flags, `switches`,
/// and settings (--config FILE, --section.key=value). Throws config_error.
flags parse_flags(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
                  const std::vector<std::string>& switches);
/// The first value of a flag ("" if absent), and whether a switch is set.
std::string value_of(const flags& f, const std::string& name);
bool has(const flags& f, const std::string& sw);
/// The server and token: --url/--token/--workspace, the environment, then
/// the config.
api_endpoint endpoint_of(const flags& f);
/// "/api/w/<workspace>/".
std::string ws_prefix(const api_endpoint& ep);
/// A JSON string literal.
std::string json_string(const std::string& s);
/// Prints "millrace <who>: <msg>" and the usage text; returns 2.
int usage(const std::string& who, const std::string& msg, const char* text);

/// Prints an error answer ("millrace: 404 not_found: ...") to stderr.
void print_api_error(const std::string& who, const http_reply& r);

} // namespace millrace::api
