#include "api/service/trigger_event.hpp"

#include <optional>
#include <set>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/http/api_error.hpp"
#include "api/http/content_type.hpp"
#include "api/http/json.hpp"
#include "api/http/utf8.hpp"
#include "api/service/api_state.hpp"
#include "api/service/crypto.hpp"

namespace millrace::api {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void string(writer& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

} // namespace

bool webhook_event(const call_ptr& c, std::string& args) {
  bool raw = query_flag(c, "raw");
  std::string text = c->req.body;
  bool is_json = true;
  if (c->req.method == "GET") {
    if (auto p = query(c, "payload")) {
      auto decoded = base64url_decode(*p);
      if (!decoded) {
        fail(c, 400, "invalid_field", "payload: not base64url", "/payload");
        return false;
      }
      text = std::move(*decoded);
    }
  } else if (auto* ct = c->req.header("content-type");
             text.find_first_not_of(" \t\r\n") != std::string::npos
             && !(ct && http::is_json_content_type(*ct))) {
    if (!raw) {
      fail(c, 415, "unsupported_media_type",
           "the body must be application/json" + (ct ? ", not " + *ct : std::string{})
             + "; with ?raw=true any text body reaches the preprocessor as event.raw_string");
      return false;
    }
    is_json = false;
  }
  if (!http::valid_utf8(text)) {
    fail(c, 400, "bad_body",
         "the body is not valid UTF-8 (at byte " + std::to_string(http::utf8_error_offset(text))
           + ")");
    return false;
  }
  if (raw && text.find('\0') != std::string::npos) {
    fail(c, 400, "bad_body", "the body has a NUL byte, which event.raw_string cannot carry");
    return false;
  }
  // The strict parser of every other body: bounded depth, exact numbers, no
  // NUL or lone surrogates (which the job's jsonb args could not store).
  rapidjson::Document empty;
  std::optional<http::json_body> parsed;
  bool blank = text.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) {
    empty.SetObject();
  } else if (is_json) {
    http::json_limits any;
    any.object_only = false;
    auto r = http::parse_json_object(text, any);
    if (r)
      parsed.emplace(std::move(*r));
    else if (!raw) {
      c->respond(http::to_response(r.error()));
      return false;
    } else {
      empty.SetNull();
    }
  } else {
    empty.SetNull();
  }
  const rapidjson::Value& body = parsed ? parsed->root() : empty;
  static const std::set<std::string> credentials{"authorization", "cookie", "proxy-authorization"};
  rapidjson::StringBuffer sb;
  writer w{sb};
  w.StartObject();
  w.Key("event");
  w.StartObject();
  w.Key("kind");
  w.String("webhook");
  w.Key("body");
  body.Accept(w);
  w.Key("raw_string");
  if (raw)
    string(w, text);
  else
    w.Null();
  w.Key("query");
  w.StartObject();
  std::set<std::string> seen;
  for (auto& [k, v] : c->req.query)
    if (k != "token" && http::valid_utf8(k) && http::valid_utf8(v) && seen.insert(k).second) {
      string(w, k);
      string(w, v);
    }
  w.EndObject();
  w.Key("headers");
  w.StartObject();
  seen.clear();
  for (auto& [k, v] : c->req.headers)
    if (!credentials.count(k) && seen.insert(k).second && http::valid_utf8(v)) {
      string(w, k);
      string(w, v);
    }
  w.EndObject();
  w.EndObject();
  w.EndObject();
  args.assign(sb.GetString(), sb.GetSize());
  return true;
}

} // namespace millrace::api
