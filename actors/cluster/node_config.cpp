#include "actors/cluster/node_config.hpp"

#include <unistd.h>

#include "caf/actor_system_config.hpp"
#include "caf/io/middleman.hpp"
#include "caf/timespan.hpp"

namespace millrace::actors {

void enable_cluster(caf::actor_system_config& cfg, std::chrono::milliseconds heartbeat,
                    std::chrono::milliseconds timeout) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{heartbeat});
  cfg.set("middleman.connection-timeout", caf::timespan{timeout});
}

node_info this_node(std::string name, std::vector<std::string> tags, int32_t slots) {
  if (name.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) == 0)
      name = host;
  }
  node_info n;
  n.name = std::move(name);
  n.version = MILLRACE_VERSION;
  n.protocol = cluster_protocol;
  n.tags = std::move(tags);
  n.slots = slots;
  n.cpus = static_cast<int32_t>(::sysconf(_SC_NPROCESSORS_ONLN));
  auto pages = ::sysconf(_SC_PHYS_PAGES);
  auto page = ::sysconf(_SC_PAGESIZE);
  n.memory_bytes = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
  return n;
}

} // namespace millrace::actors
