#include "actors/supervision/supervisor.hpp"

#include <deque>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/type_ids.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors {

namespace {

struct child_slot {
  child_spec spec;
  caf::actor handle;
  bool running = false;
  /// Ended for good (temporary, or transient after a normal exit).
  bool removed = false;
  uint32_t restarts = 0;
};

struct supervisor_state {
  static inline const char* name = "supervisor";

  supervisor_config cfg;
  std::vector<child_slot> kids;
  std::deque<caf::actor_clock::time_point> restart_times;
  uint64_t total_restarts = 0;

  // Ordered stop: children still to stop, front first.
  std::deque<size_t> stop_queue;
  bool waiting = false;       // waiting for the down of stop_queue.front()
  uint64_t stop_token = 0;    // matches the pending stop timeout
  std::function<void()> after_stop;
  bool shutting_down = false; // final stop; the supervisor exits afterwards
};

using sup_ptr = caf::stateful_actor<supervisor_state>*;

void report(sup_ptr self, spdlog::level::level_enum lvl, const std::string& msg) {
  if (self->state.cfg.log)
    self->state.cfg.log->log(lvl, "{}", msg);
}

bool is_normal(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal
         || reason == caf::exit_reason::user_shutdown;
}

bool start_child(sup_ptr self, size_t i) {
  auto& st = self->state;
  auto& kid = st.kids[i];
  child_context ctx{self->system(), child_path(st.cfg.path, kid.spec.id), st.cfg.reg};
  auto h = kid.spec.start ? kid.spec.start(ctx) : caf::actor{};
  if (!h) {
    report(self, spdlog::level::err, "child " + kid.spec.id + " failed to start");
    return false;
  }
  self->monitor(h);
  kid.handle = h;
  kid.running = true;
  if (st.cfg.reg)
    st.cfg.reg->put(actor_entry{ctx.path, kid.spec.kind, st.cfg.path, h,
                                std::chrono::system_clock::now(), kid.restarts});
  return true;
}

void stop_next(sup_ptr self) {
  auto& st = self->state;
  while (!st.stop_queue.empty()) {
    auto i = st.stop_queue.front();
    auto& kid = st.kids[i];
    if (!kid.running) {
      st.stop_queue.pop_front();
      continue;
    }
    st.waiting = true;
    ++st.stop_token;
    self->send_exit(kid.handle, caf::exit_reason::user_shutdown);
    if (kid.spec.shutdown != caf::timespan::max())
      self->delayed_send(self, kid.spec.shutdown, stop_tmo_atom_v, st.stop_token);
    return;
  }
  st.waiting = false;
  if (st.after_stop) {
    auto f = std::move(st.after_stop);
    st.after_stop = nullptr;
    f();
  }
}

// Stops the running children among `order` (given in stop order), then runs `then`.
void begin_stop(sup_ptr self, std::vector<size_t> order, std::function<void()> then) {
  auto& st = self->state;
  st.stop_queue.assign(order.begin(), order.end());
  st.after_stop = std::move(then);
  stop_next(self);
}

std::vector<size_t> reverse_range(size_t from, size_t to) {
  std::vector<size_t> out;
  for (size_t i = to; i > from; --i)
    out.push_back(i - 1);
  return out;
}

void shutdown(sup_ptr self, caf::error reason) {
  auto& st = self->state;
  st.shutting_down = true;
  begin_stop(self, reverse_range(0, st.kids.size()),
             [self, reason] { self->quit(reason); });
}

// Records one restart; false when the budget is exceeded.
bool record_restart(sup_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  st.restart_times.push_back(now);
  while (!st.restart_times.empty() && now - st.restart_times.front() > st.cfg.flags.period)
    st.restart_times.pop_front();
  ++st.total_restarts;
  return st.restart_times.size() <= st.cfg.flags.intensity;
}

void escalate(sup_ptr self, const std::string& why) {
  report(self, spdlog::level::err,
         "restart intensity exceeded (" + why + "); stopping all children and escalating");
  shutdown(self, caf::make_error(supervision_errc::restart_intensity_exceeded, why));
}

// Starts `indices` (in start order) that are not removed.
void restart_children(sup_ptr self, const std::vector<size_t>& indices) {
  auto& st = self->state;
  for (auto i : indices) {
    auto& kid = st.kids[i];
    if (kid.removed || kid.running)
      continue;
    ++kid.restarts;
    if (!start_child(self, i)) {
      shutdown(self, caf::make_error(supervision_errc::child_start_failed, kid.spec.id));
      return;
    }
  }
}

void on_child_exit(sup_ptr self, size_t i, const caf::error& reason) {
  auto& st = self->state;
  auto& kid = st.kids[i];
  bool normal = is_normal(reason);
  bool restart = kid.spec.restart == restart_type::permanent
                 || (kid.spec.restart == restart_type::transient && !normal);
  auto why = normal ? std::string("normal exit") : describe(reason);
  if (!restart) {
    kid.removed = true;
    report(self, normal ? spdlog::level::info : spdlog::level::warn,
           "child " + kid.spec.id + " ended (" + why + "); " + to_string(kid.spec.restart)
             + ", not restarted");
    return;
  }
  if (!record_restart(self)) {
    escalate(self, "child " + kid.spec.id + ": " + why + "; more than "
                     + std::to_string(st.cfg.flags.intensity) + " restarts in "
                     + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        st.cfg.flags.period)
                                        .count())
                     + " ms");
    return;
  }
  report(self, spdlog::level::warn,
         "child " + kid.spec.id + " exited (" + why + "); restarting ("
           + to_string(st.cfg.flags.strategy) + ", restart " + std::to_string(kid.restarts + 1)
           + ")");
  switch (st.cfg.flags.strategy) {
    case restart_strategy::one_for_one:
      restart_children(self, {i});
      break;
    case restart_strategy::one_for_all: {
      std::vector<size_t> all;
      for (size_t k = 0; k < st.kids.size(); ++k)
        all.push_back(k);
      begin_stop(self, reverse_range(0, st.kids.size()), [self, all] {
        // Temporary children stopped by a sibling's restart are not restarted.
        for (auto k : all)
          if (self->state.kids[k].spec.restart == restart_type::temporary
              && !self->state.kids[k].running)
            self->state.kids[k].removed = true;
        restart_children(self, all);
      });
      break;
    }
    case restart_strategy::rest_for_one: {
      std::vector<size_t> rest;
      for (size_t k = i; k < st.kids.size(); ++k)
        rest.push_back(k);
      begin_stop(self, reverse_range(i + 1, st.kids.size()), [self, rest, i] {
        for (auto k : rest)
          if (k != i && self->state.kids[k].spec.restart == restart_type::temporary
              && !self->state.kids[k].running)
            self->state.kids[k].removed = true;
        restart_children(self, rest);
      });
      break;
    }
  }
}

