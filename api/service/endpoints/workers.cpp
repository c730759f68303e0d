// GET /api/workers/list: the worker nodes that run jobs now. On `millrace
// server`, the nodes joined to its cluster gateway; in any process with
// worker slots of its own, also the local node.

#include <algorithm>

#include "actors/protocol/cluster_actors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/types/job.hpp"
#include "actors/system/registry.hpp"
#include "api/service/api_state.hpp"
#include "api/service/json_out.hpp"

namespace millrace::api {

namespace {

void node_json(json_out& j, const actors::node_info& n, int64_t joined_ms, bool draining,
               bool local) {
  j.begin_object()
    .field("worker", n.name)
    .field("local", local)
    .field("wm_version", n.version)
    .key("custom_tags")
    .begin_array();
  for (auto& t : n.tags)
    j.str(t);
  j.end_array()
    .field("slots", static_cast<int64_t>(n.slots))
    .field("cpus", static_cast<int64_t>(n.cpus))
    .field("memory_bytes", n.memory_bytes)
    .field("joined_at_ms", joined_ms)
    .field("draining", draining)
    .end_object();
}

void workers_list(api_ptr self, const call_ptr& c) {
  // The local node: this process's own slots, if any.
  auto local = std::make_shared<actors::node_info>();
  local->name = "local";
  local->version = MILLRACE_VERSION;
  for (auto& e : self->state.reg->list(std::string(actors::paths::worker) + "/"))
    if (e.kind == "worker_slot")
      ++local->slots;
  for (auto& t : self->state.cfg.served_tags)
    if (t != actors::job_kind::flow_tag)
      local->tags.push_back(t);
  auto finish = [c, local](const std::vector<actors::node_entry>& nodes) {
    json_out j;
    j.begin_array();
    if (local->slots > 0)
      node_json(j, *local, 0, false, true);
    for (auto& n : nodes)
      node_json(j, n.info, n.joined_ms, n.draining, false);
    j.end_array();
    reply(c, 200, j.take());
  };
  auto gw = self->state.reg->resolve_as<actors::gateway_actor>(
    std::string(actors::paths::root) + "/cluster");
  if (!gw)
    return finish({});
  self->request(gw, std::chrono::seconds{2}, actors::nodes_atom_v)
    .then([finish](std::vector<actors::node_entry>& nodes) { finish(nodes); },
          [c](caf::error& err) {
            fail(c, 503, "unavailable", "the cluster gateway did not answer: " + caf::to_string(err));
          });
}

} // namespace

std::vector<endpoint> worker_endpoints() {
  return {
    {"GET", "/api/workers/list", access::token, workers_list,
     "Worker nodes: the server's own slots and the nodes joined to its cluster endpoint"},
  };
}

} // namespace millrace::api
