#include "runtime/flow/parse.hpp"

#include <cmath>
#include <limits>
#include <utility>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/flow/parse_detail.hpp"

namespace millrace::flow {

namespace detail {

where where::key(std::string_view k) const {
  auto join = [&](const std::string& base) {
    return base.empty() ? std::string{k} : base + "." + std::string{k};
  };
  return {module_id, join(path), join(rel)};
}

where where::index(std::size_t i) const {
  auto suffix = "[" + std::to_string(i) + "]";
  return {module_id, path + suffix, rel + suffix};
}

void reader::error(const where& w, std::string message) {
  errors_.push_back({w.module_id, w.path, std::move(message)});
}

void reader::type_error(const where& w, const char* what) {
  error(w, w.rel.empty() ? std::string{what} : w.rel + " " + what);
}

const json* reader::get(const json& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || it->value.IsNull())
    return nullptr;
  return &it->value;
}

bool reader::read_string(const json& obj, const char* key, const where& w, std::string& out) {
  auto* v = get(obj, key);
  if (!v)
    return false;
  if (!v->IsString()) {
    type_error(w.key(key), "must be a string");
    return false;
  }
  out.assign(v->GetString(), v->GetStringLength());
  return true;
}

bool reader::read_bool(const json& obj, const char* key, const where& w, bool& out) {
  auto* v = get(obj, key);
  if (!v)
    return false;
  if (!v->IsBool()) {
    type_error(w.key(key), "must be a boolean");
    return false;
  }
  out = v->GetBool();
  return true;
}

bool reader::read_int(const json& obj, const char* key, const where& w, int& out) {
  auto* v = get(obj, key);
  if (!v)
    return false;
  double d = 0;
  if (v->IsInt64()) {
    auto i = v->GetInt64();
    if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) {
      type_error(w.key(key), "is out of range");
      return false;
    }
    out = static_cast<int>(i);
    return true;
  }
  if (v->IsNumber()) {
    // 3.0 (some emitters write integers so) is fine; 2.5 is not.
    d = v->GetDouble();
    if (std::isfinite(d) && std::trunc(d) == d) {
      if (d < std::numeric_limits<int>::min() || d > std::numeric_limits<int>::max()) {
        type_error(w.key(key), "is out of range");
        return false;
      }
      out = static_cast<int>(d);
      return true;
    }
  }
  type_error(w.key(key), "must be an integer");
  return false;
}

bool reader::expect_object(const json& v, const where& w) {
  if (v.IsObject())
    return true;
  type_error(w, "must be an object");
  return false;
}

std::optional<input_transform> reader::read_transform(const json& v, const where& w,
                                                      bool allow_number) {
  if (allow_number && v.IsNumber())
    return input_transform{input_transform::kind::static_value, to_json(v), {}};
  if (!v.IsObject()) {
    type_error(w, allow_number ? "must be a number or an input transform object"
                               : "must be an input transform object");
    return std::nullopt;
  }
  std::string type;
  auto* t = get(v, "type");
  if (!t) {
    type_error(w.key("type"), "is required (static or javascript)");
    return std::nullopt;
  }
  if (!read_string(v, "type", w, type))
    return std::nullopt;
  input_transform out;
  if (type == "static") {
    out.type = input_transform::kind::static_value;
    auto it = v.FindMember("value");
    out.value_json = it == v.MemberEnd() ? "null" : to_json(it->value);
    return out;
  }
  if (type == "javascript") {
    out.type = input_transform::kind::javascript;
    if (!get(v, "expr")) {
      type_error(w.key("expr"), "is required for a javascript transform");
      return std::nullopt;
    }
    if (!read_string(v, "expr", w, out.expr))
      return std::nullopt;
    return out;
  }
  error(w.key("type"), "unknown input transform type '" + type + "' (static or javascript)");
  return std::nullopt;
}

std::string to_json(const json& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  v.Accept(w);
  return {sb.GetString(), sb.GetSize()};
}

} // namespace detail

namespace {

using detail::json;
using detail::reader;
using detail::where;

std::string_view skip_bom(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    text.remove_prefix(3);
  return text;
}

bool looks_like_json(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      continue;
    return c == '{';
  }
  return false;
}

