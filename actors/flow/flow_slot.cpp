// A flow slot: the worker-slot protocol (register, run, claimed, cancel,
// abort, renew) for the flow lanes (flow_pool.cpp spawns them). It starts a
// flow_run actor once the attempt's claim is committed, renews the lease
// while the run lives, and passes cancel and abort on. The run reports its
// outcome itself. It tells its pool when it takes a job and when it holds
// none again.

#include "actors/flow/detail/pool.hpp"

#include <optional>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/flow/flow_run.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"
#include "runtime/expr/evaluator.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors {

namespace {

struct flow_slot_state {
  static inline const char* name = "flow_slot";

  flow_engine_config cfg;
  std::string slot_name;
  std::vector<std::string> lanes;
  caf::actor pool;
  std::string path;
  std::shared_ptr<registry> reg;
  std::shared_ptr<spdlog::logger> log;
  std::optional<job_assignment> job;
  caf::actor run;
  uint64_t token = 0;
  uint64_t runs = 0;

  ~flow_slot_state() {
    // A slot that stops takes its run with it, without canceling the steps:
    // the job's next attempt resumes and waits for them.
    if (run)
      caf::anon_send(run, abort_atom_v);
  }
};

using flow_slot_ptr = worker_slot_actor::stateful_pointer<flow_slot_state>;

dispatcher_actor dispatcher_of(flow_slot_ptr self) {
  return self->state.reg->resolve_as<dispatcher_actor>(paths::dispatcher);
}

bool is_current(flow_slot_ptr self, const std::string& id, int32_t attempt) {
  auto& j = self->state.job;
  return j && j->job_id == id && j->attempt == attempt;
}

void register_with_dispatcher(flow_slot_ptr self) {
  auto d = dispatcher_of(self);
  if (!d) {
    self->delayed_send(self, std::chrono::milliseconds{100}, register_atom_v);
    return;
  }
  self->send(d, register_atom_v, caf::actor_cast<worker_slot_actor>(self),
             slot_info{self->state.slot_name, self->state.lanes, {}, 0, {}, false});
  self->send(d, ready_atom_v, self->state.slot_name);
}

// The slot holds no job any more: its pool may count it idle.
void now_free(flow_slot_ptr self) {
  auto& s = self->state;
  s.job.reset();
  caf::anon_send(s.pool, ready_atom_v, s.slot_name);
}

worker_slot_actor::behavior_type flow_slot(flow_slot_ptr self, flow_engine_config cfg,
                                           std::string slot_name, std::vector<std::string> lanes,
                                           caf::actor pool, std::shared_ptr<registry> reg,
                                           std::string path) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.slot_name = std::move(slot_name);
  st.lanes = std::move(lanes);
  st.pool = std::move(pool);
  st.reg = std::move(reg);
  st.path = std::move(path);
  st.log = logger_for(paths::flows);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (dm.source != s.run)
      return;
    s.run = nullptr;
    if (s.job && dm.reason != caf::exit_reason::normal
        && dm.reason != caf::exit_reason::user_shutdown) {
      // The run crashed before it reported: fail the attempt.
      job_outcome out{s.job->job_id, s.job->attempt, s.job->lease_owner, job_status::failure,
                      runtime::error_json("FlowEngineError",
                                          "the flow run stopped: " + describe(dm.reason)),
                      0, {}};
      if (auto d = dispatcher_of(self))
        self->send(d, done_atom_v, std::move(out));
    }
    ++s.runs;
    if (s.job)
      now_free(self);
  });
  register_with_dispatcher(self);
  return {
    [self](run_atom, job_assignment& a, std::vector<job_watcher_actor>&) {
      auto& s = self->state;
      if (s.job && s.run) {
        // The dispatcher hands out a new job only after the previous run
        // reported its outcome: that run is quitting normally. Forget it
        // (its down message must not touch the new job).
        self->demonitor(s.run);
        s.run = nullptr;
        ++s.runs;
      }
      if (!s.job)
        caf::anon_send(s.pool, run_atom_v, s.slot_name);
      s.job = std::move(a);
      ++s.token;
    },
    [self](claimed_atom, std::string& id, int32_t attempt) {
      auto& s = self->state;
      if (!is_current(self, id, attempt) || s.run)
        return;
      s.run = spawn_flow_run(self, *s.job, s.reg, s.cfg.eval, s.path + "/run");
      self->monitor(s.run);
      self->delayed_send(self, s.cfg.renew_every, tick_atom_v, s.token);
    },
    [self](cancel_atom, std::string& id, int32_t attempt) {
      if (is_current(self, id, attempt) && self->state.run)
        caf::anon_send(self->state.run, cancel_atom_v);
    },
    [self](abort_atom, std::string& id, int32_t attempt) {
      auto& s = self->state;
      if (!is_current(self, id, attempt))
        return;
      if (s.run) {
        self->demonitor(s.run);
        caf::anon_send(s.run, abort_atom_v);
        s.run = nullptr;
      }
      now_free(self);
    },
    [](watch_atom, std::string&, job_watcher_actor&) {},
    [](output_atom, uint64_t, uint8_t, std::string&) {},
    [](exited_atom, uint64_t, exit_record&) {},
    [self](tick_atom, uint64_t token) { // the lease renewal
      auto& s = self->state;
      if (token != s.token || !s.job || !s.run)
        return;
      if (auto d = dispatcher_of(self))
        self->send(d, renew_atom_v, s.job->job_id, s.job->attempt);
      self->delayed_send(self, s.cfg.renew_every, tick_atom_v, token);
    },
    [self](register_atom) { register_with_dispatcher(self); },
    [](unpin_atom, std::string&) {}, // flow slots hold no shared folders
    [](sweep_atom) { return std::set<std::string>{}; },
    [self](status_atom) {
      auto& s = self->state;
      std::string summary = s.job ? "running flow " + s.job->job_id + " attempt "
                                      + std::to_string(s.job->attempt)
                                  : std::string("idle");
      summary += " runs=" + std::to_string(s.runs);
      return make_status(self, std::move(summary));
    },
  };
}

} // namespace

namespace flow_engine {

caf::actor spawn_flow_slot(caf::local_actor* pool, const flow_engine_config& cfg,
                           std::string name, std::vector<std::string> lanes,
                           std::shared_ptr<registry> reg, std::string path) {
  return caf::actor_cast<caf::actor>(pool->spawn<caf::linked>(
    flow_slot, cfg, std::move(name), std::move(lanes), caf::actor_cast<caf::actor>(pool),
    std::move(reg), std::move(path)));
}

} // namespace flow_engine

} // namespace millrace::actors
