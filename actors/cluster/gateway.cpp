// The gateway's behavior. See gateway.hpp.

#include "actors/cluster/gateway.hpp"

#include <chrono>
#include <map>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"
#include "caf/io/all.hpp"

#include "actors/cluster/node_config.hpp"
#include "actors/cluster/proof.hpp"
#include "actors/protocol/cluster_actors.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors {

namespace {

using namespace std::chrono_literals;

/// A challenge is good for one join within this time.
constexpr auto challenge_life = 30s;
/// Outstanding challenges kept at most (a flood of hellos cannot grow it).
constexpr size_t challenges_max = 4096;

struct joined_node {
  node_entry entry;
  caf::actor link;
};

struct gateway_state {
  static inline const char* name = "cluster_gateway";

  gateway_config cfg;
  std::shared_ptr<registry> reg;
  std::shared_ptr<spdlog::logger> log;
  /// The port published by the previous incarnation (kept across restarts
  /// in the child spec), so a restart takes over the same port.
  std::shared_ptr<uint16_t> published;
  uint16_t port = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> challenges;
  std::map<std::string, joined_node> nodes;
  std::unordered_map<caf::actor_addr, std::string> node_by_link;
  uint64_t refused = 0;
};

using gateway_ptr = gateway_actor::stateful_pointer<gateway_state>;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string peer_of(gateway_ptr self) {
  auto& src = self->current_sender();
  return src ? caf::to_string(src->node()) : std::string("unknown peer");
}

std::string join_list(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ",") + x;
  return out;
}

caf::result<join_reply> join(gateway_ptr self, join_request& req) {
  auto& st = self->state;
  auto& n = req.node;
  auto refuse = [&](cluster_errc code, const std::string& why) -> caf::result<join_reply> {
    ++st.refused;
    st.log->warn("refused node '{}' ({}): {}", n.name, peer_of(self), why);
    return caf::make_error(code, why);
  };
  if (n.protocol != cluster_protocol)
    return refuse(cluster_errc::incompatible_version,
                  "incompatible version: the worker runs millrace " + n.version
                    + " (cluster protocol " + std::to_string(n.protocol) + "), this server "
                    + MILLRACE_VERSION + " (cluster protocol " + std::to_string(cluster_protocol)
                    + "); run the same millrace version on every node");
  auto c = st.challenges.find(req.challenge);
  bool fresh = c != st.challenges.end() && c->second > std::chrono::steady_clock::now();
  if (c != st.challenges.end())
    st.challenges.erase(c); // single use
  if (!fresh)
    return refuse(cluster_errc::unavailable,
                  "the join challenge expired or is unknown (a slow handshake, or a flood of "
                  "hellos); retry");
  if (!cluster::same_proof(req.proof,
                           cluster::join_proof(st.cfg.secret, req.challenge, n.name, n.protocol)))
    return refuse(cluster_errc::wrong_secret,
                  "wrong cluster secret: the join proof does not match this server's secret "
                  "(check cluster.secret_file or MILLRACE_CLUSTER_SECRET on both nodes)");
  if (!valid_node_name(n.name))
    return refuse(cluster_errc::invalid_node,
                  "invalid node name '" + n.name
                    + "': use 1 to 64 letters, digits, '.', '-' or '_' (cluster.node)");
  if (n.name == "local")
    return refuse(cluster_errc::invalid_node,
                  "the node name 'local' names the server's own slots; choose another "
                  "(cluster.node)");
  if (n.slots <= 0 || n.tags.empty())
    return refuse(cluster_errc::invalid_node,
                  "node '" + n.name + "' offers no slots or no tags (worker.slots, worker.tags)");
  if (!req.link)
    return refuse(cluster_errc::invalid_node, "the join names no link actor");
  if (auto old = st.nodes.find(n.name); old != st.nodes.end()) {
    if (old->second.link != req.link)
      return refuse(cluster_errc::name_taken,
                    "a node named '" + n.name
                      + "' is already joined (a second worker with the same cluster.node, or "
                        "the same worker restarted before its old connection was seen closing)");
  }
  auto d = st.reg->resolve(paths::dispatcher);
  auto w = st.reg->resolve(paths::storage_writer);
  if (!d || !w)
    return refuse(cluster_errc::unavailable, "the dispatcher or storage is not running; retry");
  // Whether its slots take jobs, said before the reply: the slots register
  // only after it, so the dispatcher knows before they do.
  caf::anon_send(caf::actor_cast<dispatcher_actor>(d), drain_atom_v, n.name + "/", req.draining);
  self->monitor(req.link);
  st.node_by_link[req.link.address()] = n.name;
  auto& rec = st.nodes[n.name];
  rec.entry = node_entry{n, now_ms(), req.draining};
  rec.link = req.link;
  st.log->info("node '{}' joined from {}: {} slots, tags {}, {} cpus, {} MiB, millrace {}", n.name,
               peer_of(self), n.slots, join_list(n.tags), n.cpus, n.memory_bytes >> 20,
               n.version);
  return join_reply{st.cfg.server_name, MILLRACE_VERSION, d, w};
}