caf::behavior supervisor(sup_ptr self, supervisor_config cfg) {
  self->state.cfg = std::move(cfg);
  {
    auto& init = self->state;
    for (auto& spec : init.cfg.children)
      init.kids.push_back(child_slot{spec, caf::actor{}, false, false, 0});
    init.cfg.children.clear();
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    size_t i = 0;
    for (; i < st.kids.size(); ++i)
      if (st.kids[i].running && st.kids[i].handle.address() == dm.source)
        break;
    if (i == st.kids.size())
      return; // an old incarnation, or not ours
    auto& kid = st.kids[i];
    kid.running = false;
    if (st.cfg.reg)
      st.cfg.reg->remove(child_path(st.cfg.path, kid.spec.id), dm.source);
    kid.handle = caf::actor{};
    if (st.waiting && !st.stop_queue.empty() && st.stop_queue.front() == i) {
      st.stop_queue.pop_front();
      st.waiting = false;
      stop_next(self);
      return;
    }
    if (st.shutting_down || st.waiting || !st.stop_queue.empty()) {
      // Exited while its siblings are being stopped: it is handled by the
      // ongoing stop (shutdown, or the restart that follows it).
      if (!is_normal(dm.reason))
        report(self, spdlog::level::warn,
               "child " + kid.spec.id + " exited during a stop: " + describe(dm.reason));
      return;
    }
    on_child_exit(self, i, dm.reason);
  });
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (self->state.shutting_down)
      return;
    shutdown(self, em.reason);
  });
  for (size_t i = 0; i < self->state.kids.size(); ++i) {
    if (!start_child(self, i)) {
      shutdown(self, caf::make_error(supervision_errc::child_start_failed,
                                     self->state.kids[i].spec.id));
      break;
    }
  }
  return {
    [self](stop_tmo_atom, uint64_t token) {
      auto& st = self->state;
      if (!st.waiting || token != st.stop_token || st.stop_queue.empty())
        return;
      auto& kid = st.kids[st.stop_queue.front()];
      if (!kid.running)
        return;
      report(self, spdlog::level::warn,
             "child " + kid.spec.id + " did not stop within its shutdown timeout; killing it");
      self->send_exit(kid.handle, caf::exit_reason::kill);
    },
    [self](status_atom) -> actor_status {
      auto& st = self->state;
      size_t running = 0;
      for (auto& k : st.kids)
        running += k.running ? 1 : 0;
      auto mode = st.shutting_down ? " stopping" : "";
      return make_status(self, to_string(st.cfg.flags.strategy) + " children="
                                 + std::to_string(running) + "/"
                                 + std::to_string(st.kids.size()) + " running restarts="
                                 + std::to_string(st.total_restarts) + " window="
                                 + std::to_string(st.restart_times.size()) + "/"
                                 + std::to_string(st.cfg.flags.intensity) + mode);
    },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg) {
  return sys.spawn(supervisor, std::move(cfg));
}

caf::actor spawn_root_supervisor(caf::actor_system& sys, supervisor_config cfg) {
  auto reg = cfg.reg;
  auto path = cfg.path;
  auto h = sys.spawn(supervisor, std::move(cfg));
  if (reg)
    reg->put(actor_entry{path, "supervisor", "", h, std::chrono::system_clock::now(), 0});
  return h;
}

child_spec supervisor_spec(std::string id, supervisor_flags flags,
                           std::vector<child_spec> children,
                           std::shared_ptr<spdlog::logger> log, restart_type restart) {
  child_spec spec;
  spec.id = std::move(id);
  spec.kind = "supervisor";
  spec.restart = restart;
  spec.shutdown = caf::timespan::max();
  spec.start = [flags, children = std::move(children), log](const child_context& ctx) {
    supervisor_config cfg;
    cfg.path = ctx.path;
    cfg.flags = flags;
    cfg.children = children;
    cfg.reg = ctx.reg;
    cfg.log = log;
    return spawn_supervisor(ctx.sys, std::move(cfg));
  };
  return spec;
}

std::string to_string(restart_type x) {
  switch (x) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
  }
  return "?";
}

std::string to_string(restart_strategy x) {
  switch (x) {
    case restart_strategy::one_for_one: return "one_for_one";
    case restart_strategy::one_for_all: return "one_for_all";
    case restart_strategy::rest_for_one: return "rest_for_one";
  }
  return "?";
}

} // namespace millrace::actors
