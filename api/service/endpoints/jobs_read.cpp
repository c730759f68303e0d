// Reading and cancelling jobs: jobs_u/get, getupdate (status and new log
// bytes), get_logs, completed/get_result(_maybe), jobs/list,
// jobs/completed/list, jobs/queue/count, jobs_u/queue/cancel.

#include "actors/protocol/errors.hpp"
#include "actors/protocol/types/uuid.hpp"
#include "api/service/api_state.hpp"
#include "api/service/endpoints/job_view.hpp"
#include "api/service/json_out.hpp"

namespace millrace::api {

namespace {

using as = json_out::as;

void get(api_ptr self, const call_ptr& c) {
  std::string id;
  if (!job_id_of(c, id))
    return;
  // Clients poll finished jobs again and again; their answer is final, so
  // it is kept (bounded by count and bytes) instead of read every time.
  auto key = c->workspace() + '\n' + id;
  auto now = std::chrono::steady_clock::now();
  auto& cache = self->state.finished_jobs;
  if (auto i = cache.find(key); i != cache.end()) {
    if (i->second.until > now)
      return reply(c, 200, i->second.body);
    self->state.finished_jobs_bytes -= i->second.body.size();
    cache.erase(i);
  }
  read(self, c, "job_view", {id, c->workspace()}, [self, c, id, key](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "job " + id);
    json_out j;
    job_json(j, rs, rs.rows[0]);
    auto body = j.take();
    auto& st = self->state;
    if (finished_state(col(rs, rs.rows[0], "state").text) && body.size() <= (64u << 10)
        && !st.finished_jobs.count(key)) {
      if (st.finished_jobs.size() >= 20000 || st.finished_jobs_bytes + body.size() > (32u << 20)) {
        st.finished_jobs.clear(); // starting over also drops the expired ones
        st.finished_jobs_bytes = 0;
      }
      st.finished_jobs_bytes += body.size();
      st.finished_jobs.emplace(key, finished_job_entry{body, std::chrono::steady_clock::now()
                                                               + finished_job_ttl});
    }
    reply(c, 200, std::move(body));
  });
}

// Cuts `text` (which starts at byte `first`) so it starts at `from`, moved
// forward to a UTF-8 character boundary.
std::string from_offset(const std::string& text, int64_t first, int64_t& from) {
  if (from <= first) {
    from = first;
    return text;
  }
  auto cut = static_cast<size_t>(std::min<int64_t>(from - first, static_cast<int64_t>(text.size())));
  while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    ++cut;
  from = first + static_cast<int64_t>(cut);
  return text.substr(cut);
}

void getupdate(api_ptr self, const call_ptr& c) {
  std::string id;
  if (!job_id_of(c, id))
    return;
  int64_t offset = 0;
  if (auto v = query(c, "log_offset")) {
    char* end = nullptr;
    offset = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || offset < 0) {
      fail(c, 400, "invalid_field", "log_offset: expected a byte offset >= 0", "/log_offset");
      return;
    }
  }
  read(self, c, "job_update", {id, c->workspace(), std::to_string(offset), "64"},
       [c, id, offset](storage::result_set& rs) mutable {
         if (rs.empty())
           return not_found(c, "job " + id);
         auto& row = rs.rows[0];
         auto state = col(rs, row, "state").text;
         std::string logs;
         auto& first = col(rs, row, "first_offset");
         if (!first.null) {
           logs = from_offset(col(rs, row, "logs").text, std::atoll(first.text.c_str()), offset);
         }
         json_out j;
         j.begin_object();
         j.field("running", state == "running");
         j.field("completed", finished_state(state));
         j.field("status", state);
         j.field("new_logs", logs);
         j.field("log_offset", static_cast<int64_t>(offset + static_cast<int64_t>(logs.size())));
         j.end_object();
         reply(c, 200, j.take());
       });
}

void get_logs(api_ptr self, const call_ptr& c) {
  std::string id;
  if (!job_id_of(c, id))
    return;
  read(self, c, "job_update", {id, c->workspace(), "0", "100000"}, [c, id](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "job " + id);
    reply(c, 200, col(rs, rs.rows[0], "logs").text, "text/plain; charset=utf-8");
  });
}

void get_result(api_ptr self, const call_ptr& c) {
  std::string id;
  if (!job_id_of(c, id))
    return;
  read(self, c, "job_update", {id, c->workspace(), "0", "0"}, [c, id](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "job " + id);
    auto& row = rs.rows[0];
    if (!finished_state(col(rs, row, "state").text))
      return fail(c, 404, "not_found", "job " + id + " has not finished");
    auto& r = col(rs, row, "result");
    reply(c, 200, r.null ? "null" : r.text);
  });
}

