// The flow slot pool (/millrace/flows/slots): grows and shrinks the flow
// slots so that
// - at most flows.slots top-level flow runs make progress at once, not
//   counting runs parked on an approval or a long sleep (those wait for
//   time or a person, and a full house of them must not stop new flows);
// - a sub-flow never waits for a slot: slots kept for the sub-flow lane
//   alone always have one idle, so a parent waiting for its sub-flow cannot
//   hold the slot that sub-flow needs (no deadlock at any nesting depth).
// It keeps up to spare_slots idle slots for top-level flows and one for
// sub-flows; a slot idle beyond that for a whole tick leaves through the
// dispatcher (`drain` with its name), which answers once the slot holds no
// job, so a job is never sent to a slot that is stopping.

#include <chrono>
#include <map>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/flow/detail/pool.hpp"
#include "actors/flow/flow_run.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"
#include "runtime/expr/evaluator.hpp"

namespace millrace::actors {

namespace flow_engine {

namespace {

constexpr auto tick_every = std::chrono::seconds{5};

struct pool_slot {
  caf::actor handle;
  std::string path;
  /// Serves top-level flows too; else only the sub-flow lane.
  bool any = true;
  bool busy = false;
  bool leaving = false;
  /// Ticks it has been idle in a row.
  uint32_t idle_ticks = 0;
};

struct pool_state {
  static inline const char* name = "flow_pool";