void publish(gateway_ptr self) {
  auto& st = self->state;
  auto mm = cluster_transport(self->home_system());
  uint16_t want = *st.published != 0 ? *st.published : st.cfg.port;
  if (*st.published != 0)
    self->send(mm, caf::close_atom::value, *st.published); // the old incarnation's port
  auto ifs = self->home_system().message_types(caf::detail::type_list<gateway_actor>{});
  self
    ->request(mm, caf::infinite, caf::publish_atom::value, want,
              caf::actor_cast<caf::strong_actor_ptr>(self), std::move(ifs), st.cfg.bind, true)
    .then(
      [self](uint16_t port) {
        auto& s = self->state;
        s.port = port;
        *s.published = port;
        s.log->info("cluster endpoint listening on {}:{}", s.cfg.bind, port);
      },
      [self](caf::error& err) {
        auto& s = self->state;
        s.log->error("cannot publish the cluster endpoint on {}:{}: {}", s.cfg.bind,
                     *s.published != 0 ? *s.published : s.cfg.port,
                     self->home_system().render(err));
        self->quit(err);
      });
}

gateway_actor::behavior_type gateway(gateway_ptr self, gateway_config cfg,
                                     std::shared_ptr<registry> reg, std::string path,
                                     std::shared_ptr<uint16_t> published) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.reg = std::move(reg);
  init.log = logger_for(path);
  init.published = std::move(published);
  publish(self);
  self->attach_functor([mm = cluster_transport(self->home_system()),
                        published = init.published] {
    if (*published != 0)
      caf::anon_send(mm, caf::close_atom::value, *published);
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto n = st.node_by_link.find(dm.source);
    if (n == st.node_by_link.end())
      return;
    auto name = n->second;
    st.node_by_link.erase(n);
    if (auto rec = st.nodes.find(name); rec != st.nodes.end() && rec->second.link.address() == dm.source)
      st.nodes.erase(rec);
    st.log->warn("node '{}' left: {}", name, describe(dm.reason));
  });
  return {
    [self](hello_atom, std::string& node) -> std::string {
      auto& st = self->state;
      auto now = std::chrono::steady_clock::now();
      for (auto i = st.challenges.begin(); i != st.challenges.end();)
        i = i->second <= now ? st.challenges.erase(i) : std::next(i);
      if (st.challenges.size() >= challenges_max)
        st.challenges.erase(st.challenges.begin());
      auto c = cluster::make_challenge();
      st.challenges.emplace(c, now + challenge_life);
      st.log->debug("challenge for node '{}'", node);
      return c;
    },
    [self](join_atom, join_request& req) { return join(self, req); },
    [self](drain_atom, std::string& name) -> caf::result<int32_t> {
      auto& st = self->state;
      auto rec = st.nodes.find(name);
      if (rec == st.nodes.end())
        return caf::make_error(cluster_errc::unavailable, "node '" + name + "' is not joined");
      // Only the node itself drains itself.
      auto& src = self->current_sender();
      if (!src || src->address() != rec->second.link.address()) {
        st.log->warn("ignored a drain of node '{}' that did not come from its link", name);
        return caf::make_error(cluster_errc::invalid_node,
                               "only node '" + name + "' itself can drain it");
      }
      auto d = st.reg->resolve_as<dispatcher_actor>(paths::dispatcher);
      if (!d)
        return caf::make_error(cluster_errc::unavailable, "the dispatcher is not running");
      rec->second.entry.draining = true;
      st.log->info("node '{}' is draining: no new jobs for it", name);
      return self->delegate(d, drain_atom_v, name + "/", true);
    },
    [self](nodes_atom) {
      std::vector<node_entry> out;
      for (auto& [name, rec] : self->state.nodes)
        out.push_back(rec.entry);
      return out;
    },
    [self](status_atom) {
      auto& st = self->state;
      int32_t slots = 0;
      std::string names;
      for (auto& [name, rec] : st.nodes) {
        slots += rec.entry.info.slots;
        names += (names.empty() ? "" : ", ") + name + " (" + std::to_string(rec.entry.info.slots)
                 + " slots" + (rec.entry.draining ? ", draining" : "") + ")";
      }
      return make_status(self, "port " + std::to_string(st.port) + ", "
                                 + std::to_string(st.nodes.size()) + " nodes, "
                                 + std::to_string(slots) + " slots" + (names.empty() ? "" : ": ")
                                 + names + ", refused " + std::to_string(st.refused));
    },
  };
}

} // namespace

child_spec gateway_spec(gateway_config cfg) {
  child_spec k;
  k.id = "cluster";
  k.kind = "cluster_gateway";
  auto published = std::make_shared<uint16_t>(0);
  k.start = [cfg = std::move(cfg), published](const child_context& ctx) {
    return caf::actor_cast<caf::actor>(ctx.sys.spawn(gateway, cfg, ctx.reg, ctx.path, published));
  };
  return k;
}

} // namespace millrace::actors