void get_result_maybe(api_ptr self, const call_ptr& c) {
  std::string id;
  if (!job_id_of(c, id))
    return;
  read(self, c, "job_update", {id, c->workspace(), "0", "0"}, [c, id](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "job " + id);
    auto& row = rs.rows[0];
    auto state = col(rs, row, "state").text;
    json_out j;
    j.begin_object();
    j.field("completed", finished_state(state));
    j.field("started", state != "queued");
    j.key("success");
    if (finished_state(state))
      j.boolean(state == "success");
    else
      j.null();
    j.key("result");
    if (finished_state(state))
      j.raw(col(rs, row, "result").null ? "null" : col(rs, row, "result").text);
    else
      j.null();
    j.end_object();
    reply(c, 200, j.take());
  });
}

storage::sql_value opt_param(const call_ptr& c, const char* name) {
  auto v = query(c, name);
  return v && !v->empty() ? storage::sql_value{*v} : storage::sql_value::null_value();
}

// Lists answer a JSON array; when there is more, the X-Next-Cursor header
// holds the cursor of the next page (?cursor=).
void list_common(api_ptr self, const call_ptr& c, bool completed) {
  auto limit = page_size(self, c);
  with_cursor_key(self, c, [self, c, limit, completed](const std::string& key) {
    storage::sql_value cur_at = storage::sql_value::null_value();
    storage::sql_value cur_id = storage::sql_value::null_value();
    if (auto cur = query(c, "cursor")) {
      auto pos = open_cursor(key, *cur);
      auto bar = pos ? pos->find('|') : std::string::npos;
      if (!pos || bar == std::string::npos) {
        fail(c, 400, "invalid_cursor", "the cursor is malformed or was altered", "/cursor");
        return;
      }
      cur_at = pos->substr(0, bar);
      cur_id = pos->substr(bar + 1);
    }
    // Status: ours (?status=) or Windmill's booleans (?running=, ?success=).
    auto status = opt_param(c, "status");
    if (auto r = query(c, "running"); r && *r == "true")
      status = storage::sql_value{"running"};
    if (auto s = query(c, "success"))
      status = storage::sql_value{*s == "true" ? "success" : completed ? "failed" : "failure"};
    static const std::vector<std::string> states = {"queued", "running", "success", "failure",
                                                    "canceled", "timed_out", "completed", "failed"};
    if (!status.null && std::find(states.begin(), states.end(), status.text) == states.end()) {
      fail(c, 400, "invalid_field", "status: '" + status.text + "' is not one of queued, running, "
                                      "success, failure, canceled, timed_out, completed, failed",
           "/status");
      return;
    }
    auto after = opt_param(c, completed ? "completed_after" : "created_after");
    auto before = opt_param(c, completed ? "completed_before" : "created_before");
    std::vector<storage::sql_value> params = {c->workspace(), status, opt_param(c, "script_path_exact"),
                                              opt_param(c, "script_path_start"), opt_param(c, "tag"),
                                              after, before, cur_at, cur_id,
                                              std::to_string(limit + 1)};
    auto time_col = completed ? "completed_at" : "created_at";
    read(self, c, completed ? "completed_list" : "jobs_list", std::move(params),
         [c, limit, key, time_col, completed](storage::result_set& rs) {
           json_out j;
           j.begin_array();
           size_t n = std::min(rs.rows.size(), static_cast<size_t>(limit));
           for (size_t i = 0; i < n; ++i) {
             auto& row = rs.rows[i];
             auto state = completed ? col(rs, row, "status").text : col(rs, row, "state").text;
             j.begin_object();
             j.column("id", col(rs, row, "id"));
             j.field("type", finished_state(state) ? "CompletedJob" : "QueuedJob");
             j.field("status", state);
             j.field("running", state == "running");
             j.column("job_kind", col(rs, row, "kind"));
             j.column("script_path", col(rs, row, "script_path"));
             j.column("tag", col(rs, row, "tag"));
             j.column("created_by", col(rs, row, "created_by"));
             j.column("created_at", col(rs, row, "created_at"), as::timestamp);
             j.column("started_at", col(rs, row, "started_at"), as::timestamp);
             j.column("completed_at", col(rs, row, "completed_at"), as::timestamp);
             j.column("duration_ms", col(rs, row, "duration_ms"), as::number);
             j.column("attempt", col(rs, row, "attempt"), as::number);
             if (completed) {
               j.column("result", col(rs, row, "result"), as::json);
               if (col(rs, row, "result_omitted").text == "t")
                 j.field("result_omitted", true); // too large for a list: use get_result
             }
             j.end_object();
           }
           j.end_array();
           http::response r;
           r.body = j.take();
           if (rs.rows.size() > n) {
             auto& last = rs.rows[n - 1];
             r.headers.emplace_back("X-Next-Cursor",
                                    make_cursor(key, col(rs, last, time_col).text + "|"
                                                       + col(rs, last, "id").text));
           }
           c->respond(std::move(r));
         });
  });
}