  flow_engine_config cfg;
  std::shared_ptr<registry> reg;
  std::string path;
  std::map<std::string, pool_slot> slots; // by slot name
  std::unordered_map<caf::actor_addr, std::string> by_addr;
  /// Approval waiters and long timers: each parks one run.
  std::set<caf::actor_addr> parked;
  uint64_t made = 0;
  uint64_t left = 0;
  std::shared_ptr<spdlog::logger> log;
};

using pool_actor = caf::stateful_actor<pool_state>;

struct counts {
  size_t any = 0, any_idle = 0, any_busy = 0, sub_idle = 0, sub_busy = 0;
};

counts count(pool_actor* self) {
  counts c;
  for (auto& [name, s] : self->state.slots) {
    if (s.leaving)
      continue;
    if (s.any) {
      ++c.any;
      ++(s.busy ? c.any_busy : c.any_idle);
    } else {
      ++(s.busy ? c.sub_busy : c.sub_idle);
    }
  }
  return c;
}

/// Top-level flow runs that may hold a slot now.
size_t limit(pool_actor* self) {
  return self->state.cfg.slots + self->state.parked.size();
}

void spawn_one(pool_actor* self, bool any) {
  auto& st = self->state;
  auto n = ++st.made;
  auto name = st.cfg.node + "/flow-" + std::to_string(n);
  auto path = st.path + "/" + std::to_string(n);
  std::vector<std::string> lanes;
  if (any)
    lanes.emplace_back(job_kind::flow_tag);
  lanes.emplace_back(job_kind::subflow_lane);
  auto h = spawn_flow_slot(self, st.cfg, name, std::move(lanes), st.reg, path);
  st.reg->put(actor_entry{path, any ? "flow_slot" : "flow_slot (sub-flows)", st.path, h,
                          std::chrono::system_clock::now(), 0});
  st.by_addr[h.address()] = name;
  st.slots[name] = pool_slot{h, path, any, false, false, 0};
}

void leave(pool_actor* self, const std::string& name) {
  auto& st = self->state;
  auto it = st.slots.find(name);
  if (it == st.slots.end() || it->second.leaving)
    return;
  it->second.leaving = true;
  auto h = it->second.handle;
  auto d = st.reg->resolve_as<dispatcher_actor>(paths::dispatcher);
  if (!d) {
    self->send_exit(h, caf::exit_reason::user_shutdown);
    return;
  }
  // Answered once the dispatcher forgot the slot: nothing is on its way to
  // it, so stopping it loses nothing.
  self->request(d, caf::infinite, drain_atom_v, name)
    .then([self, h](bool) { self->send_exit(h, caf::exit_reason::user_shutdown); },
          [self, h](caf::error&) { self->send_exit(h, caf::exit_reason::user_shutdown); });
}

/// Spawns what is missing now; lets go at once of top-level slots above the
/// limit (a parked run woke up).
void maintain(pool_actor* self) {
  auto& st = self->state;
  auto c = count(self);
  auto spare = std::min(spare_slots, st.cfg.slots);
  while (c.any < limit(self) && c.any_idle < spare) {
    spawn_one(self, true);
    ++c.any;
    ++c.any_idle;
  }
  if (c.sub_idle == 0)
    spawn_one(self, false);
  if (c.any > limit(self) && c.any_idle > 0) {
    auto extra = std::min(c.any - limit(self), c.any_idle);
    for (auto& [name, s] : st.slots) {
      if (extra == 0)
        break;
      if (s.any && !s.busy && !s.leaving) {
        leave(self, name);
        --extra;
      }
    }
  }
}

/// Slots idle beyond the spares for a whole tick leave.
void tick(pool_actor* self) {
  auto& st = self->state;
  auto c = count(self);
  auto spare = std::min(spare_slots, st.cfg.slots);
  size_t any_extra = c.any_idle > spare ? c.any_idle - spare : 0;
  size_t sub_extra = c.sub_idle > 1 ? c.sub_idle - 1 : 0;
  std::vector<std::string> go;
  for (auto& [name, s] : st.slots) {
    if (s.busy || s.leaving) {
      s.idle_ticks = 0;
      continue;
    }
    auto& extra = s.any ? any_extra : sub_extra;
    if (extra > 0 && s.idle_ticks >= 1) {
      go.push_back(name);
      --extra;
    } else {
      ++s.idle_ticks;
    }
  }
  for (auto& name : go)
    leave(self, name);
}

void slot_gone(pool_actor* self, const caf::actor_addr& who, const caf::error& reason) {
  auto& st = self->state;
  auto a = st.by_addr.find(who);
  if (a == st.by_addr.end())
    return;
  auto name = a->second;
  st.by_addr.erase(a);
  auto it = st.slots.find(name);
  if (it == st.slots.end())
    return;
  if (!it->second.leaving)
    st.log->warn("flow slot {} stopped: {}", name, describe(reason));
  else
    ++st.left;
  st.reg->remove(it->second.path, who);
  st.slots.erase(it);
  maintain(self);
}

caf::behavior flow_pool(pool_actor* self, flow_engine_config cfg, std::shared_ptr<registry> reg,
                        std::string path) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.reg = std::move(reg);
  st.path = std::move(path);
  st.log = logger_for(paths::flows);
  self->set_exit_handler([self](caf::exit_msg& m) {
    if (self->state.by_addr.count(m.source) != 0)
      return slot_gone(self, m.source, m.reason);
    // Our supervisor stops us: the linked slots stop with us.
    self->quit(m.reason);
  });
  self->set_down_handler([self](caf::down_msg& m) {
    if (self->state.parked.erase(m.source) != 0)
      maintain(self);
  });
  maintain(self);
  self->delayed_send(self, tick_every, wake_atom_v, uint64_t{0});
  return {
    [self](run_atom, std::string& name) {
      if (auto it = self->state.slots.find(name); it != self->state.slots.end()) {
        it->second.busy = true;
        it->second.idle_ticks = 0;
      }
      maintain(self);
    },
    [self](ready_atom, std::string& name) {
      if (auto it = self->state.slots.find(name); it != self->state.slots.end())
        it->second.busy = false;
      maintain(self);
    },
    [self](suspend_atom, caf::actor& who) {
      if (!who || !self->state.parked.insert(who.address()).second)
        return;
      self->monitor(who);
      maintain(self);
    },
    [self](wake_atom, uint64_t) {
      tick(self);
      self->delayed_send(self, tick_every, wake_atom_v, uint64_t{0});
    },
    [self](status_atom) {
      auto c = count(self);
      auto& s = self->state;
      return make_status(self, "top-level slots " + std::to_string(c.any_busy) + " busy "
                                 + std::to_string(c.any_idle) + " idle (limit "
                                 + std::to_string(limit(self)) + ": flows.slots "
                                 + std::to_string(s.cfg.slots) + " + "
                                 + std::to_string(s.parked.size()) + " parked); sub-flow slots "
                                 + std::to_string(c.sub_busy) + " busy "
                                 + std::to_string(c.sub_idle) + " idle; made "
                                 + std::to_string(s.made) + ", left "
                                 + std::to_string(s.left));
    },
  };
}

} // namespace

void park_run(const caf::actor& who, const registry& reg) {
  if (auto pool = reg.resolve(paths::flow_slots))
    caf::anon_send(pool, suspend_atom_v, who);
}

} // namespace flow_engine

size_t initial_flow_slots(const flow_engine_config& cfg) {
  return cfg.slots == 0 ? 0 : std::min(flow_engine::spare_slots, cfg.slots) + 1;
}

child_spec flow_engine_spec(flow_engine_config cfg) {
  if (!cfg.eval)
    cfg.eval = std::make_shared<expr::evaluator>();
  child_spec k;
  k.id = "slots";
  k.kind = "flow_pool";
  k.start = [cfg](const child_context& ctx) {
    return caf::actor_cast<caf::actor>(ctx.sys.spawn(flow_engine::flow_pool, cfg, ctx.reg, ctx.path));
  };
  supervisor_flags flags;
  flags.strategy = restart_strategy::one_for_one;
  flags.intensity = 10;
  flags.period = std::chrono::seconds{60};
  return supervisor_spec("flows", flags, {std::move(k)}, logger_for(paths::flows));
}

} // namespace millrace::actors
