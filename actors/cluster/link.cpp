// The cluster link's behavior. See link.hpp.

#include "actors/cluster/link.hpp"

#include <random>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"
#include "caf/io/all.hpp"

#include "actors/cluster/node_config.hpp"
#include "actors/cluster/proof.hpp"
#include "actors/protocol/cluster_actors.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors {

namespace {

using namespace std::chrono_literals;

struct link_state {
  static inline const char* name = "cluster_link";

  link_config cfg;
  std::shared_ptr<registry> reg;
  std::shared_ptr<spdlog::logger> log;
  std::mt19937_64 rng{std::random_device{}()};
  size_t next_server = 0;
  std::chrono::milliseconds backoff{0};
  /// Bumped per connection attempt and per loss: answers and timers of an
  /// older one are ignored.
  uint64_t session = 0;
  bool joining = false;
  bool joined = false;
  bool fatal = false;
  std::string server; // "host:port" joined or being tried
  gateway_actor gw;
  caf::actor dispatcher;
  caf::actor writer;
  bool draining = false;
  /// The server confirmed the drain (in this session or a join after it).
  bool drain_acked = false;
  uint64_t joins = 0;
};

using link_ptr = caf::stateful_actor<link_state>*;

std::string where(const std::pair<std::string, uint16_t>& s) {
  return s.first + ":" + std::to_string(s.second);
}

void connect(link_ptr self);

void retry_later(link_ptr self, const std::string& why) {
  auto& st = self->state;
  st.joining = false;
  if (st.fatal)
    return;
  // Jittered exponential backoff, so a restarted server is not hit by every
  // worker at the same instant.
  st.backoff = st.backoff.count() == 0 ? st.cfg.backoff_min
                                       : std::min(st.backoff * 2, st.cfg.backoff_max);
  std::uniform_real_distribution<double> jitter{0.5, 1.5};
  auto delay = std::chrono::milliseconds{
    static_cast<int64_t>(static_cast<double>(st.backoff.count()) * jitter(st.rng))};
  st.log->warn("cannot join {}: {}; retrying in {} ms", st.server, why, delay.count());
  self->delayed_send(self, delay, wake_atom_v, ++st.session);
}

void give_up(link_ptr self, const std::string& why) {
  auto& st = self->state;
  st.fatal = true;
  st.joining = false;
  st.log->error("the server at {} refused this worker: {}", st.server, why);
  if (st.cfg.on_fatal)
    st.cfg.on_fatal(why);
}

void tell_slots_to_register(link_ptr self) {
  for (auto& e : self->state.reg->list(std::string(paths::worker) + "/"))
    if (e.kind == "worker_slot")
      self->send(caf::actor_cast<worker_slot_actor>(e.handle), register_atom_v);
}

void lose(link_ptr self, const std::string& why) {
  auto& st = self->state;
  if (!st.joined)
    return;
  st.joined = false;
  // Slots find no dispatcher from now on: they hold completions and logs
  // until the node rejoins.
  st.reg->remove(paths::dispatcher, st.dispatcher.address());
  st.reg->remove(paths::storage_writer, st.writer.address());
  for (auto* h : {&st.dispatcher, &st.writer})
    self->demonitor(*h);
  self->demonitor(st.gw.address());
  st.dispatcher = nullptr;
  st.writer = nullptr;
  st.gw = nullptr;
  st.drain_acked = false;
  st.backoff = 0ms;
  st.log->warn("lost the server at {}: {}; reconnecting", st.server, why);
  ++st.session;
  connect(self);
}

void joined(link_ptr self, join_reply& r) {
  auto& st = self->state;
  st.joining = false;
  st.joined = true;
  st.backoff = 0ms;
  ++st.joins;
  st.drain_acked = st.draining; // said in the join, taken before the reply
  st.dispatcher = r.dispatcher;
  st.writer = r.storage_writer;
  self->monitor(st.gw);
  self->monitor(st.dispatcher);
  self->monitor(st.writer);
  auto now = std::chrono::system_clock::now();
  st.reg->put(actor_entry{paths::dispatcher, "remote_dispatcher", paths::root, st.dispatcher, now, 0});
  st.reg->put(actor_entry{paths::storage_writer, "remote_storage_writer", paths::root, st.writer,
                          now, 0});
  st.log->info("joined the server '{}' at {} (millrace {}) as node '{}' with {} slots",
               r.server_name, st.server, r.server_version, st.cfg.node.name, st.cfg.node.slots);
  // A draining node said so in its join: its slots get no jobs.
  tell_slots_to_register(self);
}

void connect(link_ptr self) {
  auto& st = self->state;
  if (st.joined || st.joining || st.fatal || st.cfg.servers.empty())
    return;
  st.joining = true;
  auto target = st.cfg.servers[st.next_server++ % st.cfg.servers.size()];
  st.server = where(target);
  auto session = ++st.session;
  auto mm = cluster_transport(self->home_system());
  auto stale = [self, session] { return self->state.session != session; };
  self->request(mm, st.cfg.handshake_timeout, caf::connect_atom::value, target.first, target.second)
    .then(
      [self, stale](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>& ifs) {
        if (stale())
          return;
        auto& s = self->state;
        if (!ptr) {
          retry_later(self, "nothing is published there");
          return;
        }
        auto want = self->home_system().message_types(caf::detail::type_list<gateway_actor>{});
        if (!self->home_system().assignable(ifs, want)) {
          give_up(self, "its endpoint does not speak this worker's cluster protocol (a different "
                        "millrace version, or not a millrace cluster endpoint)");
          return;
        }
        s.gw = caf::actor_cast<gateway_actor>(ptr);
        self->request(s.gw, s.cfg.handshake_timeout, hello_atom_v, s.cfg.node.name)
          .then(
            [self, stale](std::string& challenge) {
              if (stale())
                return;
              auto& ls = self->state;
              join_request req{ls.cfg.node, challenge,
                               cluster::join_proof(ls.cfg.secret, challenge, ls.cfg.node.name,
                                                   ls.cfg.node.protocol),
                               caf::actor_cast<caf::actor>(self), ls.draining};
              self->request(ls.gw, ls.cfg.handshake_timeout, join_atom_v, std::move(req))
                .then(
                  [self, stale](join_reply& r) {
                    if (!stale())
                      joined(self, r);
                  },
                  [self, stale](caf::error& err) {
                    if (stale())
                      return;
                    if (err.category() == caf::atom("cluster")
                        && is_fatal(static_cast<cluster_errc>(err.code())))
                      give_up(self, describe(err));
                    else
                      retry_later(self, describe(err));
                  });
            },
            [self, stale](caf::error& err) {
              if (!stale())
                retry_later(self, describe(err));
            });
      },
      [self, stale](caf::error& err) {
        if (!stale())
          retry_later(self, describe(err));
      });
}

// Drained: the server took the drain (drain_acked), this node is joined (so
// every completion it held was reported again when it rejoined), and no slot
// runs a job. Checked every 200 ms until then.
void check_drained(link_ptr self) {
  auto& st = self->state;
  if (!st.joined || !st.drain_acked) {
    self->delayed_send(self, 200ms, drain_atom_v, true);
    return;
  }
  auto slots = st.reg->list(std::string(paths::worker) + "/");
  auto pending = std::make_shared<size_t>(0);
  auto busy = std::make_shared<bool>(false);
  for (auto& e : slots)
    if (e.kind == "worker_slot")
      ++*pending;
  if (*pending == 0) {
    st.cfg.drained->store(true);
    return;
  }
  auto one_done = [self, pending, busy] {
    if (--*pending > 0)
      return;
    if (!*busy) {
      self->state.cfg.drained->store(true);
      self->state.log->info("drained: no slot runs a job");
      return;
    }
    self->delayed_send(self, 200ms, drain_atom_v, true);
  };
  for (auto& e : slots) {
    if (e.kind != "worker_slot")
      continue;
    self->request(caf::actor_cast<worker_slot_actor>(e.handle), 5s, status_atom_v)
      .then(
        [busy, one_done](actor_status& s) {
          if (s.summary.rfind("idle", 0) != 0)
            *busy = true;
          one_done();
        },
        [busy, one_done](caf::error&) {
          *busy = true;
          one_done();
        });
  }
}

caf::behavior link_actor(link_ptr self, link_config cfg, std::shared_ptr<registry> reg,
                         std::string path) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.reg = std::move(reg);
  init.log = logger_for(path);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.joined
        && (dm.source == st.gw.address() || dm.source == st.dispatcher.address()
            || dm.source == st.writer.address()))
      lose(self, describe(dm.reason));
  });
  connect(self);
  return {
    [self](wake_atom, uint64_t session) {
      if (session == self->state.session)
        connect(self);
    },
    [self](drain_atom) {
      auto& st = self->state;
      if (st.draining)
        return;
      st.draining = true;
      st.log->info("draining: this node takes no new jobs");
      if (st.joined) {
        auto session = st.session;
        self->request(st.gw, st.cfg.handshake_timeout, drain_atom_v, st.cfg.node.name)
          .then(
            [self, session](int32_t) {
              if (self->state.session == session)
                self->state.drain_acked = true;
            },
            [self](caf::error& err) {
              // Lost with the connection: the next join says it drains.
              self->state.log->warn("the server did not confirm the drain: {}", describe(err));
            });
      }
      check_drained(self);
    },
    [self](drain_atom, bool) { check_drained(self); },
    [self](status_atom) {
      auto& st = self->state;
      std::string s = st.fatal     ? "refused by " + st.server
                      : st.joined  ? "joined " + st.server
                      : st.joining ? "joining " + st.server
                                   : "waiting to retry " + st.server;
      s += ", joins " + std::to_string(st.joins);
      if (st.draining)
        s += ", draining";
      return make_status(self, std::move(s));
    },
  };
}

} // namespace

