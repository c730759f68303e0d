// Scripts: create (a new version, the parameter schema inferred), get by path
// or hash, exists, list, history, archive.

#include <algorithm>
#include <regex>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/service/api_state.hpp"
#include "api/service/crypto.hpp"
#include "api/service/json_out.hpp"
#include "api/service/schema_worker.hpp"
#include "runtime/languages.hpp"

namespace millrace::api {

namespace {

std::string cache_key(const std::string& ws, const std::string& path) {
  return ws + '\n' + path;
}

void script_json(json_out& j, const storage::result_set& rs, const storage::sql_row& row,
                 const std::string& ws, bool with_content) {
  using as = json_out::as;
  j.begin_object();
  j.field("workspace_id", ws);
  j.column("path", col(rs, row, "path"));
  j.column("hash", col(rs, row, "hash"));
  j.column("language", col(rs, row, "language"));
  j.column("summary", col(rs, row, "summary"));
  j.column("description", col(rs, row, "description"));
  if (with_content) {
    j.column("content", col(rs, row, "content"));
    j.column("schema", col(rs, row, "schema"), as::json);
    j.column("parent_hash", col(rs, row, "parent_hash"));
  }
  j.column("archived", col(rs, row, "archived"), as::boolean);
  j.column("created_by", col(rs, row, "created_by"));
  j.column("created_at", col(rs, row, "created_at"), as::timestamp);
  j.column("updated_at", col(rs, row, "updated_at"), as::timestamp);
  j.end_object();
}

// Fields a client may not set: they come from the server.
constexpr const char* immutable_fields[] = {"workspace_id", "created_by", "created_at", "hash",
                                            "permissioned_as", "is_admin", "archived"};

void create(api_ptr self, const call_ptr& c) {
  rapidjson::Document body;
  if (!parse_body(c, body))
    return;
  for (auto* f : immutable_fields)
    if (body.HasMember(f)) {
      fail(c, 400, "invalid_field", std::string{"'"} + f + "' is set by the server", std::string{"/"} + f);
      return;
    }
  std::string path, content, language, summary, description;
  if (!get_string(c, body, "path", path, true) || !get_string(c, body, "content", content, true)
      || !get_string(c, body, "language", language, true)
      || !get_string(c, body, "summary", summary, false)
      || !get_string(c, body, "description", description, false))
    return;
  if (!valid_script_path(c, path, "/path"))
    return;
  if (!runtime::find_language(language)) {
    std::string known;
    for (auto& l : runtime::languages())
      known += (known.empty() ? "" : ", ") + l.name;
    fail(c, 400, "invalid_field", "unsupported language '" + language + "' (supported: " + known + ")",
         "/language");
    return;
  }
  if (content.empty()) {
    fail(c, 400, "invalid_field", "content is empty", "/content");
    return;
  }
  if (summary.size() > 1000 || description.size() > 100000) {
    fail(c, 400, "invalid_field", "summary (1000) or description (100000 bytes) too long",
         summary.size() > 1000 ? "/summary" : "/description");
    return;
  }
  auto ws = c->workspace();
  infer_schema(self, language, content, [self, c, ws, path, content, language, summary,
                                         description](std::string schema, std::string error) {
    if (!error.empty()) {
      fail(c, 400, "invalid_script", error, "/content");
      return;
    }
    auto hash = sha256_hex(ws + '\n' + path + '\n' + language + '\n' + content + '\n' + summary
                           + '\n' + description)
                  .substr(0, 16);
    storage::write_request w{"create_script",
                             {ws, hash, path, language, content, schema, summary, description,
                              c->who.name()},
                             ws + '/' + path};
    write(self, c, std::move(w), [self, c, ws, path, hash, schema, language](storage::result_set& rs) {
      forget_script(self, ws, path);
      json_out j;
      j.begin_object().field("workspace_id", ws).field("path", path).field("hash", hash);
      j.field("language", language).key("schema").raw(schema);
      if (!rs.empty())
        j.column("previous_hash", col(rs, rs.rows[0], "previous_hash"));
      j.end_object();
      reply(c, 201, j.take());
    });
  });
}

void get_by_path(api_ptr self, const call_ptr& c) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  auto ws = c->workspace();
  read(self, c, "script_by_path", {ws, path}, [c, ws, path](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "script '" + path + "'");
    json_out j;
    script_json(j, rs, rs.rows[0], ws, true);
    reply(c, 200, j.take());
  });
}

void exists_by_path(api_ptr self, const call_ptr& c) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  read(self, c, "script_by_path", {c->workspace(), path}, [c](storage::result_set& rs) {
    reply(c, 200, !rs.empty() && col(rs, rs.rows[0], "archived").text != "t" ? "true" : "false");
  });
}

void get_by_hash(api_ptr self, const call_ptr& c) {
  auto hash = c->param("hash");
  static const std::regex hex16{"^[0-9a-f]{16}$"};
  if (!std::regex_match(hash, hex16)) {
    fail(c, 400, "invalid_field", "a script hash is 16 lower-case hex digits", "/hash");
    return;
  }
  auto ws = c->workspace();
  read(self, c, "script_by_hash", {ws, hash}, [c, ws, hash](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "script version '" + hash + "'");
    json_out j;
    script_json(j, rs, rs.rows[0], ws, true);
    reply(c, 200, j.take());
  });
}

