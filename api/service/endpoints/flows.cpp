// Flow definitions: flows/create, update, get, exists, list, history,
// archive. A definition is OpenFlow JSON (`millrace flow push` converts YAML
// files); it is validated before it is stored: the static checks of
// runtime/flow/validate.hpp, then its references (scripts, sub-flows) and
// sub-flow cycles against the database. Versions are immutable.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <set>

#include "actors/flow/detail/json_util.hpp"
#include "api/service/api_state.hpp"
#include "api/service/json_out.hpp"
#include "api/service/run_support.hpp"
#include "runtime/flow/parse.hpp"
#include "runtime/flow/validate.hpp"

namespace millrace::api {

namespace {

using as = json_out::as;

std::string json_list(const std::vector<std::string>& xs) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  w.StartArray();
  for (auto& x : xs)
    w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
  w.EndArray();
  return {sb.GetString(), sb.GetSize()};
}

} // namespace

// 400 with every error (each names its module and field).
void invalid_flow(const call_ptr& c, const std::vector<flow::flow_error>& errors) {
  json_out j;
  j.begin_object().field("error", "invalid_flow");
  std::string msg;
  for (auto& e : errors)
    msg += (msg.empty() ? "" : "; ") + flow::to_string(e);
  j.field("message", msg);
  j.key("errors").begin_array();
  for (auto& e : errors) {
    j.begin_object().field("module_id", e.module_id).field("field", e.field);
    j.field("message", e.message).end_object();
  }
  j.end_array().end_object();
  reply(c, 400, j.take());
}

namespace {

// Parses and checks a definition; then `ok(flow, normalized value JSON, its
// sub-flow paths as a JSON list)`.
void checked_flow(api_ptr self, const call_ptr& c, const std::string& path,
                  std::function<void(flow::open_flow&, std::string, std::string)> ok) {
  auto parsed = flow::parse_openflow(c->req.body, flow::format::json);
  if (!parsed.flow)
    return invalid_flow(c, parsed.errors);
  auto errors = flow::validate(*parsed.flow);
  if (!errors.empty())
    return invalid_flow(c, errors);
  auto refs = flow::collect_references(*parsed.flow);
  auto value = actors::flow_engine::member(parsed.json, "value").value_or("{}");
  auto subflows = json_list(refs.flow_paths);
  auto def = std::make_shared<flow::open_flow>(std::move(*parsed.flow));
  auto ws = c->workspace();
  read(self, c, "flow_refs_missing",
       {ws, json_list(refs.script_paths), json_list(refs.script_hashes), subflows},
       [self, c, ws, path, def, refs, value, subflows, ok](storage::result_set& rs) {
         std::set<std::string> missing;
         for (auto& row : rs.rows)
           missing.insert(col(rs, row, "kind").text + ':' + col(rs, row, "ref").text);
         auto lookup = [&missing](const char* kind) {
           return [&missing, kind](const std::string& ref) {
             return !missing.count(std::string{kind} + ':' + ref);
           };
         };
         auto errs = flow::check_references(*def, lookup("script_path"), lookup("script_hash"),
                                            lookup("flow_path"));
         if (!errs.empty())
           return invalid_flow(c, errs);
         if (refs.flow_paths.empty())
           return ok(*def, value, subflows);
         read(self, c, "flow_cycle", {ws, path, subflows},
              [c, def, value, subflows, ok](storage::result_set& cyc) {
                if (!cyc.empty())
                  return fail(c, 400, "invalid_flow",
                              "the flow calls itself through sub-flows: "
                                + col(cyc, cyc.rows[0], "cycle").text,
                              "/value");
                ok(*def, value, subflows);
              });
       });
}

void save(api_ptr self, const call_ptr& c, std::string path) {
  if (!valid_script_path(c, path, "/path"))
    return;
  checked_flow(self, c, path, [self, c, path](flow::open_flow& f, std::string value,
                                              std::string subflows) {
    storage::sql_value schema = f.schema_json.empty() ? storage::sql_value::null_value()
                                                      : storage::sql_value{f.schema_json};
    write(self, c,
          storage::write_request{"create_flow",
                                 {c->workspace(), path, f.summary, f.description, value, schema,
                                  subflows, c->who.name()},
                                 "flow:" + c->workspace() + ':' + path},
          [c, path](storage::result_set&) { reply(c, 201, path, "text/plain; charset=utf-8"); });
  });
}

void create(api_ptr self, const call_ptr& c) {
  rapidjson::Document body;
  std::string path;
  if (!parse_body(c, body) || !get_string(c, body, "path", path, true))
    return;
  save(self, c, path);
}

void update(api_ptr self, const call_ptr& c) {
  rapidjson::Document body;
  if (!parse_body(c, body))
    return;
  save(self, c, c->param("path"));
}

void flow_json(json_out& j, const storage::result_set& rs, const storage::sql_row& row,
               const std::string& ws, bool full) {
  j.begin_object();
  j.field("workspace_id", ws);
  j.column("path", col(rs, row, "path"));
  j.column("version_id", col(rs, row, "version_id"), as::number);
  j.column("summary", col(rs, row, "summary"));
  j.column("description", col(rs, row, "description"));
  j.column("archived", col(rs, row, "archived"), as::boolean);
  j.column("created_by", col(rs, row, "created_by"));
  j.column("created_at", col(rs, row, "created_at"), as::timestamp);
  j.column("edited_at", col(rs, row, "updated_at"), as::timestamp);
  if (full) {
    j.column("value", col(rs, row, "value"), as::json);
    j.column("schema", col(rs, row, "schema"), as::json);
  }
  j.end_object();
}

void get(api_ptr self, const call_ptr& c) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  auto ws = c->workspace();
  read(self, c, "flow_by_path", {ws, path}, [c, ws, path](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "flow '" + path + "'");
    json_out j;
    flow_json(j, rs, rs.rows[0], ws, true);
    reply(c, 200, j.take());
  });
}

