// FlowModule objects (WINDMILL.md §2) into flow_module: the type
// discriminator, the fields of each module type and the per-module options.

#include <utility>

#include "runtime/flow/parse_detail.hpp"

namespace millrace::flow::detail {

namespace {

/// The object at obj[key], or null (absent, JSON null, or not an object: an
/// error then).
const json* object_member(reader& r, const json& obj, const char* key, const where& w) {
  auto* v = reader::get(obj, key);
  if (!v)
    return nullptr;
  return r.expect_object(*v, w.key(key)) ? v : nullptr;
}

/// The array at obj[key], or null (as object_member).
const json* array_member(reader& r, const json& obj, const char* key, const where& w) {
  auto* v = reader::get(obj, key);
  if (!v)
    return nullptr;
  if (v->IsArray())
    return v;
  r.type_error(w.key(key), "must be an array");
  return nullptr;
}

void parse_input_transforms(reader& r, const json& value, const where& w, flow_module& m) {
  auto* obj = object_member(r, value, "input_transforms", w);
  if (!obj)
    return;
  auto at = w.key("input_transforms");
  for (auto& member : obj->GetObject()) {
    std::string name{member.name.GetString(), member.name.GetStringLength()};
    if (auto t = r.read_transform(member.value, at.key(name)))
      m.input_transforms.emplace_back(std::move(name), std::move(*t));
  }
}

std::optional<input_transform> transform_member(reader& r, const json& obj, const char* key,
                                                const where& w, bool allow_number) {
  auto* v = reader::get(obj, key);
  if (!v)
    return std::nullopt;
  return r.read_transform(*v, w.key(key), allow_number);
}

std::optional<stop_condition> parse_stop(reader& r, const json& module, const char* key,
                                         const where& w) {
  auto* obj = object_member(r, module, key, w);
  if (!obj)
    return std::nullopt;
  auto at = w.key(key);
  stop_condition out;
  r.read_string(*obj, "expr", at, out.expr);
  r.read_bool(*obj, "skip_if_stopped", at, out.skip_if_stopped);
  r.read_string(*obj, "error_message", at, out.error_message);
  return out;
}

std::optional<retry_policy> parse_retry(reader& r, const json& module, const where& w) {
  auto* obj = object_member(r, module, "retry", w);
  if (!obj)
    return std::nullopt;
  auto at = w.key("retry");
  retry_policy out;
  if (auto* c = object_member(r, *obj, "constant", at)) {
    auto cw = at.key("constant");
    r.read_int(*c, "attempts", cw, out.constant_attempts);
    r.read_int(*c, "seconds", cw, out.constant_seconds);
  }
  if (auto* e = object_member(r, *obj, "exponential", at)) {
    auto ew = at.key("exponential");
    r.read_int(*e, "attempts", ew, out.exponential_attempts);
    r.read_int(*e, "multiplier", ew, out.exponential_multiplier);
    r.read_int(*e, "seconds", ew, out.exponential_seconds);
    r.read_int(*e, "random_factor", ew, out.random_factor);
  }
  if (auto* i = object_member(r, *obj, "retry_if", at))
    r.read_string(*i, "expr", at.key("retry_if"), out.retry_if);
  return out;
}

std::optional<suspend_spec> parse_suspend(reader& r, const json& module, const where& w) {
  auto* obj = object_member(r, module, "suspend", w);
  if (!obj)
    return std::nullopt;
  auto at = w.key("suspend");
  suspend_spec out;
  r.read_int(*obj, "required_events", at, out.required_events);
  r.read_int(*obj, "timeout", at, out.timeout_s);
  r.read_bool(*obj, "continue_on_disapprove_timeout", at, out.continue_on_disapprove_timeout);
  r.read_bool(*obj, "self_approval_disabled", at, out.self_approval_disabled);
  r.read_bool(*obj, "user_auth_required", at, out.user_auth_required);
  // An input transform; only an empty static value (no groups) means nothing.
  if (auto g = obj->FindMember("user_groups_required"); g != obj->MemberEnd()) {
    auto& v = g->value;
    bool empty = v.IsNull();
    if (v.IsObject()) {
      auto val = v.FindMember("value");
      auto type = v.FindMember("type");
      bool is_static = type == v.MemberEnd()
                       || (type->value.IsString() && std::string{type->value.GetString()} == "static");
      empty = is_static
              && (val == v.MemberEnd() || val->value.IsNull()
                  || (val->value.IsArray() && val->value.Empty()));
    }
    out.groups_required = !empty;
  }
  return out;
}

void parse_mock(reader& r, const json& module, const where& w, flow_module& m) {
  auto* obj = object_member(r, module, "mock", w);
  if (!obj)
    return;
  bool enabled = false;
  r.read_bool(*obj, "enabled", w.key("mock"), enabled);
  if (!enabled)
    return;
  auto it = obj->FindMember("return_value");
  m.mock_json = it == obj->MemberEnd() ? "null" : to_json(it->value);
}

void parse_branches(reader& r, const json& value, const where& w, flow_module& m) {
  auto* arr = array_member(r, value, "branches", w);
  if (!arr)
    return;
  auto at = w.key("branches");
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
    auto& b = (*arr)[i];
    auto bw = at.index(i);
    if (!r.expect_object(b, bw))
      continue;
    branch out;
    r.read_string(b, "summary", bw, out.summary);
    if (m.type == module_type::branchone)
      r.read_string(b, "expr", bw, out.expr);
    else
      r.read_bool(b, "skip_failure", bw, out.skip_failure);
    out.modules = parse_modules(r, b, "modules", bw);
    m.branches.push_back(std::move(out));
  }
}

/// The fields of `value` that depend on the module type.
void parse_value_fields(reader& r, const json& value, const where& w, flow_module& m) {
  switch (m.type) {
    case module_type::rawscript:
      r.read_string(value, "content", w, m.content);
      r.read_string(value, "language", w, m.language);
      r.read_string(value, "path", w, m.path);
      r.read_string(value, "tag", w, m.tag);
      parse_input_transforms(r, value, w, m);
      break;
    case module_type::script:
      r.read_string(value, "path", w, m.path);
      r.read_string(value, "hash", w, m.hash);
      r.read_string(value, "tag_override", w, m.tag);
      parse_input_transforms(r, value, w, m);
      break;
    case module_type::flow:
      r.read_string(value, "path", w, m.path);
      parse_input_transforms(r, value, w, m);
      break;
    case module_type::identity:
      break;
    case module_type::forloopflow:
      if (auto t = transform_member(r, value, "iterator", w, false))
        m.iterator = std::move(*t);
      [[fallthrough]];
    case module_type::whileloopflow:
      m.modules = parse_modules(r, value, "modules", w);
      r.read_bool(value, "skip_failures", w, m.skip_failures);
      r.read_bool(value, "parallel", w, m.parallel);
      m.parallelism = transform_member(r, value, "parallelism", w, true);
      break;
    case module_type::branchone:
      parse_branches(r, value, w, m);
      m.default_modules = parse_modules(r, value, "default", w);
      break;
    case module_type::branchall:
      parse_branches(r, value, w, m);
      r.read_bool(value, "parallel", w, m.parallel);
      break;
  }
}

} // namespace

