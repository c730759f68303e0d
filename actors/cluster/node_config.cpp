#include "actors/cluster/node_config.hpp"

#include <unistd.h>

#include "caf/actor_system_config.hpp"
#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/timespan.hpp"

namespace millrace::actors {

void enable_cluster(caf::actor_system_config& cfg, std::chrono::milliseconds heartbeat,
                    std::chrono::milliseconds timeout, const cluster_tls* tls) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{heartbeat});
  cfg.set("middleman.connection-timeout", caf::timespan{timeout});
  if (tls != nullptr) {
    cfg.openssl_certificate = tls->certificate;
    cfg.openssl_key = tls->key;
    cfg.openssl_cafile = tls->cafile;
    cfg.load<caf::openssl::manager>();
  }
}

caf::io::middleman_actor cluster_transport(caf::actor_system& sys) {
  return sys.has_openssl_manager() ? sys.openssl_manager().actor_handle()
                                   : sys.middleman().actor_handle();
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
