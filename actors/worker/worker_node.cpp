#include "actors/worker/worker_node.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/paths.hpp"
#include "actors/system/logging.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors {

namespace {

// Asks the launcher for standby sandboxes of each language the node serves
// (by its default tag), so that even the first job of each starts warm.
// Only the shape counts (limits, no network), not the code.
void prepare_standbys(const slot_config& sc) {
  if (!sc.launcher)
    return;
  for (auto& lang : runtime::languages()) {
    if (std::find(sc.tags.begin(), sc.tags.end(), lang.default_tag) == sc.tags.end())
      continue;
    auto* rt = runtime::find_runtime(lang.name);
    if (!rt)
      continue;
    runtime::job_input in;
    in.job_id = "standby";
    try {
      sc.launcher->prepare(rt->plan(in), sc.limits);
    } catch (const std::exception& e) {
      logger_for(paths::worker)->warn("no standby sandboxes prepared for {}: {}", lang.name,
                                      e.what());
    }
  }
}

} // namespace

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
    bool first = i == 1;
    k.start = [sc, first](const child_context& ctx) {
      if (first)
        prepare_standbys(sc);
      return spawn_slot(ctx.sys, sc, ctx.reg, ctx.path);
    };
    kids.push_back(std::move(k));
  }
  supervisor_flags flags;
  flags.strategy = restart_strategy::one_for_one;
  flags.intensity = static_cast<uint32_t>(std::max<size_t>(10, cfg.slots));
  flags.period = std::chrono::seconds{60};
  return supervisor_spec("worker", flags, std::move(kids), logger_for(paths::worker));
}

} // namespace millrace::actors
