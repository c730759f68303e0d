// The dispatcher's behavior: wires each message to its handler (submit.cpp,
// assign.cpp, outcome.cpp, registration.cpp, lease.cpp, cancel.cpp,
// recovery.cpp) and reports status.

#include "actors/dispatcher/dispatcher.hpp"

#include <utility>

#include <spdlog/spdlog.h>

#include "actors/dispatcher/dispatcher_state.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/types/uuid.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors {

namespace {

dispatcher_stats current_stats(dispatcher_ptr self) {
  auto& st = self->state;
  auto s = st.stats;
  s.queued = st.ready.size();
  s.delayed = st.delayed.size();
  // O(slots): stats are polled (metrics, benchmarks) while jobs pile up.
  // A running attempt always occupies a slot.
  s.running = 0;
  s.slots = st.slots.size();
  s.idle_slots = 0;
  for (auto& [name, slot] : st.slots) {
    if (slot.idle)
      ++s.idle_slots;
    else if (!slot.job.empty())
      s.running += 1 + slot.ahead.size();
  }
  for (auto& [lane, n] : st.ready.size_by_tag())
    s.queued_by_tag[tag_of_lane(lane)] += n; // a pinned lane counts as its tag
  s.recovering = st.recovering;
  s.idle_entries = 0;
  for (auto& [lane, names] : st.idle_by_tag)
    s.idle_entries += names.size();
  return s;
}

dispatcher_actor::behavior_type dispatcher(dispatcher_ptr self, dispatcher_config cfg,
                                           std::shared_ptr<registry> reg, std::string path) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.reg = std::move(reg);
  init.log = logger_for(path);
  // A new id per incarnation: lease owners written by a previous incarnation
  // never match ours, so their late writes are fenced.
  init.node_id = make_uuid_v7().substr(0, 13);
  init.clock_at_start = self->clock().now();
  init.wall_at_start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  self->set_down_handler([self](caf::down_msg& dm) { slot_down(self, dm.source, dm.reason); });
  if (init.cfg.recover)
    start_recovery(self);
  return {
    [self](submit_atom, job_spec& spec) { return submit(self, std::move(spec)); },
    [self](submit_atom, job_spec& spec, job_watcher_actor& w) {
      return submit(self, std::move(spec), {w});
    },
    [self](submit_atom, std::vector<job_spec>& specs) {
      return submit_many(self, std::move(specs));
    },
    [self](cancel_atom, std::string& id, std::string& by, std::string& reason) {
      return cancel(self, id, by, reason);
    },
    [self](wait_atom, std::string& id) { return wait_for(self, id); },
    [self](wait_atom, std::string& id, bool early_ok) { return wait_for(self, id, early_ok); },
    [self](progress_atom, std::string& id, std::string& result) {
      early_result(self, id, std::move(result));
    },
    [self](watch_atom, std::string& id, job_watcher_actor& w) { watch(self, id, w); },
    [self](register_atom, worker_slot_actor& h, slot_info& info) {
      register_slot(self, h, std::move(info));
    },
    [self](ready_atom, std::string& slot) {
      // Sent once per registration; a slot that already has work ignores it.
      if (auto s = self->state.slots.find(slot); s != self->state.slots.end() && s->second.job.empty())
        slot_ready(self, slot);
    },
    [self](done_atom, job_outcome& outcome) { job_done(self, std::move(outcome)); },
    [self](renew_atom, std::string& id, int32_t attempt) { renew(self, id, attempt); },
    [self](flush_atom) {
      flush(self);
      if (std::exchange(self->state.limit_freed, false))
        dispatch(self);
    },
    [self](due_atom, uint64_t token) { fire_due(self, token); },
    [self](expire_atom, std::string& id, int32_t attempt) { expire(self, id, attempt); },
    [self](recover_atom) { start_recovery(self); },
    [self](drain_atom, std::string& prefix, bool on) { return drain_slots(self, prefix, on); },
    [self](drain_atom, std::string& slot) { return slot_leave(self, slot); },
    [self](pin_atom, std::set<std::string>& tags) { return pick_node(self, tags); },
    [self](unpin_atom, std::string& node, std::string& flow_job, int32_t attempt) {
      unpin_run(self, node, flow_job, attempt);
    },
    [self](stats_atom) { return current_stats(self); },
    [self](status_atom) {
      auto s = current_stats(self);
      return make_status(self, std::string(self->state.recovering ? "recovering " : "")
                                 + "queued=" + std::to_string(s.queued) + " delayed="
                                 + std::to_string(s.delayed) + " running="
                                 + std::to_string(s.running) + " slots="
                                 + std::to_string(s.slots) + " idle="
                                 + std::to_string(s.idle_slots) + " completed="
                                 + std::to_string(s.completed) + " requeued="
                                 + std::to_string(s.requeued) + " fenced="
                                 + std::to_string(s.fenced));
    },
  };
}

} // namespace

caf::actor spawn_dispatcher(caf::actor_system& sys, dispatcher_config cfg,
                            std::shared_ptr<registry> reg, const std::string& path) {
  return caf::actor_cast<caf::actor>(sys.spawn(dispatcher, std::move(cfg), std::move(reg), path));
}

child_spec dispatcher_spec(dispatcher_config cfg) {
  child_spec spec;
  spec.id = "dispatcher";
  spec.kind = "dispatcher";
  spec.start = [cfg](const child_context& ctx) {
    return spawn_dispatcher(ctx.sys, cfg, ctx.reg, ctx.path);
  };
  return spec;
}

} // namespace millrace::actors
