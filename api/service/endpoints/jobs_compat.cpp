// Windmill's other job reads, so its clients keep working:
// jobs_u/completed/get, jobs_u/completed/get_timing, jobs_u/get_args and
// jobs_u/get_root_job_id. All read one `job_view` row of the caller's
// workspace (another workspace's job is a 404, as everywhere).

#include "api/service/api_state.hpp"
#include "api/service/endpoints/job_view.hpp"
#include "api/service/json_out.hpp"

namespace millrace::api {

namespace {

using as = json_out::as;
using row_handler = std::function<void(const storage::result_set&, const storage::sql_row&)>;

// Reads the job named by {id} and hands its row on; 400 for a bad id, 404
// for no such job here, and, with `finished_only`, 404 until it finished.
void with_job(api_ptr self, const call_ptr& c, bool finished_only, row_handler then) {
  std::string id;
  if (!job_id_of(c, id))
    return;
  read(self, c, "job_view", {id, c->workspace()},
       [c, id, finished_only, then = std::move(then)](storage::result_set& rs) {
         if (rs.empty())
           return not_found(c, "job " + id);
         auto& row = rs.rows[0];
         if (finished_only && !finished_state(col(rs, row, "state").text))
           return fail(c, 404, "not_found", "job " + id + " has not finished");
         then(rs, row);
       });
}

void completed_get(api_ptr self, const call_ptr& c) {
  with_job(self, c, true, [c](const storage::result_set& rs, const storage::sql_row& row) {
    json_out j;
    job_json(j, rs, row);
    reply(c, 200, j.take());
  });
}

void completed_timing(api_ptr self, const call_ptr& c) {
  with_job(self, c, true, [c](const storage::result_set& rs, const storage::sql_row& row) {
    json_out j;
    j.begin_object();
    j.column("created_at", col(rs, row, "created_at"), as::timestamp);
    j.column("started_at", col(rs, row, "started_at"), as::timestamp);
    j.column("completed_at", col(rs, row, "completed_at"), as::timestamp);
    j.column("duration_ms", col(rs, row, "duration_ms"), as::number);
    j.end_object();
    reply(c, 200, j.take());
  });
}

void get_args(api_ptr self, const call_ptr& c) {
  with_job(self, c, false, [c](const storage::result_set& rs, const storage::sql_row& row) {
    auto& args = col(rs, row, "args");
    reply(c, 200, args.null ? "{}" : args.text);
  });
}

void root_job_id(api_ptr self, const call_ptr& c) {
  with_job(self, c, false, [c](const storage::result_set& rs, const storage::sql_row& row) {
    // A top-level job is its own root.
    auto& root = col(rs, row, "root_job");
    json_out j;
    j.str(root.null || root.text.empty() ? col(rs, row, "id").text : root.text);
    reply(c, 200, j.take());
  });
}

} // namespace

std::vector<endpoint> job_compat_endpoints() {
  return {
    {"GET", "/api/w/{workspace}/jobs_u/completed/get/{id}", access::token, completed_get,
     "A finished job, as jobs_u/get shows it (404 until it finished)"},
    {"GET", "/api/w/{workspace}/jobs_u/completed/get_timing/{id}", access::token, completed_timing,
     "{created_at, started_at, completed_at, duration_ms} of a finished job (404 until it finished)"},
    {"GET", "/api/w/{workspace}/jobs_u/get_args/{id}", access::token, get_args, "A job's args (JSON object)"},
    {"GET", "/api/w/{workspace}/jobs_u/get_root_job_id/{id}", access::token, root_job_id,
     "The id of the job's top-level job (a JSON string; the job itself when it has no parent)"},
  };
}

} // namespace millrace::api
