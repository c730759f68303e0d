// Shared by the routes that start jobs (endpoints/jobs_run.cpp for scripts,
// endpoints/flows_run.cpp for flows).

#pragma once

#include <string>
#include <vector>

#include "api/service/api_state.hpp"
#include "runtime/flow/parse.hpp"

namespace millrace::api {

/// Fills the caller-given options of a run (query: tag, priority, timeout,
/// scheduled_for, scheduled_in_secs, job_id, parent_job; header
/// Idempotency-Key) into `spec`; answers 400/403 and returns false on a bad one.
bool build_spec(api_ptr self, const call_ptr& c, actors::job_spec& spec, std::string args);
/// The args of a run: the body (a JSON object) or, for GET, ?payload=.
bool args_of(const call_ptr& c, std::string& args);
/// Validates args against a JSON Schema text (empty: none); answers 400.
bool check_args(const call_ptr& c, const std::string& schema, const std::string& args);
/// Answers 400 invalid_flow with every error (module id, field, message).
void invalid_flow(const call_ptr& c, const std::vector<flow::flow_error>& errors);
/// Submits; answers the job id (wait = false) or the job's result.
void submit(api_ptr self, const call_ptr& c, actors::job_spec spec, bool wait);

} // namespace millrace::api
