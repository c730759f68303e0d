#include "api/service/endpoints/job_view.hpp"

#include "actors/protocol/types/uuid.hpp"
#include "api/service/api_state.hpp"

namespace millrace::api {

using as = json_out::as;

bool job_id_of(const call_ptr& c, std::string& id) {
  if (!actors::normalize_uuid(c->param("id"), id)) {
    fail(c, 400, "invalid_field", "'" + c->param("id") + "' is not a job id (a UUID)", "/id");
    return false;
  }
  return true;
}

bool finished_state(const std::string& state) {
  return state != "queued" && state != "running" && !state.empty();
}

void job_json(json_out& j, const storage::result_set& rs, const storage::sql_row& row) {
  auto state = col(rs, row, "state").text;
  bool done = finished_state(state);
  j.begin_object();
  j.column("id", col(rs, row, "id"));
  j.column("workspace_id", col(rs, row, "workspace_id"));
  j.field("type", done ? "CompletedJob" : "QueuedJob");
  j.field("status", state);
  j.field("running", state == "running");
  j.key("success");
  if (done)
    j.boolean(state == "success");
  else
    j.null();
  j.field("canceled", state == "canceled");
  j.column("job_kind", col(rs, row, "kind"));
  j.column("script_path", col(rs, row, "script_path"));
  j.column("script_hash", col(rs, row, "script_hash"));
  j.column("language", col(rs, row, "language"));
  j.column("args", col(rs, row, "args"), as::json);
  j.column("tag", col(rs, row, "tag"));
  j.column("priority", col(rs, row, "priority"), as::number);
  j.column("timeout", col(rs, row, "timeout_s"), as::number);
  j.column("scheduled_for", col(rs, row, "scheduled_for"), as::timestamp);
  j.column("parent_job", col(rs, row, "parent_job"));
  j.column("root_job", col(rs, row, "root_job"));
  j.column("created_by", col(rs, row, "created_by"));
  j.column("created_at", col(rs, row, "created_at"), as::timestamp);
  j.column("started_at", col(rs, row, "started_at"), as::timestamp);
  j.column("completed_at", col(rs, row, "completed_at"), as::timestamp);
  j.column("duration_ms", col(rs, row, "duration_ms"), as::number);
  j.column("attempt", col(rs, row, "attempt"), as::number);
  j.column("log_bytes", col(rs, row, "log_bytes"), as::number);
  j.column("canceled_by", col(rs, row, "canceled_by"));
  j.column("canceled_reason", col(rs, row, "cancel_reason"));
  j.column("cancel_requested", col(rs, row, "cancel_requested"), as::boolean);
  if (!col(rs, row, "raw_code").null)
    j.column("raw_code", col(rs, row, "raw_code"));
  if (done)
    j.column("result", col(rs, row, "result"), as::json);
  if (!col(rs, row, "flow_status").null)
    j.column("flow_status", col(rs, row, "flow_status"), as::json);
  j.end_object();
}

} // namespace millrace::api
