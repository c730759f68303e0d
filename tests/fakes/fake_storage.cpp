#include "tests/fakes/fake_storage.hpp"

#include "caf/all.hpp"

#include "actors/protocol/storage_actor.hpp"

using namespace millrace::actors;

namespace millrace::test {

std::vector<std::string> fake_db::keys_of(const std::string& statement) const {
  std::vector<std::string> out;
  for (auto& w : writes)
    if (w.compare(0, statement.size() + 1, statement + " ") == 0)
      out.push_back(w.substr(statement.size() + 1));
  return out;
}

size_t fake_db::count(const std::string& statement) const {
  return keys_of(statement).size();
}

std::vector<std::string> recover_columns() {
  return {"job_id",    "workspace_id", "tag",       "priority",   "scheduled_for_ms",
          "created_at", "state",       "attempt",   "restarts",   "lease_owner",
          "cancel_requested", "kind",  "script_path", "script_hash", "language",
          "args",      "timeout_s",    "parent_job", "root_job",  "created_by",
          "code"};
}

namespace {

storage::result_set one_row(std::vector<std::string> cols, storage::sql_row row) {
  storage::result_set rs;
  rs.columns = std::move(cols);
  rs.rows.push_back(std::move(row));
  return rs;
}

storage::op_result answer(fake_db& db, const storage::write_request& w) {
  db.writes.push_back(w.statement + " " + w.key);
  storage::op_result r;
  if (db.applies && !db.applies(w))
    return r; // fenced / not applied: no row
  const auto& s = w.statement;
  if (s == "enqueue_job" || s == "enqueue_job_careful" || s == "enqueue_claimed_job")
    r.rows = one_row({"created_at", "scheduled_for"},
                     {"2026-01-01 00:00:00+00", "2026-01-01 00:00:00+00"});
  else if (s == "requeue_job")
    r.rows = one_row({"restarts"}, {std::to_string(++db.restarts[w.key])});
  else if (s == "flow_timer_start") {
    auto left = db.timer_left_ms.count(w.params.at(1).text) ? db.timer_left_ms[w.params[1].text]
                                                            : std::stoll(w.params.at(2).text);
    r.rows = one_row({"left_ms", "deadline"}, {std::to_string(left), "2026-01-01 00:00:10+00"});
  } else if (s == "renew_lease")
    r.rows = one_row({"cancel_requested"}, {"f"});
  else if (s == "complete_job" || s == "complete_unclaimed" || s == "cancel_queued")
    r.rows = one_row({"completed_at"}, {"2026-01-01 00:00:01+00"});
  else // claim_job, request_cancel, append_log, ...
    r.rows = one_row({}, {});
  return r;
}

caf::behavior fake_writer(caf::event_based_actor*, std::shared_ptr<fake_db> db) {
  return {
    [db](write_atom, std::vector<storage::write_request>& reqs) {
      db->groups.push_back(reqs.size());
      std::vector<storage::op_result> out;
      for (auto& w : reqs)
        out.push_back(answer(*db, w));
      return out;
    },
    [db](write_atom, storage::write_request& w) -> caf::result<storage::result_set> {
      auto r = answer(*db, w);
      return r.rows;
    },
  };
}

caf::behavior fake_reader(caf::event_based_actor* self, std::shared_ptr<fake_db> db) {
  using held_t = std::vector<caf::typed_response_promise<storage::result_set>>;
  auto held = std::make_shared<held_t>();
  return {
    [self, db, held](read_atom, storage::read_request& r) -> caf::result<storage::result_set> {
      if (r.statement == "recover_jobs" && db->hold_recovery) {
        held->push_back(self->make_response_promise<storage::result_set>());
        return held->back();
      }
      if (r.statement == "recover_jobs")
        return db->recover_rows;
      if (r.statement == "job_status") {
        auto i = db->status_rows.find(r.params.at(0).text);
        return i == db->status_rows.end() ? storage::result_set{} : i->second;
      }
      return storage::result_set{};
    },
    [db, held](recover_atom) { // answer the held recover_jobs, in the reader's own context
      for (auto& rp : std::exchange(*held, {}))
        rp.deliver(db->recover_rows);
    },
  };
}

} // namespace

caf::actor spawn_fake_writer(caf::actor_system& sys, std::shared_ptr<fake_db> db) {
  return sys.spawn(fake_writer, std::move(db));
}

caf::actor spawn_fake_reader(caf::actor_system& sys, std::shared_ptr<fake_db> db) {
  return sys.spawn(fake_reader, std::move(db));
}

} // namespace millrace::test
