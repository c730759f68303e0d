// Workspaces and tokens. Tokens are stored as SHA-256 digests; the token
// itself is shown once, in the answer that creates it. A user token belongs
// to one workspace; an admin token to all of them.

#include <ctime>
#include <regex>

#include "actors/protocol/types/uuid.hpp"
#include "api/service/api_state.hpp"
#include "api/service/crypto.hpp"
#include "api/service/json_out.hpp"

namespace millrace::api {

namespace {

using as = json_out::as;

void whoami(api_ptr, const call_ptr& c) {
  json_out j;
  j.begin_object().field("token_id", c->who.token_id).field("role", c->who.role);
  j.key("workspace");
  if (c->who.workspace.empty())
    j.null();
  else
    j.str(c->who.workspace);
  j.field("label", c->who.label).end_object();
  reply(c, 200, j.take());
}

void workspaces_list(api_ptr self, const call_ptr& c) {
  auto scope = c->who.workspace.empty() ? storage::sql_value::null_value()
                                        : storage::sql_value{c->who.workspace};
  read(self, c, "workspaces_list", {scope}, [c](storage::result_set& rs) {
    json_out j;
    j.begin_array();
    for (auto& row : rs.rows) {
      j.begin_object();
      j.column("id", col(rs, row, "id"));
      j.column("name", col(rs, row, "name"));
      j.column("created_at", col(rs, row, "created_at"), as::timestamp);
      j.end_object();
    }
    j.end_array();
    reply(c, 200, j.take());
  });
}

void workspace_create(api_ptr self, const call_ptr& c) {
  rapidjson::Document body;
  if (!parse_body(c, body))
    return;
  std::string id, name;
  if (!get_string(c, body, "id", id, true) || !get_string(c, body, "name", name, false))
    return;
  static const std::regex ws_id{"^[a-z0-9][a-z0-9_-]{0,49}$"};
  if (!std::regex_match(id, ws_id)) {
    fail(c, 400, "invalid_field",
         "id: '" + id + "' is not a workspace id (1-50 of a-z, 0-9, _ and -, starting with a letter or digit)",
         "/id");
    return;
  }
  if (name.empty())
    name = id;
  if (name.size() > 200) {
    fail(c, 400, "invalid_field", "name: at most 200 bytes", "/name");
    return;
  }
  write(self, c, storage::write_request{"create_workspace", {id, name}, id},
        [self, c, id](storage::result_set& rs) {
          if (rs.empty())
            return fail(c, 409, "conflict", "workspace '" + id + "' already exists");
          self->state.workspaces.insert(id);
          json_out j;
          j.begin_object();
          j.column("id", col(rs, rs.rows[0], "id"));
          j.column("name", col(rs, rs.rows[0], "name"));
          j.column("created_at", col(rs, rs.rows[0], "created_at"), as::timestamp);
          j.end_object();
          reply(c, 201, j.take());
        });
}

void token_json(json_out& j, const storage::result_set& rs, const storage::sql_row& row) {
  j.begin_object();
  j.column("id", col(rs, row, "id"));
  j.column("prefix", col(rs, row, "prefix"));
  j.column("label", col(rs, row, "label"));
  j.column("workspace", col(rs, row, "workspace_id"));
  j.column("role", col(rs, row, "role"));
  j.column("created_by", col(rs, row, "created_by"));
  j.column("created_at", col(rs, row, "created_at"), as::timestamp);
  j.column("expires_at", col(rs, row, "expires_at"), as::timestamp);
  j.column("revoked_at", col(rs, row, "revoked_at"), as::timestamp);
  j.end_object();
}

void tokens_list(api_ptr self, const call_ptr& c, storage::sql_value scope) {
  read(self, c, "tokens_list", {std::move(scope)}, [c](storage::result_set& rs) {
    json_out j;
    j.begin_array();
    for (auto& row : rs.rows)
      token_json(j, rs, row);
    j.end_array();
    reply(c, 200, j.take());
  });
}

void ws_tokens_list(api_ptr self, const call_ptr& c) { tokens_list(self, c, c->workspace()); }
void all_tokens_list(api_ptr self, const call_ptr& c) {
  tokens_list(self, c, storage::sql_value::null_value());
}

// Body: {"label": text, "expires_in_secs": n (optional)}.
void token_create(api_ptr self, const call_ptr& c, const std::string& ws) {
  rapidjson::Document body;
  if (!parse_body(c, body, true))
    return;
  std::string label;
  if (body.IsObject() && !get_string(c, body, "label", label, false))
    return;
  if (label.size() > 200) {
    fail(c, 400, "invalid_field", "label: at most 200 bytes", "/label");
    return;
  }
  auto expires = storage::sql_value::null_value();
  if (body.IsObject() && body.HasMember("expires_in_secs")) {
    auto& v = body["expires_in_secs"];
    if (!v.IsInt64() || v.GetInt64() <= 0 || v.GetInt64() > 10LL * 365 * 86400) {
      fail(c, 400, "invalid_field", "expires_in_secs: expected a positive number of seconds",
           "/expires_in_secs");
      return;
    }
    auto at = std::chrono::system_clock::now() + std::chrono::seconds{v.GetInt64()};
    std::time_t t = std::chrono::system_clock::to_time_t(at);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S+00", &tm);
    expires = storage::sql_value{buf};
  }
  auto token = new_token();
  auto id = actors::make_uuid_v7();
  auto role = ws.empty() ? "admin" : "user";
  storage::write_request w{"create_token",
                           {id, sha256_hex(token), token.substr(0, 10), label,
                            ws.empty() ? storage::sql_value::null_value() : storage::sql_value{ws},
                            role, c->who.name(), expires},
                           id};
  write(self, c, std::move(w), [c, id, token, role, ws, label](storage::result_set& rs) {
    json_out j;
    j.begin_object().field("id", id).field("token", token).field("prefix", token.substr(0, 10));
    j.field("label", label).field("role", role);
    j.key("workspace");
    if (ws.empty())
      j.null();
    else
      j.str(ws);
    if (!rs.empty())
      j.column("expires_at", col(rs, rs.rows[0], "expires_at"), as::timestamp);
    j.end_object();
    reply(c, 201, j.take());
  });
}

void ws_token_create(api_ptr self, const call_ptr& c) { token_create(self, c, c->workspace()); }
void admin_token_create(api_ptr self, const call_ptr& c) { token_create(self, c, ""); }

void token_revoke(api_ptr self, const call_ptr& c, storage::sql_value scope) {
  std::string id;
  if (!actors::normalize_uuid(c->param("id"), id)) {
    fail(c, 400, "invalid_field", "'" + c->param("id") + "' is not a token id (a UUID)", "/id");
    return;
  }
  write(self, c, storage::write_request{"revoke_token", {id, std::move(scope)}, id},
        [self, c, id](storage::result_set& rs) {
          if (rs.empty())
            return not_found(c, "token " + id);
          // Effective at once on this node (others: within the token TTL).
          auto& cache = self->state.tokens;
          for (auto i = cache.begin(); i != cache.end();)
            i = i->second.who.token_id == id ? cache.erase(i) : std::next(i);
          json_out j;
          j.begin_object().field("id", id);
          j.column("revoked_at", col(rs, rs.rows[0], "revoked_at"), as::timestamp);
          j.end_object();
          reply(c, 200, j.take());
        });
}

void ws_token_revoke(api_ptr self, const call_ptr& c) { token_revoke(self, c, c->workspace()); }
void any_token_revoke(api_ptr self, const call_ptr& c) {
  token_revoke(self, c, storage::sql_value::null_value());
}

} // namespace

std::vector<endpoint> admin_endpoints() {
  return {
    {"GET", "/api/users/whoami", access::token, whoami, "The token this request uses"},
    {"GET", "/api/workspaces/list", access::token, workspaces_list,
     "Workspaces this token can use"},
    {"POST", "/api/workspaces/create", access::admin, workspace_create,
     "Create a workspace ({id, name}); admin only"},
    {"GET", "/api/w/{workspace}/tokens/list", access::token, ws_tokens_list,
     "Tokens of the workspace (never the tokens themselves)"},
    {"POST", "/api/w/{workspace}/tokens/create", access::admin, ws_token_create,
     "Create a user token for the workspace ({label, expires_in_secs}); shown once; admin only"},
    {"POST", "/api/w/{workspace}/tokens/revoke/{id}", access::admin, ws_token_revoke,
     "Revoke a token of the workspace; admin only"},
    {"GET", "/api/tokens/list", access::admin, all_tokens_list, "Every token; admin only"},
    {"POST", "/api/tokens/create", access::admin, admin_token_create,
     "Create an admin token ({label, expires_in_secs}); shown once; admin only"},
    {"POST", "/api/tokens/revoke/{id}", access::admin, any_token_revoke,
     "Revoke any token; admin only"},
  };
}

} // namespace millrace::api