/// Line and column (1-based) of a byte offset.
std::string position(std::string_view text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

/// Depth of the deepest array or object nesting, walked without recursion;
/// stops counting once past `limit`.
int json_depth(const json& root, int limit) {
  std::vector<std::pair<const json*, int>> pending{{&root, 1}};
  int deepest = 0;
  while (!pending.empty()) {
    auto [v, d] = pending.back();
    pending.pop_back();
    if (!v->IsArray() && !v->IsObject())
      continue;
    deepest = std::max(deepest, d);
    if (deepest > limit)
      return deepest;
    if (v->IsArray())
      for (auto& e : v->GetArray())
        pending.emplace_back(&e, d + 1);
    else
      for (auto& m : v->GetObject())
        pending.emplace_back(&m.value, d + 1);
  }
  return deepest;
}

/// Text to document; false (with an error) when the syntax is wrong.
bool load(std::string_view text, format f, rapidjson::Document& doc,
          std::vector<flow_error>& errors) {
  text = skip_bom(text);
  if (f == format::detect)
    f = looks_like_json(text) ? format::json : format::yaml;
  if (f == format::json) {
    constexpr unsigned flags = rapidjson::kParseIterativeFlag
                               | rapidjson::kParseValidateEncodingFlag;
    doc.Parse<flags>(text.data(), text.size());
    if (doc.HasParseError()) {
      errors.push_back({"", "", "invalid JSON at " + position(text, doc.GetErrorOffset()) + ": "
                                  + rapidjson::GetParseError_En(doc.GetParseError())});
      return false;
    }
  } else if (auto err = detail::yaml_to_json(text, doc)) {
    errors.push_back({"", "", "invalid YAML: " + *err});
    return false;
  }
  if (json_depth(doc, max_json_depth) > max_json_depth) {
    errors.push_back({"", "", "the definition nests deeper than "
                                + std::to_string(max_json_depth) + " levels"});
    return false;
  }
  return true;
}

flow_value parse_value(reader& r, const json& v, const where& w) {
  flow_value out;
  if (!r.expect_object(v, w))
    return out;
  out.modules = detail::parse_modules(r, v, "modules", w);
  if (auto* m = reader::get(v, "failure_module"))
    out.failure_module = detail::parse_module(r, *m, w.key("failure_module"));
  if (auto* m = reader::get(v, "preprocessor_module"))
    out.preprocessor_module = detail::parse_module(r, *m, w.key("preprocessor_module"));
  r.read_bool(v, "same_worker", w, out.same_worker);
  r.read_string(v, "early_return", w, out.early_return);
  r.read_string(v, "skip_expr", w, out.skip_expr);
  r.read_int(v, "cache_ttl", w, out.cache_ttl);
  if (int p = 0; r.read_int(v, "priority", w, p))
    out.priority = p;
  return out;
}

parse_result finish(parse_result res, open_flow flow) {
  if (res.errors.empty())
    res.flow = std::move(flow);
  return res;
}

} // namespace

parse_result parse_openflow(std::string_view text, format f) {
  parse_result res;
  rapidjson::Document doc;
  if (!load(text, f, doc, res.errors))
    return res;
  res.json = detail::to_json(doc);
  reader r{res.errors};
  where root{};
  open_flow flow;
  if (!doc.IsObject()) {
    r.error(root, "an OpenFlow definition must be an object");
    return res;
  }
  r.read_string(doc, "summary", root, flow.summary);
  r.read_string(doc, "description", root, flow.description);
  if (auto* v = reader::get(doc, "value"))
    flow.value = parse_value(r, *v, root.key("value"));
  else
    r.error(root.key("value"), "value is required (the flow: {modules: [...]})");
  if (auto* s = reader::get(doc, "schema")) {
    if (s->IsObject())
      flow.schema_json = detail::to_json(*s);
    else
      r.type_error(root.key("schema"), "must be an object");
  }
  return finish(std::move(res), std::move(flow));
}

parse_result parse_flow_value(std::string_view text, format f) {
  parse_result res;
  rapidjson::Document doc;
  if (!load(text, f, doc, res.errors))
    return res;
  res.json = detail::to_json(doc);
  reader r{res.errors};
  open_flow flow;
  if (!doc.IsObject()) {
    r.error({}, "a flow value must be an object ({modules: [...]})");
    return res;
  }
  flow.value = parse_value(r, doc, where{});
  return finish(std::move(res), std::move(flow));
}

std::string without_preprocessor(const std::string& value) {
  if (value.find("\"preprocessor_module\"") == std::string::npos)
    return value;
  rapidjson::Document d;
  d.Parse(value.data(), value.size());
  if (d.HasParseError() || !d.IsObject() || !d.RemoveMember("preprocessor_module"))
    return value;
  return detail::to_json(d);
}

std::string to_string(const flow_error& e) {
  std::string out;
  if (!e.module_id.empty())
    out = "module '" + e.module_id + "': ";
  if (!e.field.empty())
    out += e.field + ": ";
  return out + e.message;
}

} // namespace millrace::flow
