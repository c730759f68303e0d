// Start-up recovery: the live queue is read once, whole. Queued jobs come
// back into memory; a job found running belongs to a lease owner that is gone
// (every owner names a dispatcher incarnation, and this one is new), so it
// gets a new attempt, or is failed as poison past the restart limit. Each
// decision is a write, and so an event in the job's history.
//
// In a cluster (dispatcher_config::adopt_remote) an attempt found running on
// another node's slot is kept instead: that node may still run it, and its
// slot adopts it again when the node rejoins this server. Rejoining slots
// that register, and completions they report, while the queue is still being
// read are judged once it is in memory.

#include <utility>

#include <spdlog/spdlog.h>

#include "actors/dispatcher/dispatcher_state.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/registry.hpp"

namespace millrace::actors {

namespace {

void recovery_done(dispatcher_ptr self, size_t queued, size_t running) {
  auto& st = self->state;
  st.recovering = false;
  st.log->info("recovered {} queued and {} running jobs", queued, running);
  for (auto& h : std::exchange(st.held_in_recovery, {}))
    judge_held(self, h.slot, h.job_id, h.attempt, h.owner);
  for (auto& o : std::exchange(st.done_in_recovery, {}))
    job_done(self, std::move(o));
  sweep_after_recovery(self);
  for (auto& [name, slot] : st.slots)
    if (!slot.idle && slot.job.empty())
      slot_ready(self, name);
  dispatch(self);
}

// Owners are "<dispatcher incarnation>/<node>/slot-<n>".
bool on_local_node(const dispatcher_state& st, const std::string& owner) {
  auto a = owner.find('/');
  if (a == std::string::npos)
    return true;
  return owner.compare(a + 1, st.cfg.local_node.size() + 1, st.cfg.local_node + "/") == 0;
}

std::string at(const storage::result_set& rs, const storage::sql_row& row, const char* col) {
  auto c = rs.column(col);
  return c < 0 || row[static_cast<size_t>(c)].null ? std::string{} : row[static_cast<size_t>(c)].text;
}

} // namespace

void start_recovery(dispatcher_ptr self) {
  auto& st = self->state;
  st.recovering = true;
  auto reader = st.reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  if (!reader) {
    // The storage subtree starts before the dispatcher; try again shortly.
    self->delayed_send(self, std::chrono::milliseconds{200}, recover_atom_v);
    return;
  }
  self->request(reader, std::chrono::minutes{5}, read_atom_v,
                storage::read_request{"recover_jobs", {}})
    .then(
      [self](storage::result_set& rs) {
        auto& s = self->state;
        size_t queued = 0, running = 0;
        for (auto& row : rs.rows) {
          job_entry e;
          e.spec.id = at(rs, row, "job_id");
          e.spec.workspace = at(rs, row, "workspace_id");
          e.spec.tag = at(rs, row, "tag");
          e.spec.priority = std::atoi(at(rs, row, "priority").c_str());
          e.spec.kind = at(rs, row, "kind");
          e.spec.script_path = at(rs, row, "script_path");
          e.spec.script_hash = at(rs, row, "script_hash");
          e.spec.language = at(rs, row, "language");
          e.spec.code = at(rs, row, "code");
          e.spec.args = at(rs, row, "args");
          e.spec.timeout_s = std::atoi(at(rs, row, "timeout_s").c_str());
          e.spec.parent_job = at(rs, row, "parent_job");
          e.spec.root_job = at(rs, row, "root_job");
          e.spec.created_by = at(rs, row, "created_by");
          e.spec.node = at(rs, row, "worker_node");
          e.created_at = at(rs, row, "created_at");
          e.scheduled_ms = std::atoll(at(rs, row, "scheduled_for_ms").c_str());
          e.attempt = std::atoi(at(rs, row, "attempt").c_str());
          e.restarts = std::atoi(at(rs, row, "restarts").c_str());
          e.seq = ++s.seq;
          ++s.unfinished_by_ws[e.spec.workspace];
          auto id = e.spec.id;
          if (at(rs, row, "state") == "running") {
            ++running;
            e.st = job_entry::state::running;
            e.owner = at(rs, row, "lease_owner");
            if (s.cfg.adopt_remote && !on_local_node(s, e.owner)) {
              // Its worker node may still run it: kept for its slot to
              // adopt when the node rejoins; the lease sweep gives it a new
              // attempt if none does before its lease (database clock) ends.
              e.claimed = true;
              e.renewed = self->clock().now();
              count_running(self, s.jobs.emplace(id, std::move(e)).first->second);
              arm_lease_sweep(self);
              continue;
            }
            auto& entry = s.jobs.emplace(id, std::move(e)).first->second;
            lose_attempt(self, entry,
                         "found running at start-up; its lease owner " + entry.owner + " is gone",
                         false);
          } else {
            ++queued;
            auto& entry = s.jobs.emplace(id, std::move(e)).first->second;
            make_runnable(self, entry);
          }
        }
        recovery_done(self, queued, running);
      },
      [self](caf::error& err) {
        self->state.log->warn("recovery could not read the queue ({}); retrying",
                              describe(err));
        self->delayed_send(self, std::chrono::seconds{1}, recover_atom_v);
      });
}

} // namespace millrace::actors
