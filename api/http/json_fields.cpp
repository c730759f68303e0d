#include "api/http/json_fields.hpp"

#include <algorithm>
#include <cmath>


namespace millrace::api::http {

namespace {

const rapidjson::Value& empty_object() {
  static const rapidjson::Value v{rapidjson::kObjectType};
  return v;
}

const char* type_name(const rapidjson::Value& v) {
  if (v.IsNull())
    return "null";
  if (v.IsBool())
    return "a boolean";
  if (v.IsNumber())
    return "a number";
  if (v.IsString())
    return "a string";
  if (v.IsArray())
    return "an array";
  return "an object";
}

/// A number that is an integer too large for a double to hold exactly.
bool unsafe_integer(const rapidjson::Value& v) {
  if (v.IsInt64())
    return v.GetInt64() > max_safe_integer || v.GetInt64() < -max_safe_integer;
  if (v.IsUint64())
    return true; // above INT64_MAX
  if (v.IsDouble()) {
    double d = v.GetDouble();
    return std::trunc(d) == d && std::fabs(d) > static_cast<double>(max_safe_integer);
  }
  return false;
}

} // namespace

std::string json_pointer_append(std::string_view pointer, std::string_view token) {
  std::string out{pointer};
  out += '/';
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

json_fields::json_fields(const rapidjson::Value& object, std::string pointer)
  : json_fields(&object, std::move(pointer), nullptr) {
  // nop
}

json_fields::json_fields(const rapidjson::Value* object, std::string pointer,
                         std::optional<api_error>* shared)
  : object_(object), pointer_(std::move(pointer)), error_(shared ? shared : &own_) {
  if (!object_->IsObject()) {
    if (!error_->has_value())
      *error_ = make_error(errc::invalid_field,
                           std::string{"must be an object, not "} + type_name(*object_),
                           pointer_.empty() ? "/" : pointer_);
    object_ = &empty_object();
  }
}

std::string json_fields::pointer_to(std::string_view name) const {
  return json_pointer_append(pointer_, name);
}

void json_fields::fail(std::string_view name, std::string message) {
  if (!error_->has_value())
    *error_ = make_error(errc::invalid_field, std::move(message), pointer_to(name));
}

const rapidjson::Value* json_fields::find(std::string_view name) {
  auto it = object_->FindMember(
    rapidjson::Value::StringRefType{name.data(), static_cast<rapidjson::SizeType>(name.size())});
  if (it == object_->MemberEnd())
    return nullptr;
  read_.push_back(std::string_view{it->name.GetString(), it->name.GetStringLength()});
  return &it->value;
}

const rapidjson::Value* json_fields::get(std::string_view name, bool required) {
  if (!ok())
    return nullptr;
  auto* v = find(name);
  if (v == nullptr || v->IsNull()) {
    if (required)
      fail(name, v ? "must not be null" : "is required");
    return nullptr;
  }
  return v;
}

std::optional<std::string> json_fields::optional_string(std::string_view name,
                                                        std::size_t max_bytes) {
  auto* v = get(name, false);
  if (!v)
    return std::nullopt;
  if (!v->IsString()) {
    fail(name, std::string{"must be a string, not "} + type_name(*v));
    return std::nullopt;
  }
  if (v->GetStringLength() > max_bytes) {
    fail(name, "longer than " + std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  return std::string{v->GetString(), v->GetStringLength()};
}

std::string json_fields::string(std::string_view name, std::size_t max_bytes) {
  if (ok() && !has(name))
    get(name, true);
  return optional_string(name, max_bytes).value_or(std::string{});
}

std::optional<int64_t> json_fields::optional_integer(std::string_view name, int64_t min,
                                                     int64_t max) {
  auto* v = get(name, false);
  if (!v)
    return std::nullopt;
  if (!v->IsNumber()) {
    fail(name, std::string{"must be an integer, not "} + type_name(*v));
    return std::nullopt;
  }
  if (unsafe_integer(*v)) {
    fail(name, "integer beyond 2^53 cannot be represented exactly");
    return std::nullopt;
  }
  if (!v->IsInt64()) {
    fail(name, "must be an integer");
    return std::nullopt;
  }
  auto i = v->GetInt64();
  if (i < min || i > max) {
    fail(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return i;
}

int64_t json_fields::integer(std::string_view name, int64_t min, int64_t max) {
  if (ok() && !has(name))
    get(name, true);
  return optional_integer(name, min, max).value_or(0);
}

std::optional<double> json_fields::optional_number(std::string_view name, double min, double max) {
  auto* v = get(name, false);
  if (!v)
    return std::nullopt;
  if (!v->IsNumber()) {
    fail(name, std::string{"must be a number, not "} + type_name(*v));
    return std::nullopt;
  }
  double d = v->GetDouble();
  if (!(d >= min && d <= max)) {
    fail(name, "out of range");
    return std::nullopt;
  }
  return d;
}

double json_fields::number(std::string_view name, double min, double max) {
  if (ok() && !has(name))
    get(name, true);
  return optional_number(name, min, max).value_or(0.0);
}

std::optional<bool> json_fields::optional_boolean(std::string_view name) {
  auto* v = get(name, false);
  if (!v)
    return std::nullopt;
  if (!v->IsBool()) {
    fail(name, std::string{"must be a boolean, not "} + type_name(*v));
    return std::nullopt;
  }
  return v->GetBool();
}

bool json_fields::boolean(std::string_view name) {
  if (ok() && !has(name))
    get(name, true);
  return optional_boolean(name).value_or(false);
}

std::optional<std::string> json_fields::optional_id(std::string_view name, std::size_t max_bytes) {
  auto* v = get(name, false);
  if (!v)
    return std::nullopt;
  if (v->IsNumber()) {
    fail(name, unsafe_integer(*v)
                 ? "integer beyond 2^53 cannot be represented exactly; ids are strings"
                 : "ids are strings, not numbers");
    return std::nullopt;
  }
  if (!v->IsString()) {
    fail(name, std::string{"must be a string id, not "} + type_name(*v));
    return std::nullopt;
  }
  if (v->GetStringLength() == 0 || v->GetStringLength() > max_bytes) {
    fail(name, "id must have 1 to " + std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  return std::string{v->GetString(), v->GetStringLength()};
}

std::string json_fields::id(std::string_view name, std::size_t max_bytes) {
  if (ok() && !has(name))
    get(name, true);
  return optional_id(name, max_bytes).value_or(std::string{});
}

bool json_fields::has(std::string_view name) {
  auto* v = find(name);
  return v != nullptr && !v->IsNull();
}

json_fields json_fields::object(std::string_view name) {
  auto* v = get(name, true);
  return json_fields{v ? v : &empty_object(), pointer_to(name), error_};
}

const rapidjson::Value* json_fields::optional_array(std::string_view name, std::size_t max_items) {
  auto* v = get(name, false);
  if (!v)
    return nullptr;
  if (!v->IsArray()) {
    fail(name, std::string{"must be an array, not "} + type_name(*v));
    return nullptr;
  }
  if (v->Size() > max_items) {
    fail(name, "more than " + std::to_string(max_items) + " items");
    return nullptr;
  }
  return v;
}

const rapidjson::Value* json_fields::array(std::string_view name, std::size_t max_items) {
  if (ok() && !has(name))
    get(name, true);
  return optional_array(name, max_items);
}

const rapidjson::Value* json_fields::optional_value(std::string_view name) {
  return get(name, false);
}

const rapidjson::Value* json_fields::value(std::string_view name) {
  return get(name, true);
}

void json_fields::reject_unknown() {
  if (!ok())
    return;
  for (auto it = object_->MemberBegin(); it != object_->MemberEnd(); ++it) {
    std::string_view key{it->name.GetString(), it->name.GetStringLength()};
    bool seen = std::any_of(read_.begin(), read_.end(),
                            [&](std::string_view r) { return r.data() == key.data(); });
    if (!seen) {
      fail(key, "unknown field");
      return;
    }
  }
}

} // namespace millrace::api::http
