#include "actors/system/root.hpp"

#include "caf/all.hpp"

#include "actors/protocol/paths.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"

namespace millrace::actors {

caf::actor spawn_root(caf::actor_system& sys, std::shared_ptr<registry> reg, root_config cfg) {
  supervisor_config sc;
  sc.path = paths::root;
  sc.flags.strategy = restart_strategy::rest_for_one;
  sc.flags.intensity = 3;
  sc.flags.period = std::chrono::seconds{60};
  sc.reg = std::move(reg);
  sc.log = logger_for(paths::root);
  sc.children.push_back(storage_tree_spec(std::move(cfg.storage)));
  sc.children.push_back(dispatcher_spec(std::move(cfg.dispatcher)));
  if (cfg.worker)
    sc.children.push_back(worker_node_spec(std::move(*cfg.worker)));
  for (auto& c : cfg.extra)
    sc.children.push_back(std::move(c));
  return spawn_root_supervisor(sys, std::move(sc));
}

} // namespace millrace::actors
