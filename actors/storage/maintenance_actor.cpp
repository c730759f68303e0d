// Storage upkeep on the actor clock: creates daily partitions ahead of time
// and drops the ones past retention, through the writer (the only writer).

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/storage/storage_tree.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors {

namespace {

struct maintenance_state {
  static inline const char* name = "storage_maintenance";

  maintenance_config cfg;
  std::shared_ptr<registry> reg;
  std::shared_ptr<spdlog::logger> log;
  uint64_t runs = 0;
  uint64_t failures = 0;
  std::string last;
};

using maint_ptr = maintenance_actor::stateful_pointer<maintenance_state>;

std::string list_of(const storage::result_set& rs) {
  // A text[] result looks like {a,b}; "{}" means nothing was done.
  if (rs.rows.empty() || rs.rows[0].empty() || rs.rows[0][0].null)
    return "{}";
  return rs.rows[0][0].text;
}

void run_once(maint_ptr self) {
  auto& st = self->state;
  auto writer = st.reg->resolve_as<storage_writer_actor>(paths::storage_writer);
  if (!writer) {
    st.last = "writer not running";
    return;
  }
  ++st.runs;
  auto timeout = std::chrono::seconds{60};
  storage::write_request ensure{"ensure_partitions",
                                {std::to_string(st.cfg.partitions_ahead_days)}, ""};
  self->request(writer, timeout, write_atom_v, std::move(ensure))
    .then(
      [self](storage::result_set& rs) {
        auto created = list_of(rs);
        self->state.last = "partitions: " + created;
        if (created != "{}")
          self->state.log->info("partition upkeep: {}", created);
      },
      [self](caf::error& err) {
        ++self->state.failures;
        self->state.last = "partition upkeep failed: " + describe(err);
        self->state.log->warn("{}", self->state.last);
      });
  // Cached results past their expiry (cache_ttl).
  storage::write_request expired{"cache_drop_expired", {}, "maintenance"};
  self->request(writer, timeout, write_atom_v, std::move(expired))
    .then([](storage::result_set&) {},
          [self](caf::error& err) {
            ++self->state.failures;
            self->state.log->warn("dropping expired cached results failed: {}", describe(err));
          });
  if (st.cfg.retention_days <= 0)
    return;
  storage::write_request drop{"drop_partitions", {std::to_string(st.cfg.retention_days)}, ""};
  self->request(writer, timeout, write_atom_v, std::move(drop))
    .then(
      [self](storage::result_set& rs) {
        auto dropped = list_of(rs);
        if (dropped != "{}")
          self->state.log->info("retention dropped: {}", dropped);
      },
      [self](caf::error& err) {
        ++self->state.failures;
        self->state.log->warn("retention failed: {}", describe(err));
      });
  // Timers of ended flow runs, and approval records past retention.
  storage::write_request waits{"drop_flow_waits", {std::to_string(st.cfg.retention_days)},
                              "maintenance"};
  self->request(writer, timeout, write_atom_v, std::move(waits))
    .then([](storage::result_set&) {},
          [self](caf::error& err) {
            ++self->state.failures;
            self->state.log->warn("flow wait retention failed: {}", describe(err));
          });
}

maintenance_actor::behavior_type maintenance(maint_ptr self, maintenance_config cfg,
                                             std::shared_ptr<registry> reg, std::string path) {
  self->state.cfg = cfg;
  self->state.reg = std::move(reg);
  self->state.log = logger_for(path);
  self->send(self, maintain_atom_v);
  return {
    [self](maintain_atom) {
      run_once(self);
      self->delayed_send(self, self->state.cfg.interval, maintain_atom_v);
    },
    [self](status_atom) -> actor_status {
      auto& st = self->state;
      return make_status(self, "runs=" + std::to_string(st.runs) + " failures="
                                 + std::to_string(st.failures) + " last=" + st.last);
    },
  };
}

} // namespace

caf::actor spawn_storage_maintenance(caf::actor_system& sys, maintenance_config cfg,
                                     std::shared_ptr<registry> reg, const std::string& path) {
  return caf::actor_cast<caf::actor>(sys.spawn(maintenance, cfg, std::move(reg), path));
}

child_spec storage_tree_spec(storage_tree_config cfg) {
  std::vector<child_spec> kids;
  {
    child_spec w;
    w.id = "writer";
    w.kind = "storage_writer";
    // Stopping commits everything accepted; give it time to do so.
    w.shutdown = std::chrono::seconds{30};
    w.start = [c = cfg.writer](const child_context& ctx) {
      return spawn_storage_writer(ctx.sys, c, ctx.path);
    };
    kids.push_back(std::move(w));
  }
  {
    child_spec r;
    r.id = "reader";
    r.kind = "storage_reader";
    r.start = [c = cfg.reader](const child_context& ctx) {
      return spawn_storage_reader(ctx.sys, c, ctx.path);
    };
    kids.push_back(std::move(r));
  }
  {
    child_spec m;
    m.id = "maintenance";
    m.kind = "storage_maintenance";
    m.start = [c = cfg.maintenance](const child_context& ctx) {
      return spawn_storage_maintenance(ctx.sys, c, ctx.reg, ctx.path);
    };
    kids.push_back(std::move(m));
  }
  supervisor_flags flags;
  flags.strategy = restart_strategy::one_for_one;
  flags.intensity = 5;
  flags.period = std::chrono::seconds{30};
  return supervisor_spec("storage", flags, std::move(kids), logger_for(paths::storage));
}

} // namespace millrace::actors
