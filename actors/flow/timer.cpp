// Timer actors: each sleep and each retry delay of a flow run is an actor on
// the actor clock, linked to its sequence and listed in the registry
// ("retry 2 of step b, fires in 4.2 s").
//
// The deadline is durable: the first time a run reaches a wait, its deadline
// is written (flow_timer_start, on the database clock) under a key that names
// the step's place in the flow; a run resumed after a crash gets the same
// deadline back and waits only what is left, or fires at once when it passed.
// Without storage the timer still fires, from its own start (logged).

#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "actors/flow/detail/pool.hpp"
#include "actors/flow/detail/sequence_state.hpp"
#include "actors/flow/flow_run.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors::flow_engine {

namespace {

/// Sleeps and retry delays from this long on park their run.
constexpr int64_t park_after_ms = 1000;

struct timer_state {
  static inline const char* name = "flow_timer";
  std::string what;
  bool armed = false;
  bool durable = false;
  std::chrono::steady_clock::time_point fires;
};

using timer_actor = caf::stateful_actor<timer_state>;

void arm(timer_actor* self, int64_t left_ms) {
  auto& st = self->state;
  st.armed = true;
  auto d = std::chrono::milliseconds{std::max<int64_t>(0, left_ms)};
  st.fires = std::chrono::steady_clock::now() + d;
  self->delayed_send(self, d, wake_atom_v, uint64_t{0});
}

caf::behavior timer(timer_actor* self, std::shared_ptr<run_context> ctx, std::string key,
                    std::string what, int64_t ms, caf::actor seq, uint64_t op, std::string path) {
  auto& st = self->state;
  st.what = std::move(what);
  auto reg = ctx->reg;
  reg->put(actor_entry{path, "flow_timer", parent_path(path), caf::actor_cast<caf::actor>(self),
                       std::chrono::system_clock::now(), 0});
  self->attach_functor([reg, path, addr = self->address()] { reg->remove(path, addr); });
  // A long wait parks the run: its slot does not count against flows.slots.
  if (ms >= park_after_ms)
    park_run(caf::actor_cast<caf::actor>(self), *reg);
  auto writer = reg->resolve_as<storage_writer_actor>(paths::storage_writer);
  if (!writer) {
    logger_for(paths::flows)->warn("flow {}: {}: storage is not running, the deadline is not "
                                   "recorded",
                                   ctx->flow_job_id, st.what);
    arm(self, ms);
  } else {
    ctx->used_timers = true;
    storage::write_request req{"flow_timer_start",
                               {ctx->flow_job_id, key, std::to_string(ms)},
                               ctx->flow_job_id};
    self->request(writer, std::chrono::seconds{30}, write_atom_v, std::move(req))
      .then(
        [self, ms](storage::result_set& rs) {
          auto left = ms;
          if (!rs.empty() && rs.column("left_ms") >= 0)
            left = std::atoll(rs.rows[0][rs.column("left_ms")].text.c_str());
          self->state.durable = true;
          arm(self, left);
        },
        [self, ctx, ms](caf::error& e) {
          logger_for(paths::flows)->warn("flow {}: {}: the deadline is not recorded ({}); it "
                                         "counts from now",
                                         ctx->flow_job_id, self->state.what, describe(e));
          arm(self, ms);
        });
  }
  return {
    [self, seq, op](wake_atom, uint64_t) {
      self->send(seq, wake_atom_v, op);
      self->quit();
    },
    [self](status_atom) {
      auto& s = self->state;
      if (!s.armed)
        return make_status(self, s.what + ": reading its deadline");
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    s.fires - std::chrono::steady_clock::now())
                    .count();
      return make_status(self, s.what + ": fires in " + std::to_string(std::max<int64_t>(0, left))
                                 + " ms" + (s.durable ? "" : " (deadline not recorded)"));
    },
  };
}

} // namespace

caf::actor spawn_timer(caf::actor_system& sys, std::shared_ptr<run_context> ctx, std::string key,
                       std::string what, int64_t ms, caf::actor target, uint64_t op,
                       std::string path) {
  return sys.spawn(timer, std::move(ctx), std::move(key), std::move(what), ms, std::move(target),
                   op, std::move(path));
}

void wait_timer(seq_actor* self, const std::string& key, std::string what, double seconds,
                std::function<void()> k) {
  auto& st = self->state;
  if (seconds <= 0)
    return sleep_then(self, 0, std::move(k));
  auto op = ++st.op;
  st.on_wake = std::move(k);
  auto ms = static_cast<int64_t>(std::ceil(seconds * 1000.0));
  auto seq = caf::actor_cast<caf::actor>(self);
  self->spawn<caf::linked>(timer, st.ctx, key, std::move(what), ms, seq, op,
                           st.in.path + "/timer");
}

} // namespace millrace::actors::flow_engine
