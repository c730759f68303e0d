#include "api/service/api_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "api/service/api_state.hpp"
#include "api/service/crypto.hpp"
#include "api/service/http_bridge.hpp"
#include "api/service/json_out.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(millrace::api::call_ptr)

namespace millrace::api {

namespace {

using namespace std::chrono_literals;

void unauthorized(const call_ptr& c) {
  // The same answer for a missing, malformed, unknown, expired or revoked
  // token: no oracle.
  http::response r;
  r.status = 401;
  r.body = R"({"error":"unauthorized","message":"a valid bearer token is required"})";
  r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="millrace")");
  c->respond(std::move(r));
}

// The token is valid: check the role and the workspace, then run the route.
void proceed(api_ptr self, const call_ptr& c) {
  if (c->ep->acc == access::admin && !c->who.admin()) {
    fail(c, 403, "forbidden", "this route needs an admin token");
    return;
  }
  auto& ws = c->workspace();
  if (ws.empty()) {
    c->ep->fn(self, c);
    return;
  }
  // Another workspace's objects do not exist for this token: 404, not 403.
  if (!c->who.can_use(ws)) {
    not_found(c, "workspace '" + ws + "'");
    return;
  }
  if (self->state.workspaces.count(ws) != 0) {
    c->ep->fn(self, c);
    return;
  }
  read(self, c, "workspace_exists", {ws}, [self, c, ws](storage::result_set& rs) {
    if (rs.empty()) {
      not_found(c, "workspace '" + ws + "'");
      return;
    }
    self->state.workspaces.insert(ws);
    c->ep->fn(self, c);
  });
}

void settle_token(api_ptr self, const std::string& digest) {
  auto& st = self->state;
  auto waiters = std::move(st.token_waiters[digest]);
  st.token_waiters.erase(digest);
  auto& e = st.tokens[digest];
  for (auto& c : waiters) {
    if (!e.valid) {
      unauthorized(c);
      continue;
    }
    c->who = e.who;
    proceed(self, c);
  }
}

void authenticate(api_ptr self, const call_ptr& c) {
  auto& st = self->state;
  auto* h = c->req.header("authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (!h || h->size() <= scheme.size() || h->size() > 256
      || h->compare(0, scheme.size(), scheme) != 0) {
    unauthorized(c);
    return;
  }
  auto digest = sha256_hex(std::string_view{*h}.substr(scheme.size()));
  auto now = std::chrono::steady_clock::now();
  if (auto e = st.tokens.find(digest); e != st.tokens.end() && e->second.until > now) {
    if (!e->second.valid) {
      unauthorized(c);
      return;
    }
    c->who = e->second.who;
    proceed(self, c);
    return;
  }
  auto& waiters = st.token_waiters[digest];
  waiters.push_back(c);
  if (waiters.size() > 1)
    return; // a lookup of this token is under way
  if (st.tokens.size() > 10000)
    st.tokens.clear(); // bounded: a flood of random tokens cannot grow it
  auto reader = st.reg->resolve_as<actors::storage_reader_actor>(actors::paths::storage_reader);
  auto lost = [self, digest](const caf::error& err) {
    auto& s = self->state;
    auto calls = std::move(s.token_waiters[digest]);
    s.token_waiters.erase(digest);
    for (auto& w : calls)
      fail(w, err);
  };
  if (!reader) {
    lost(caf::make_error(storage::storage_errc::unavailable, "the storage reader is not running"));
    return;
  }
  self->request(reader, storage_timeout, actors::read_atom_v,
                storage::read_request{"token_by_digest", {digest}})
    .then(
      [self, digest](storage::result_set& rs) {
        token_entry e;
        e.until = std::chrono::steady_clock::now() + token_ttl;
        if (!rs.empty()) {
          auto& row = rs.rows[0];
          bool expired = col(rs, row, "expired").text == "t";
          bool revoked = col(rs, row, "revoked").text == "t";
          e.valid = !expired && !revoked;
          e.who.token_id = col(rs, row, "id").text;
          e.who.workspace = col(rs, row, "workspace_id").text;
          e.who.role = col(rs, row, "role").text;
          e.who.label = col(rs, row, "label").text;
        }
        self->state.tokens[digest] = e;
        settle_token(self, digest);
      },
      [lost](caf::error& err) { lost(err); });
}

caf::behavior api_actor(api_ptr self, service_config cfg, std::shared_ptr<actors::registry> reg,
                        std::string path) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.reg = std::move(reg);
  st.log = actors::logger_for(path);
  caf::actor_addr addr = self->address();
  st.http = std::make_unique<http_bridge>(st.cfg, all_endpoints(), [addr](call_ptr c) {
    if (auto h = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(h, std::move(c));
    else
      fail(c, 503, "unavailable", "the api is restarting; retry");
  });
  st.log->info("HTTP API listening on {}:{}", st.cfg.bind, st.http->port());
  if (st.cfg.on_listening)
    st.cfg.on_listening(st.http->port());
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& s = self->state;
    if (!s.http) {
      self->quit(em.reason);
      return;
    }
    auto reason = em.reason;
    caf::actor_addr me = self->address();
    s.http->stop_async([me, reason] {
      if (auto h = caf::actor_cast<caf::actor>(me))
        caf::anon_send(h, actors::stop_tmo_atom_v, reason);
    });
  });
  return {
    [self](call_ptr& c) {
      if (c->ep->acc == access::open)
        c->ep->fn(self, c);
      else
        authenticate(self, c);
    },
    [self](actors::stop_tmo_atom, caf::error& reason) {
      self->state.http.reset();
      self->quit(reason);
    },
  };
}

} // namespace

actors::child_spec api_spec(service_config cfg) {
  actors::child_spec spec;
  spec.id = "api";
  spec.kind = "api";
  spec.shutdown = std::chrono::seconds{15};
  spec.start = [cfg](const actors::child_context& ctx) {
    return caf::actor_cast<caf::actor>(
      ctx.sys.spawn(api_actor, cfg, ctx.reg, ctx.path));
  };
  return spec;
}

} // namespace millrace::api