flow_module parse_module(reader& r, const json& v, const where& at) {
  flow_module m;
  if (!v.IsObject()) {
    r.error(at, "a module must be an object ({id, value: {type, ...}})");
    return m;
  }
  where w{at.module_id, at.path, ""};
  if (!reader::get(v, "id"))
    r.error(w.key("id"), "id is required");
  else if (r.read_string(v, "id", w, m.id))
    w.module_id = m.id;
  r.read_string(v, "summary", w, m.summary);

  auto* value = reader::get(v, "value");
  auto vw = w.key("value");
  if (!value) {
    r.error(vw, "value is required ({type, ...})");
  } else if (r.expect_object(*value, vw)) {
    std::string type;
    if (!reader::get(*value, "type"))
      r.error(vw.key("type"), "value.type is required");
    else if (r.read_string(*value, "type", vw, type)) {
      if (auto t = module_type_from_string(type)) {
        m.type = *t;
        parse_value_fields(r, *value, vw, m);
      } else {
        r.error(vw.key("type"), "unknown module type '" + type + "'");
      }
    }
  }

  m.stop_after_if = parse_stop(r, v, "stop_after_if", w);
  m.stop_after_all_iters_if = parse_stop(r, v, "stop_after_all_iters_if", w);
  if (auto* s = object_member(r, v, "skip_if", w)) {
    std::string expr;
    r.read_string(*s, "expr", w.key("skip_if"), expr);
    m.skip_if = std::move(expr);
  }
  m.sleep = transform_member(r, v, "sleep", w, true);
  m.timeout = transform_member(r, v, "timeout", w, true);
  m.retry = parse_retry(r, v, w);
  r.read_bool(v, "continue_on_error", w, m.continue_on_error);
  m.suspend = parse_suspend(r, v, w);
  r.read_int(v, "cache_ttl", w, m.cache_ttl);
  if (int p = 0; r.read_int(v, "priority", w, p))
    m.priority = p;
  parse_mock(r, v, w, m);
  return m;
}

std::vector<flow_module> parse_modules(reader& r, const json& obj, const char* key,
                                       const where& w) {
  std::vector<flow_module> out;
  auto* arr = array_member(r, obj, key, w);
  if (!arr)
    return out;
  auto at = w.key(key);
  out.reserve(arr->Size());
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i)
    out.push_back(parse_module(r, (*arr)[i], at.index(i)));
  return out;
}

} // namespace millrace::flow::detail
