// Leases of running attempts: renewals, the lease sweep, and reconciling an
// attempt with the database when a write about it was fenced or failed.

#include <spdlog/spdlog.h>

#include "actors/dispatcher/read_status.hpp"

namespace millrace::actors {

caf::timespan lease_of(dispatcher_ptr self, const job_entry& e) {
  bool flow = e.spec.kind == job_kind::flow || e.spec.kind == job_kind::flowpreview;
  return flow ? self->state.cfg.flow_lease : self->state.cfg.lease;
}

int32_t lease_ms(dispatcher_ptr self, const job_entry& e) {
  return static_cast<int32_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(lease_of(self, e)).count());
}

void renew(dispatcher_ptr self, const std::string& job_id, int32_t attempt) {
  auto& st = self->state;
  auto j = st.jobs.find(job_id);
  if (j == st.jobs.end() || j->second.attempt != attempt || j->second.st != job_entry::state::running)
    return;
  auto& e = j->second;
  if (!e.claimed)
    return; // the claim itself sets the first deadline
  write(self, renew_write(e, lease_ms(self, e)), [self, job_id, attempt](storage::op_result& r) {
    auto& s = self->state;
    auto j2 = s.jobs.find(job_id);
    if (j2 == s.jobs.end() || j2->second.attempt != attempt)
      return;
    auto& job = j2->second;
    if (r.ok() && !r.rows.empty()) {
      job.renewed = self->clock().now();
      return;
    }
    if (r.ok()) {
      // Fenced: this attempt no longer owns the job. Stop its process.
      ++s.stats.fenced;
      if (auto sl = s.slots.find(job.slot); sl != s.slots.end())
        self->send(sl->second.handle, abort_atom_v, job_id, attempt);
    }
  });
}

void arm_lease_sweep(dispatcher_ptr self) {
  auto& st = self->state;
  if (st.lease_sweep_armed)
    return;
  st.lease_sweep_armed = true;
  self->delayed_send(self, st.cfg.lease / 4, expire_atom_v, std::string{}, int32_t{0});
}

namespace {

/// Whether `slot` still runs (or holds ahead) job `id`.
bool slot_holds(dispatcher_ptr self, const std::string& slot, const std::string& id) {
  auto sl = self->state.slots.find(slot);
  if (sl == self->state.slots.end())
    return false;
  if (sl->second.job == id)
    return true;
  for (auto& a : sl->second.ahead)
    if (a == id)
      return true;
  return false;
}

} // namespace

void expire(dispatcher_ptr self, const std::string&, int32_t) {
  auto& st = self->state;
  st.lease_sweep_armed = false;
  auto now = self->clock().now();
  std::vector<std::string> expired;
  bool running = false;
  // Every running attempt, not only those a slot points at: an attempt
  // whose slot moved on (its completion failed to commit, or the slot came
  // back under the same name) must still end.
  for (auto& [id, e] : st.jobs) {
    if (e.st != job_entry::state::running)
      continue;
    running = true;
    bool held = slot_holds(self, e.slot, id);
    if (e.unclaimed_run) {
      if (!held)
        expired.push_back(id); // nothing in the database to wait for
      continue;
    }
    if (now - e.renewed >= lease_of(self, e))
      expired.push_back(id);
  }
  // No renewal for a whole lease: the slot is hung. The database decides,
  // on its own clock, whether the lease really expired.
  for (auto& id : expired)
    if (auto j = st.jobs.find(id); j != st.jobs.end() && j->second.st == job_entry::state::running)
      lose_attempt(self, j->second, "its lease expired (no renewal from its worker slot)", true);
  if (running)
    arm_lease_sweep(self);
}

void reconcile(dispatcher_ptr self, const std::string& job_id, int32_t attempt) {
  auto current = [self, job_id, attempt]() -> job_entry* {
    auto j = self->state.jobs.find(job_id);
    return j == self->state.jobs.end() || j->second.attempt != attempt ? nullptr : &j->second;
  };
  // Until the database answers, the attempt counts as running with no
  // slot: a failed read leaves it to the lease sweep, which tries again.
  if (auto* e = current()) {
    e->st = job_entry::state::running;
    arm_lease_sweep(self);
  }
  read_status(
    self, job_id,
    [self, job_id, attempt, current](storage::result_set& rs) {
      auto* e = current();
      if (e == nullptr || e->st != job_entry::state::running || slot_holds(self, e->slot, job_id))
        return;
      auto& st = self->state;
      auto state = status_cell(rs, "state");
      auto db_attempt = std::atoi(status_cell(rs, "attempt").c_str());
      if (state != "queued" && state != "running") {
        // It ended (this attempt's write did commit, or another one did).
        st.log->info("job {} attempt {}: the database has it {}", job_id, attempt, state);
        finish(self, job_id, state, result_cell(rs), 0);
        return;
      }
      if (state == "queued") {
        // Nothing of this attempt (or its requeue) is durable: run it again.
        st.log->info("job {} attempt {}: the database has it queued; running it again", job_id,
                     attempt);
        e->attempt = db_attempt;
        e->unclaimed_run = false;
        e->claimed = false;
        e->slot.clear();
        e->owner.clear();
        make_runnable(self, *e);
        dispatch(self);
        return;
      }
      // Running in the database at this attempt, with its process gone:
      // give it back once its lease ends there.
      if (db_attempt == attempt)
        lose_attempt(self, *e, "its end could not be recorded", true);
    },
    [self, job_id, attempt](caf::error& err) {
      self->state.log->warn("job {} attempt {}: state unknown ({}); the lease sweep retries",
                            job_id, attempt, to_string(err));
    });
}

} // namespace millrace::actors
