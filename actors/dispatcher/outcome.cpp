// How attempts end: a slot's completion (its slot gets its next job before
// the completion commits), an attempt lost with its slot or its lease
// (requeued, or failed as poisoned past the restart limit), and the end of a
// job (its waiters answered). Handing out attempts: assign.cpp.

#include <algorithm>

#include <spdlog/spdlog.h>

#include "actors/dispatcher/dispatcher_state.hpp"
#include "actors/protocol/errors.hpp"

namespace millrace::actors {

namespace {

// Stops the attempt of `e` on its slot, if the slot still runs it, and gives
// the slot its next job.
void release_slot(dispatcher_ptr self, job_entry& e) {
  auto& st = self->state;
  auto sl = st.slots.find(e.slot);
  if (sl != st.slots.end()) {
    auto& slot = sl->second;
    if (slot.job == e.spec.id) {
      self->send(slot.handle, abort_atom_v, e.spec.id, e.attempt);
      advance_slot(self, slot);
    } else if (auto a = std::find(slot.ahead.begin(), slot.ahead.end(), e.spec.id);
               a != slot.ahead.end()) {
      self->send(slot.handle, abort_atom_v, e.spec.id, e.attempt);
      slot.ahead.erase(a);
    }
  }
  e.slot.clear();
  e.owner.clear();
}

} // namespace

void lose_attempt(dispatcher_ptr self, job_entry& e, const std::string& reason, bool if_expired) {
  auto& st = self->state;
  auto id = e.spec.id;
  auto attempt = e.attempt;
  if (e.unclaimed_run && e.restarts + 1 <= st.cfg.restart_limit) {
    // Nothing of this attempt is in the database: run it again.
    st.log->info("job {} attempt {} given back: {}", id, attempt, reason);
    ++st.stats.requeued;
    ++e.restarts;
    unclaim(self, e);
    dispatch(self);
    return;
  }
  if (e.restarts + 1 > st.cfg.restart_limit) {
    // Poison: it keeps losing its worker; fail it instead of retrying forever.
    auto result = std::string(R"({"name":"Poisoned","message":"lost its worker )")
                  + std::to_string(e.restarts + 1) + " times (restart limit "
                  + std::to_string(st.cfg.restart_limit) + "); last: " + reason + "\"}";
    auto w = e.unclaimed_run ? complete_unclaimed_write(e, job_status::failure, result)
                             : complete_write(e, job_status::failure, result);
    release_slot(self, e);
    e.st = job_entry::state::settling;
    uncount_running(self, e);
    write(self, std::move(w), [self, id, attempt, result](storage::op_result& r) {
      auto& s = self->state;
      if (!r.ok() || r.rows.empty()) {
        s.log->warn("failing poisoned job {} attempt {} was not recorded: {}", id, attempt,
                    r.ok() ? std::string("fenced") : r.message);
        reconcile(self, id, attempt);
        return;
      }
      ++s.stats.poisoned;
      finish(self, id, job_status::failure, result, 0);
    });
    return;
  }
  write(self, requeue_write(e, reason, if_expired),
        [self, id, attempt, reason](storage::op_result& r) {
          auto& s = self->state;
          auto j = s.jobs.find(id);
          if (j == s.jobs.end() || j->second.attempt != attempt)
            return;
          auto& job = j->second;
          if (!r.ok() || r.rows.empty()) {
            if (!r.ok())
              s.log->warn("requeue of job {} attempt {} failed: {}", id, attempt, r.message);
            return; // still running in the database (lease renewed) or a storage error
          }
          ++s.stats.requeued;
          job.restarts = std::atoi(r.rows.rows[0][0].text.c_str());
          release_slot(self, job);
          job.claimed = false;
          s.log->info("job {} attempt {} requeued: {}", id, attempt, reason);
          make_runnable(self, job);
          dispatch(self);
        });
}

void job_done(dispatcher_ptr self, job_outcome outcome) {
  auto& st = self->state;
  if (st.recovering) {
    // A rejoined slot reporting an attempt that ended while this server was
    // away: judged against the recovered queue.
    st.done_in_recovery.push_back(std::move(outcome));
    return;
  }
  auto j = st.jobs.find(outcome.job_id);
  bool current = j != st.jobs.end() && j->second.st == job_entry::state::running
                 && j->second.attempt == outcome.attempt && j->second.owner == outcome.lease_owner;
  // The slot is free either way: give it its next job first, so the gap
  // between two jobs on a slot does not include a commit.
  if (current) {
    uncount_running(self, j->second); // its tag's room is free for the next job
    auto slot = j->second.slot;
    if (auto sl = st.slots.find(slot); sl != st.slots.end() && sl->second.job == outcome.job_id)
      advance_slot(self, sl->second);
  }
  if (!current && j == st.jobs.end()) {
    // The job already ended: a rejoining slot reporting its last attempt
    // again, in case the first report was lost with the connection.
    st.log->debug("completion of job {} attempt {} ignored: the job has ended", outcome.job_id,
                  outcome.attempt);
    return;
  }
  if (!current) {
    ++st.stats.fenced;
    st.log->warn("stale completion of job {} attempt {} ignored", outcome.job_id, outcome.attempt);
    return;
  }
  auto& e = j->second;
  auto id = e.spec.id;
  auto attempt = e.attempt;
  auto status = outcome.status;
  auto result = outcome.result;
  auto duration = outcome.duration_ms;
  auto w = e.unclaimed_run ? complete_unclaimed_write(e, status, result)
                           : complete_write(e, status, result, outcome.flow_status);
  write(self, std::move(w),
        [self, id, attempt, status, result, duration](storage::op_result& r) {
          auto& s = self->state;
          if (r.ok() && !r.rows.empty()) {
            finish(self, id, status, result, duration);
            return;
          }
          if (r.ok()) {
            ++s.stats.fenced;
            s.log->warn("completion of job {} attempt {} was fenced (the attempt lost the job)",
                        id, attempt);
          } else {
            s.log->error("completion of job {} attempt {} was not recorded: {}", id, attempt,
                         r.message);
          }
          // Fenced, failed, or committed with the answer lost: the database
          // says which, and the job is finished or run again accordingly.
          reconcile(self, id, attempt);
        });
  // Until the completion commits the job stays in memory, settling, with no
  // slot: a second completion or a cancel finds it, a dispatch does not.
  e.slot.clear();
  e.st = job_entry::state::settling;
  uncount_running(self, e);
}

void finish(dispatcher_ptr self, const std::string& job_id, const std::string& status,
            const std::string& result, int64_t duration_ms) {
  auto& st = self->state;
  auto j = st.jobs.find(job_id);
  if (j == st.jobs.end())
    return;
  auto& e = j->second;
  ++st.stats.completed;
  ++st.stats.completed_by_status[status];
  job_result res{job_id, status, result, e.attempt, duration_ms};
  for (auto& w : e.waiters)
    w.deliver(res);
  for (auto& w : e.early_waiters)
    w.deliver(res);
  if (auto u = st.unfinished_by_ws.find(e.spec.workspace); u != st.unfinished_by_ws.end()
                                                            && u->second > 0)
    --u->second;
  uncount_running(self, e);
  st.jobs.erase(j);
}

} // namespace millrace::actors
