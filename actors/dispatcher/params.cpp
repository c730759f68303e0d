// Write requests for the job statements of storage/sql, in their parameter
// order. Keys are job ids: a job's writes stay in order on one connection.

#include "actors/dispatcher/dispatcher_state.hpp"

namespace millrace::actors {

namespace {

storage::sql_value opt(const std::string& s) {
  return s.empty() ? storage::sql_value::null_value() : storage::sql_value{s};
}

} // namespace

storage::write_request enqueue_write(const job_spec& s, bool fresh) {
  bool has_code = s.kind == job_kind::preview || s.kind == job_kind::flow
                  || s.kind == job_kind::flowpreview;
  return storage::write_request{
    // A caller's id or idempotency key may name an existing job: its write
    // goes as the ON CONFLICT twin from the start, so a duplicate never fails
    // (and re-runs one by one) a batch shared with other writes.
    fresh ? "enqueue_job" : "enqueue_job_careful",
    {s.id, s.workspace, s.kind, opt(s.script_path), opt(s.script_hash),
     has_code ? storage::sql_value{s.code} : storage::sql_value::null_value(), opt(s.language),
     s.args, s.tag, std::to_string(s.priority),
     s.timeout_s > 0 ? storage::sql_value{std::to_string(s.timeout_s)}
                     : storage::sql_value::null_value(),
     s.scheduled_for_ms > 0 ? storage::sql_value{format_timestamp_ms(s.scheduled_for_ms)}
                            : storage::sql_value::null_value(),
     opt(s.parent_job), opt(s.root_job), s.created_by, opt(s.idempotency_key),
     opt(s.request_hash), opt(s.node)},
    s.id};
}

storage::write_request enqueue_claimed_write(const job_entry& e, int32_t lease_ms) {
  auto w = enqueue_write(e.spec, true);
  w.statement = "enqueue_claimed_job";
  w.params.emplace_back(e.owner);
  w.params.emplace_back(std::to_string(lease_ms));
  return w;
}

storage::write_request claim_write(const job_entry& e, int32_t lease_ms) {
  // (created_at is known for every admitted job; a job submitted to an idle
  // slot is claimed by enqueue_claimed_job instead.)
  return storage::write_request{"claim_job",
                                {e.spec.id, std::to_string(e.attempt), e.owner,
                                 std::to_string(lease_ms), opt(e.created_at)},
                                e.spec.id};
}

storage::write_request renew_write(const job_entry& e, int32_t lease_ms) {
  return storage::write_request{
    "renew_lease", {e.spec.id, std::to_string(e.attempt), e.owner, std::to_string(lease_ms)},
    e.spec.id};
}

storage::write_request complete_write(const job_entry& e, const std::string& status,
                                      const std::string& result, const std::string& flow_status) {
  return storage::write_request{"complete_job",
                                {e.spec.id, std::to_string(e.attempt), e.owner, status, result,
                                 e.created_at, e.spec.kind, opt(e.spec.script_path),
                                 e.spec.created_by, opt(e.spec.parent_job), opt(flow_status)},
                                e.spec.id};
}

storage::write_request complete_unclaimed_write(const job_entry& e, const std::string& status,
                                                const std::string& result) {
  return storage::write_request{"complete_unclaimed",
                                {e.spec.id, std::to_string(e.attempt), e.owner, status, result,
                                 e.created_at, e.spec.kind, opt(e.spec.script_path),
                                 e.spec.created_by, opt(e.spec.parent_job),
                                 std::to_string(e.started_ms)},
                                e.spec.id};
}

storage::write_request requeue_write(const job_entry& e, const std::string& reason,
                                     bool if_expired) {
  return storage::write_request{"requeue_job",
                                {e.spec.id, std::to_string(e.attempt), e.owner, reason,
                                 e.created_at, if_expired ? "true" : "false"},
                                e.spec.id};
}

storage::write_request cancel_queued_write(const job_entry& e, const std::string& by,
                                           const std::string& reason) {
  return storage::write_request{"cancel_queued",
                                {e.spec.id, by, reason, e.created_at, e.spec.kind,
                                 opt(e.spec.script_path), e.spec.created_by,
                                 opt(e.spec.parent_job)},
                                e.spec.id};
}

storage::write_request request_cancel_write(const job_entry& e, const std::string& by,
                                            const std::string& reason) {
  return storage::write_request{
    "request_cancel", {e.spec.id, std::to_string(e.attempt), by, reason, e.created_at},
    e.spec.id};
}

} // namespace millrace::actors