void exists(api_ptr self, const call_ptr& c) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  read(self, c, "flow_by_path", {c->workspace(), path}, [c](storage::result_set& rs) {
    bool yes = !rs.empty() && col(rs, rs.rows[0], "archived").text != "t";
    reply(c, 200, yes ? "true" : "false");
  });
}

void list(api_ptr self, const call_ptr& c) {
  auto ws = c->workspace();
  auto limit = page_size(self, c);
  with_cursor_key(self, c, [self, c, ws, limit](const std::string& key) {
    storage::sql_value after = storage::sql_value::null_value();
    if (auto cur = query(c, "cursor")) {
      auto pos = open_cursor(key, *cur);
      if (!pos)
        return fail(c, 400, "invalid_cursor", "the cursor is malformed or was altered", "/cursor");
      after = *pos;
    }
    auto start = query(c, "path_start");
    auto archived = query(c, "show_archived");
    read(self, c, "flows_list",
         {ws, start && !start->empty() ? storage::sql_value{*start} : storage::sql_value::null_value(),
          archived && *archived == "true" ? "true" : "false", after, std::to_string(limit + 1)},
         [c, ws, limit, key](storage::result_set& rs) {
           json_out j;
           j.begin_array();
           size_t n = std::min(rs.rows.size(), static_cast<size_t>(limit));
           for (size_t i = 0; i < n; ++i)
             flow_json(j, rs, rs.rows[i], ws, false);
           j.end_array();
           http::response r;
           r.body = j.take();
           if (rs.rows.size() > n)
             r.headers.emplace_back("X-Next-Cursor",
                                    make_cursor(key, col(rs, rs.rows[n - 1], "path").text));
           c->respond(std::move(r));
         });
  });
}

void history(api_ptr self, const call_ptr& c) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  read(self, c, "flow_history", {c->workspace(), path}, [c, path](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "flow '" + path + "'");
    json_out j;
    j.begin_array();
    for (auto& row : rs.rows) {
      j.begin_object();
      j.column("version_id", col(rs, row, "version_id"), as::number);
      j.column("summary", col(rs, row, "summary"));
      j.column("created_by", col(rs, row, "created_by"));
      j.column("created_at", col(rs, row, "created_at"), as::timestamp);
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
  write(self, c,
        storage::write_request{"archive_flow", {c->workspace(), path},
                               "flow:" + c->workspace() + ':' + path},
        [c, path](storage::result_set& rs) {
          if (rs.empty())
            return not_found(c, "flow '" + path + "'");
          reply(c, 200, "\"archived\"");
        });
}

} // namespace

std::vector<endpoint> flow_endpoints() {
  return {
    {"POST", "/api/w/{workspace}/flows/create", access::token, create,
     "Create a flow (OpenFlow JSON; `millrace flow push` converts YAML); validated first"},
    {"POST", "/api/w/{workspace}/flows/update/{path*}", access::token, update,
     "Store a new version of a flow path (validated first)"},
    {"GET", "/api/w/{workspace}/flows/get/{path*}", access::token, get,
     "A flow's current version, with its value"},
    {"GET", "/api/w/{workspace}/flows/exists/{path*}", access::token, exists,
     "Whether a flow path exists (and is not archived)"},
    {"GET", "/api/w/{workspace}/flows/list", access::token, list,
     "Flows of the workspace by path (filters: path_start, show_archived)"},
    {"GET", "/api/w/{workspace}/flows/history/p/{path*}", access::token, history,
     "Versions of a flow path, newest first"},
    {"POST", "/api/w/{workspace}/flows/archive/{path*}", access::token, archive,
     "Archive a flow path"},
  };
}

} // namespace millrace::api
