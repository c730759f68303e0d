// One job as the API shows it: the {id} parameter check and the JSON of a
// `job_view` row, shared by jobs_u/get and Windmill's other job reads.

#pragma once

#include <string>

#include "api/service/call.hpp"
#include "api/service/json_out.hpp"

namespace millrace::api {

/// The {id} parameter as a normalized UUID; answers 400 otherwise.
bool job_id_of(const call_ptr& c, std::string& id);

/// True for a terminal state (success, failure, canceled, timed_out).
bool finished_state(const std::string& state);

/// The job object of jobs_u/get (Windmill's QueuedJob or CompletedJob shape)
/// from a row of the `job_view` statement.
void job_json(json_out& j, const storage::result_set& rs, const storage::sql_row& row);

} // namespace millrace::api