child_spec link_spec(link_config cfg) {
  child_spec k;
  k.id = "link";
  k.kind = "cluster_link";
  k.start = [cfg = std::move(cfg)](const child_context& ctx) {
    // Detached: its own thread, so the handshake's waiting never holds a
    // scheduler thread.
    return ctx.sys.spawn<caf::detached>(link_actor, cfg, ctx.reg, ctx.path);
  };
  return k;
}

std::vector<std::pair<std::string, uint16_t>> parse_servers(const std::string& text,
                                                            bool any_port) {
  std::vector<std::pair<std::string, uint16_t>> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find(',', pos);
    if (end == std::string::npos)
      end = text.size();
    auto item = text.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty())
      continue;
    auto colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size())
      throw std::invalid_argument("'" + item + "' is not HOST:PORT");
    long port = 0;
    for (size_t i = colon + 1; i < item.size(); ++i) {
      if (item[i] < '0' || item[i] > '9' || port > 65535)
        throw std::invalid_argument("'" + item + "': the port is not a number from 1 to 65535");
      port = port * 10 + (item[i] - '0');
    }
    if (port < (any_port ? 0 : 1) || port > 65535)
      throw std::invalid_argument("'" + item + "': the port is not a number from "
                                  + (any_port ? "0" : "1") + " to 65535");
    out.emplace_back(item.substr(0, colon), static_cast<uint16_t>(port));
  }
  if (out.empty())
    throw std::invalid_argument("no server address given (HOST:PORT[,HOST:PORT...])");
  return out;
}

} // namespace millrace::actors