void list(api_ptr self, const call_ptr& c) { list_common(self, c, false); }
void completed_list(api_ptr self, const call_ptr& c) { list_common(self, c, true); }

void queue_count(api_ptr self, const call_ptr& c) {
  read(self, c, "queue_count", {c->workspace()}, [c](storage::result_set& rs) {
    auto& row = rs.rows.at(0);
    auto queued = std::atoll(col(rs, row, "queued").text.c_str());
    auto running = std::atoll(col(rs, row, "running").text.c_str());
    json_out j;
    j.begin_object().field("database_length", static_cast<int64_t>(queued + running));
    j.field("queued", static_cast<int64_t>(queued)).field("running", static_cast<int64_t>(running));
    j.end_object();
    reply(c, 200, j.take());
  });
}

void cancel(api_ptr self, const call_ptr& c) {
  std::string id;
  if (!job_id_of(c, id))
    return;
  rapidjson::Document body;
  if (!parse_body(c, body, true))
    return;
  std::string reason;
  if (body.IsObject() && !get_string(c, body, "reason", reason, false))
    return;
  if (reason.size() > 1000) {
    fail(c, 400, "invalid_field", "reason: at most 1000 bytes", "/reason");
    return;
  }
  // The job must be this workspace's: 404 otherwise, before anything else.
  read(self, c, "job_update", {id, c->workspace(), "0", "0"},
       [self, c, id, reason](storage::result_set& rs) {
         if (rs.empty())
           return not_found(c, "job " + id);
         auto d = dispatcher_of(self);
         if (!d)
           return fail(c, 503, "unavailable", "the dispatcher is not running; retry");
         self->request(d, storage_timeout, actors::cancel_atom_v, id, c->who.name(), reason)
           .then(
             [c](actors::cancel_reply& r) {
               json_out j;
               j.begin_object().field("job_id", r.job_id).field("status", r.state).end_object();
               reply(c, 200, j.take());
             },
             [c](caf::error& err) { fail(c, err); });
       });
}

} // namespace

std::vector<endpoint> job_read_endpoints() {
  return {
    {"GET", "/api/w/{workspace}/jobs_u/get/{id}", access::token, get,
     "A job: definition, state, timing, result when finished"},
    {"GET", "/api/w/{workspace}/jobs_u/getupdate/{id}", access::token, getupdate,
     "A job's state and the log bytes after ?log_offset="},
    {"GET", "/api/w/{workspace}/jobs_u/get_logs/{id}", access::token, get_logs,
     "A job's whole log (text)"},
    {"GET", "/api/w/{workspace}/jobs_u/completed/get_result/{id}", access::token, get_result,
     "A finished job's result (404 until it finished)"},
    {"GET", "/api/w/{workspace}/jobs_u/completed/get_result_maybe/{id}", access::token,
     get_result_maybe, "{completed, started, success, result} of a job"},
    {"GET", "/api/w/{workspace}/jobs/list", access::token, list,
     "Jobs, newest first (filters: status, script_path_exact, script_path_start, tag, "
     "created_after, created_before; keyset pages)"},
    {"GET", "/api/w/{workspace}/jobs/completed/list", access::token, completed_list,
     "Finished jobs, last finished first (filters as jobs/list, by completion time)"},
    {"GET", "/api/w/{workspace}/jobs/queue/count", access::token, queue_count,
     "Queued and running jobs of the workspace"},
    {"POST", "/api/w/{workspace}/jobs_u/queue/cancel/{id}", access::token, cancel,
     "Cancel a job ({reason}); 409 when it already finished"},
    {"POST", "/api/w/{workspace}/jobs_u/queue/force_cancel/{id}", access::token, cancel,
     "Windmill's force_cancel: the same as cancel (a running job always goes through the kill "
     "ladder, SIGTERM then SIGKILL)"},
  };
}

} // namespace millrace::api
