// The helpers of api_state.hpp: answering, error mapping, storage calls,
// request parameters.

#include <cctype>
#include <cstdlib>

#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/registry.hpp"
#include "api/http/api_error.hpp"
#include "api/http/json.hpp"
#include "api/service/api_state.hpp"
#include "api/service/json_out.hpp"

namespace millrace::api {

void reply(const call_ptr& c, int status, std::string body, std::string content_type) {
  http::response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  c->respond(std::move(r));
}

void fail(const call_ptr& c, int status, const std::string& code, const std::string& message,
          const std::string& field) {
  c->respond(http::to_response(http::api_error{status, code, message, field}));
}

void not_found(const call_ptr& c, const std::string& what) {
  fail(c, 404, "not_found", what + " not found");
}

void fail(const call_ptr& c, const caf::error& err) {
  auto msg = actors::message_of(err);
  auto cat = err.category();
  if (cat == caf::atom("dispatch")) {
    switch (static_cast<actors::dispatch_errc>(err.code())) {
      case actors::dispatch_errc::invalid_job: {
        // "field: problem" -> a JSON pointer to the field.
        auto colon = msg.find(':');
        std::string field;
        if (colon != std::string::npos && msg.find(' ') > colon) {
          field = "/" + msg.substr(0, colon);
          for (auto& ch : field)
            if (ch == '.')
              ch = '/';
        }
        fail(c, 400, "invalid_field", msg, field);
        return;
      }
      case actors::dispatch_errc::not_found:
        fail(c, 404, "not_found", msg);
        return;
      case actors::dispatch_errc::already_finished:
        fail(c, 409, "conflict", msg);
        return;
      case actors::dispatch_errc::overloaded: {
        auto r = http::to_response(http::api_error{429, "overloaded", msg, ""});
        r.headers.emplace_back("Retry-After", "1");
        c->respond(std::move(r));
        return;
      }
      case actors::dispatch_errc::idempotency_conflict:
        fail(c, 422, "idempotency_conflict", msg);
        return;
      case actors::dispatch_errc::id_taken:
        fail(c, 409, "conflict", msg, "/job_id");
        return;
      default:
        break;
    }
  } else if (cat == caf::atom("storage")) {
    switch (static_cast<storage::storage_errc>(err.code())) {
      case storage::storage_errc::invalid_input:
        fail(c, 400, "invalid_input", msg);
        return;
      case storage::storage_errc::database_error:
      case storage::storage_errc::schema_too_new:
      case storage::storage_errc::unknown_statement:
      case storage::storage_errc::constraint_violation:
        fail(c, 500, "internal", "storage error: " + msg);
        return;
      default: // unavailable, overloaded, timeout, shutting down, outcome unknown
        break;
    }
  }
  // Everything else is a transient lack of service: retry later.
  auto r = http::to_response(http::api_error{503, "unavailable", actors::describe(err), ""});
  r.headers.emplace_back("Retry-After", "1");
  c->respond(std::move(r));
}

actors::dispatcher_actor dispatcher_of(api_ptr self) {
  return self->state.reg->resolve_as<actors::dispatcher_actor>(actors::paths::dispatcher);
}

void read(api_ptr self, const call_ptr& c, std::string statement,
          std::vector<storage::sql_value> params, std::function<void(storage::result_set&)> ok) {
  auto reader = self->state.reg->resolve_as<actors::storage_reader_actor>(
    actors::paths::storage_reader);
  if (!reader) {
    fail(c, caf::make_error(storage::storage_errc::unavailable, "the storage reader is not running"));
    return;
  }
  self->request(reader, storage_timeout, actors::read_atom_v,
                storage::read_request{std::move(statement), std::move(params)})
    .then([ok = std::move(ok)](storage::result_set& rs) { ok(rs); },
          [c](caf::error& err) { fail(c, err); });
}

void write(api_ptr self, const call_ptr& c, storage::write_request w,
           std::function<void(storage::result_set&)> ok) {
  auto writer = self->state.reg->resolve_as<actors::storage_writer_actor>(
    actors::paths::storage_writer);
  if (!writer) {
    fail(c, caf::make_error(storage::storage_errc::unavailable, "the storage writer is not running"));
    return;
  }
  self->request(writer, storage_timeout, actors::write_atom_v, std::move(w))
    .then([ok = std::move(ok)](storage::result_set& rs) { ok(rs); },
          [c](caf::error& err) { fail(c, err); });
}

std::optional<std::string> query(const call_ptr& c, const char* name) {
  if (auto* v = c->req.query_param(name))
    return *v;
  return std::nullopt;
}

bool query_flag(const call_ptr& c, const char* name) {
  auto v = query(c, name);
  return v && (*v == "true" || *v == "1");
}

int page_size(api_ptr self, const call_ptr& c) {
  auto& cfg = self->state.cfg;
  auto v = query(c, "per_page");
  if (!v)
    return cfg.page_default;
  char* end = nullptr;
  long n = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0')
    return cfg.page_default;
  return static_cast<int>(std::max<long>(1, std::min<long>(n, cfg.page_max)));
}

bool valid_script_path(const call_ptr& c, const std::string& path, const std::string& field) {
  auto bad = [&](const std::string& why) {
    fail(c, 400, "invalid_field", "script path '" + path + "': " + why, field);
    return false;
  };
  if (path.empty() || path.size() > 255)
    return bad("expected 1 to 255 characters");
  std::vector<std::string> segs;
  size_t start = 0;
  while (true) {
    auto slash = path.find('/', start);
    segs.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos)
      break;
    start = slash + 1;
  }
  if (segs.size() < 3 || (segs[0] != "u" && segs[0] != "f"))
    return bad("expected u/<user>/<name> or f/<folder>/<name>");
  for (auto& s : segs) {
    if (s.empty() || s == "." || s == "..")
      return bad("empty, '.' or '..' segment");
    for (unsigned char ch : s)
      if (!(std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.'))
        return bad("only letters, digits, '_', '-' and '.' are allowed in a segment");
  }
  return true;
}

} // namespace millrace::api

namespace millrace::api {

namespace {

/// Value::CopyFrom keeps in-situ strings by reference (RapidJSON 1.1); this
/// copies them. Depth is bounded by the parser's nesting limit.
void deep_copy(rapidjson::Value& out, const rapidjson::Value& in,
               rapidjson::Document::AllocatorType& a) {
  if (in.IsString()) {
    out.SetString(in.GetString(), in.GetStringLength(), a);
  } else if (in.IsObject()) {
    out.SetObject();
    for (auto& m : in.GetObject()) {
      rapidjson::Value key{m.name.GetString(), m.name.GetStringLength(), a};
      rapidjson::Value val;
      deep_copy(val, m.value, a);
      out.AddMember(key, val, a);
    }
  } else if (in.IsArray()) {
    out.SetArray();
    out.Reserve(in.Size(), a);
    for (auto& e : in.GetArray()) {
      rapidjson::Value val;
      deep_copy(val, e, a);
      out.PushBack(val, a);
    }
  } else {
    out.CopyFrom(in, a);
  }
}

} // namespace

bool parse_body(const call_ptr& c, rapidjson::Document& doc, bool empty_ok) {
  auto& body = c->req.body;
  bool blank = body.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) {
    if (empty_ok) {
      doc.SetObject();
      return true;
    }
    fail(c, 400, "bad_json", "a JSON object body is required");
    return false;
  }
  // GET ?payload= bodies are decoded by the route itself (no header).
  if (c->req.method != "GET") {
    auto* ct = c->req.header("content-type");
    std::string type = ct ? ct->substr(0, ct->find(';')) : std::string{};
    while (!type.empty() && type.back() == ' ')
      type.pop_back();
    for (auto& ch : type)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (type != "application/json") {
      fail(c, 415, "unsupported_media_type",
           "the body must be application/json" + (ct ? ", not " + *ct : std::string{}));
      return false;
    }
  }
  auto parsed = http::parse_json_object(body);
  if (!parsed) {
    c->respond(http::to_response(parsed.error()));
    return false;
  }
  // The parsed strings live in the body's in-situ buffer: copy them too.
  deep_copy(doc, parsed->root(), doc.GetAllocator());
  return true;
}

bool get_string(const call_ptr& c, const rapidjson::Value& obj, const char* name,
                std::string& out, bool required) {
  if (!obj.IsObject() || !obj.HasMember(name) || obj[name].IsNull()) {
    if (!required)
      return true;
    fail(c, 400, "invalid_field", std::string{name} + ": required", std::string{"/"} + name);
    return false;
  }
  auto& v = obj[name];
  if (!v.IsString()) {
    fail(c, 400, "invalid_field", std::string{name} + ": expected a string", std::string{"/"} + name);
    return false;
  }
  out.assign(v.GetString(), v.GetStringLength());
  return true;
}

} // namespace millrace::api