void list(api_ptr self, const call_ptr& c) {
  auto ws = c->workspace();
  auto limit = page_size(self, c);
  with_cursor_key(self, c, [self, c, ws, limit](const std::string& key) {
    storage::sql_value after = storage::sql_value::null_value();
    if (auto cur = query(c, "cursor")) {
      auto pos = open_cursor(key, *cur);
      if (!pos) {
        fail(c, 400, "invalid_cursor", "the cursor is malformed or was altered", "/cursor");
        return;
      }
      after = *pos;
    }
    auto opt = [&](const char* name) {
      auto v = query(c, name);
      return v && !v->empty() ? storage::sql_value{*v} : storage::sql_value::null_value();
    };
    auto archived = query(c, "show_archived");
    read(self, c, "scripts_list",
         {ws, opt("path_start"), opt("language"), archived && *archived == "true" ? "true" : "false",
          after, std::to_string(limit + 1)},
         [c, ws, limit, key](storage::result_set& rs) {
           json_out j;
           j.begin_array();
           size_t n = std::min(rs.rows.size(), static_cast<size_t>(limit));
           for (size_t i = 0; i < n; ++i)
             script_json(j, rs, rs.rows[i], ws, false);
           j.end_array();
           http::response r;
           r.body = j.take();
           if (rs.rows.size() > n)
             r.headers.emplace_back("X-Next-Cursor", make_cursor(key, col(rs, rs.rows[n - 1], "path").text));
           c->respond(std::move(r));
         });
  });
}

void history(api_ptr self, const call_ptr& c) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  read(self, c, "script_history", {c->workspace(), path}, [c, path](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "script '" + path + "'");
    json_out j;
    j.begin_array();
    for (auto& row : rs.rows) {
      j.begin_object();
      j.column("hash", col(rs, row, "hash"));
      j.column("parent_hash", col(rs, row, "parent_hash"));
      j.column("summary", col(rs, row, "summary"));
      j.column("created_by", col(rs, row, "created_by"));
      j.column("created_at", col(rs, row, "created_at"), json_out::as::timestamp);
      j.end_object();
    }
    j.end_array();
    reply(c, 200, j.take());
  });
}

void archive(api_ptr self, const call_ptr& c) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  auto ws = c->workspace();
  write(self, c, storage::write_request{"archive_script", {ws, path}, ws + '/' + path},
        [self, c, ws, path](storage::result_set& rs) {
          if (rs.empty())
            return not_found(c, "script '" + path + "'");
          forget_script(self, ws, path);
          json_out j;
          j.begin_object().field("path", path).field("archived", true).end_object();
          reply(c, 200, j.take());
        });
}

} // namespace

void resolve_script(api_ptr self, const call_ptr& c, const std::string& path,
                    std::function<void(const script_entry&)> ok) {
  auto ws = c->workspace();
  auto key = cache_key(ws, path);
  auto now = std::chrono::steady_clock::now();
  auto& cache = self->state.scripts;
  auto answer = [c, path, ok](const script_entry& e) {
    if (!e.found || e.archived)
      return not_found(c, "script '" + path + "'");
    ok(e);
  };
  if (auto i = cache.find(key); i != cache.end() && i->second.until > now)
    return answer(i->second);
  read(self, c, "script_by_path", {ws, path}, [self, key, answer](storage::result_set& rs) {
    script_entry e;
    e.until = std::chrono::steady_clock::now() + script_ttl;
    if (!rs.empty()) {
      auto& row = rs.rows[0];
      e.found = true;
      e.archived = col(rs, row, "archived").text == "t";
      e.hash = col(rs, row, "hash").text;
      e.language = col(rs, row, "language").text;
      e.content = col(rs, row, "content").text;
      e.schema = col(rs, row, "schema").text;
    }
    auto& st = self->state;
    // Bounded by count and by bytes (a script may be megabytes): past either
    // bound the cache starts over, which drops expired entries too.
    auto bytes = e.content.size() + e.schema.size() + key.size();
    if (st.scripts.size() >= 10000 || st.scripts_bytes + bytes > (64u << 20)) {
      st.scripts.clear();
      st.scripts_bytes = 0;
    }
    auto& slot = st.scripts[key];
    st.scripts_bytes -= std::min(st.scripts_bytes, slot.content.size() + slot.schema.size());
    st.scripts_bytes += e.content.size() + e.schema.size();
    slot = std::move(e);
    answer(slot);
  });
}

void forget_script(api_ptr self, const std::string& ws, const std::string& path) {
  auto& st = self->state;
  if (auto i = st.scripts.find(cache_key(ws, path)); i != st.scripts.end()) {
    st.scripts_bytes -= std::min(st.scripts_bytes, i->second.content.size() + i->second.schema.size());
    st.scripts.erase(i);
  }
}

std::vector<endpoint> script_endpoints() {
  return {
    {"POST", "/api/w/{workspace}/scripts/create", access::token, create,
     "Create a script version (the parameter schema is inferred from main)"},
    {"GET", "/api/w/{workspace}/scripts/get/p/{path*}", access::token, get_by_path,
     "A script's current version by path"},
    {"GET", "/api/w/{workspace}/scripts/exists/p/{path*}", access::token, exists_by_path,
     "Whether a script path exists (and is not archived)"},
    {"GET", "/api/w/{workspace}/scripts/get/h/{hash}", access::token, get_by_hash,
     "A script version by hash"},
    {"GET", "/api/w/{workspace}/scripts/list", access::token, list,
     "Scripts of the workspace by path (filters: path_start, language, show_archived)"},
    {"GET", "/api/w/{workspace}/scripts/history/p/{path*}", access::token, history,
     "Versions of a script path, newest first"},
    {"POST", "/api/w/{workspace}/scripts/archive/p/{path*}", access::token, archive,
     "Archive a script path (its versions stay readable by hash)"},
  };
}

} // namespace millrace::api
