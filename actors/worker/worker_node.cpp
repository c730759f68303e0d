#include "actors/worker/worker_node.hpp"

#include "caf/all.hpp"

#include "actors/protocol/paths.hpp"
#include "actors/system/logging.hpp"

namespace millrace::actors {

child_spec worker_node_spec(worker_config cfg) {
  std::vector<child_spec> kids;
  for (size_t i = 1; i <= cfg.slots; ++i) {
    child_spec k;
    k.id = "slot-" + std::to_string(i);
    k.kind = "worker_slot";
    auto sc = cfg.slot;
    sc.name = cfg.node + "/slot-" + std::to_string(i);
    sc.tags = cfg.tags;
    // Stopping a slot kills its process; give the kill ladder its time.
    k.shutdown = sc.kill_grace + std::chrono::seconds{5};
    k.start = [sc](const child_context& ctx) { return spawn_slot(ctx.sys, sc, ctx.reg, ctx.path); };
    kids.push_back(std::move(k));
  }
  supervisor_flags flags;
  flags.strategy = restart_strategy::one_for_one;
  flags.intensity = static_cast<uint32_t>(std::max<size_t>(10, cfg.slots));
  flags.period = std::chrono::seconds{60};
  return supervisor_spec("worker", flags, std::move(kids), logger_for(paths::worker));
}

} // namespace millrace::actors
