// Cancel, wait and watch: requests about one job.

#include <spdlog/spdlog.h>

#include "actors/dispatcher/read_status.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/registry.hpp"

namespace millrace::actors {


caf::result<cancel_reply> cancel(dispatcher_ptr self, const std::string& job_id,
                                 const std::string& by, const std::string& reason) {
  auto& st = self->state;
  auto rp = self->make_response_promise<cancel_reply>();
  auto j = st.jobs.find(job_id);
  if (j == st.jobs.end()) {
    read_status(
      self, job_id,
      [rp, job_id](storage::result_set& rs) mutable {
        auto state = status_cell(rs, "state");
        if (state == "queued" || state == "running")
          rp.deliver(caf::make_error(dispatch_errc::not_found,
                                     "job " + job_id + " is " + state
                                       + " but not held by this dispatcher"));
        else
          rp.deliver(caf::make_error(dispatch_errc::already_finished,
                                     "job " + job_id + " already finished: " + state));
      },
      [rp](caf::error err) mutable { rp.deliver(err); });
    return rp;
  }
  auto& e = j->second;
  // A job without a process is over within microseconds of reaching its
  // slot, and nothing of it is in the database to mark: it finishes.
  if (e.st == job_entry::state::settling
      || (e.st == job_entry::state::running && e.unclaimed_run)) {
    rp.deliver(cancel_reply{job_id, "finishing"});
    return rp;
  }
  if (e.st == job_entry::state::running) {
    if (e.cancel_requested) {
      rp.deliver(cancel_reply{job_id, "already_canceling"});
      return rp;
    }
    e.cancel_requested = true;
    write(self, request_cancel_write(e, by, reason), [](storage::op_result&) {});
    if (auto sl = st.slots.find(e.slot); sl != st.slots.end())
      self->send(sl->second.handle, cancel_atom_v, job_id, e.attempt);
    rp.deliver(cancel_reply{job_id, "canceling"});
    return rp;
  }
  // Queued or delayed: it never runs. Take it out of memory now, so no slot
  // picks it up while the cancel commits.
  if (e.st == job_entry::state::queued)
    st.ready.erase(lane_of(e.spec), e.spec.workspace,
                   ready_key{e.spec.priority, e.scheduled_ms, e.seq, e.spec.id});
  else
    for (auto d = st.delayed.begin(); d != st.delayed.end(); ++d)
      if (d->second == job_id) {
        st.delayed.erase(d);
        break;
      }
  e.st = job_entry::state::settling;
  auto result = std::string(R"({"name":"Canceled","message":"canceled by )") + by
                + (reason.empty() ? std::string{} : ": " + reason) + "\"}";
  write(self, cancel_queued_write(e, by, reason),
        [self, rp, job_id, result](storage::op_result& r) mutable {
          auto& s = self->state;
          if (!r.ok()) {
            // Not canceled: it stays queued.
            if (auto j2 = s.jobs.find(job_id); j2 != s.jobs.end()) {
              make_runnable(self, j2->second);
              dispatch(self);
            }
            rp.deliver(caf::make_error(r.code, r.message));
            return;
          }
          finish(self, job_id, job_status::canceled, result, 0);
          rp.deliver(cancel_reply{job_id, "canceled"});
        });
  return rp;
}

void early_result(dispatcher_ptr self, const std::string& job_id, std::string result) {
  auto j = self->state.jobs.find(job_id);
  if (j == self->state.jobs.end() || j->second.early_result)
    return;
  auto& e = j->second;
  e.early_result = std::move(result);
  job_result res{job_id, job_status::success, *e.early_result, e.attempt, 0};
  for (auto& w : std::exchange(e.early_waiters, {}))
    w.deliver(res);
}

caf::result<job_result> wait_for(dispatcher_ptr self, const std::string& job_id, bool early_ok) {
  auto& st = self->state;
  auto rp = self->make_response_promise<job_result>();
  auto j = st.jobs.find(job_id);
  if (j != st.jobs.end()) {
    auto& e = j->second;
    if (early_ok && e.early_result)
      rp.deliver(job_result{job_id, job_status::success, *e.early_result, e.attempt, 0});
    else
      (early_ok ? e.early_waiters : e.waiters).push_back(rp);
    return rp;
  }
  read_status(
    self, job_id,
    [self, rp, job_id](storage::result_set& rs) mutable {
      auto state = status_cell(rs, "state");
      if (state == "queued" || state == "running") {
        // Submitted but not admitted yet (its commit is in flight): retry
        // once it is, by waiting on the entry if it appeared meanwhile.
        auto j2 = self->state.jobs.find(job_id);
        if (j2 != self->state.jobs.end()) {
          j2->second.waiters.push_back(rp);
          return;
        }
        rp.deliver(caf::make_error(dispatch_errc::not_found,
                                   "job " + job_id + " is " + state
                                     + " but not held by this dispatcher"));
        return;
      }
      auto attempt = status_cell(rs, "attempt");
      rp.deliver(job_result{job_id, state, result_cell(rs),
                            attempt.empty() ? 0 : std::atoi(attempt.c_str()), 0});
    },
    [rp](caf::error err) mutable { rp.deliver(err); });
  return rp;
}

void watch(dispatcher_ptr self, const std::string& job_id, job_watcher_actor watcher) {
  auto& st = self->state;
  auto j = st.jobs.find(job_id);
  if (j == st.jobs.end())
    return;
  auto& e = j->second;
  e.watchers.push_back(watcher);
  if (e.st == job_entry::state::running)
    if (auto sl = st.slots.find(e.slot); sl != st.slots.end())
      self->send(sl->second.handle, watch_atom_v, job_id, watcher);
}

} // namespace millrace::actors
