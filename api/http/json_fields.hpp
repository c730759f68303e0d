// Reading the fields of a parsed JSON object with errors a client can act
// on: 400 invalid_field with the JSON pointer of the field ("/args/x").
//
//   json_fields f{body->root()};
//   auto path = f.string("path");                 // required
//   auto tag = f.optional_string("tag", 64);      // absent or null -> nullopt
//   auto prio = f.optional_integer("priority", 0, 100).value_or(0);
//   auto args = f.object("args");                 // nested reader, "/args/..."
//   auto x = args.integer("x", 0, 10);
//   f.reject_unknown(); args.reject_unknown();    // mass assignment -> 400
//   if (auto e = f.error()) return reply(to_response(*e));
//
// The first error wins and is shared by a reader and the nested readers it
// made; after an error the getters return empty values, so a handler checks
// error() once at the end. A nested reader must not outlive its parent.

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "api/http/api_error.hpp"

namespace millrace::api::http {

/// Largest integer a double (and JavaScript) represents exactly: 2^53 - 1.
inline constexpr int64_t max_safe_integer = 9007199254740991;

/// Default length cap of string fields, in bytes.
inline constexpr std::size_t default_max_string = 64 * 1024;

/// Appends one reference token to a JSON pointer ("~" -> "~0", "/" -> "~1").
std::string json_pointer_append(std::string_view pointer, std::string_view token);

class json_fields {
public:
  /// Reads `object` (must be an object; otherwise the error is set at
  /// `pointer`). `pointer` is the object's own JSON pointer, "" for the root.
  explicit json_fields(const rapidjson::Value& object, std::string pointer = {});

  json_fields(const json_fields&) = delete;
  json_fields& operator=(const json_fields&) = delete;

  // -- required fields: absent or null is an error --------------------------
  std::string string(std::string_view name, std::size_t max_bytes = default_max_string);
  int64_t integer(std::string_view name, int64_t min = -max_safe_integer,
                  int64_t max = max_safe_integer);
  double number(std::string_view name, double min, double max);
  bool boolean(std::string_view name);
  /// An identifier: a non-empty string of at most `max_bytes`. A number is
  /// refused ("ids are strings"), with a precise message beyond 2^53.
  std::string id(std::string_view name, std::size_t max_bytes = 128);
  /// A nested object; its reader reports errors as "/name/...".
  json_fields object(std::string_view name);
  /// An array of at most `max_items` elements; null after an error.
  const rapidjson::Value* array(std::string_view name, std::size_t max_items);
  /// Any JSON value (e.g. free-form script arguments); null after an error.
  const rapidjson::Value* value(std::string_view name);

  // -- optional fields: absent or null gives nullopt / nullptr --------------
  std::optional<std::string> optional_string(std::string_view name,
                                             std::size_t max_bytes = default_max_string);
  std::optional<int64_t> optional_integer(std::string_view name, int64_t min = -max_safe_integer,
                                          int64_t max = max_safe_integer);
  std::optional<double> optional_number(std::string_view name, double min, double max);
  std::optional<bool> optional_boolean(std::string_view name);
  std::optional<std::string> optional_id(std::string_view name, std::size_t max_bytes = 128);
  /// True if the field is present and not null (and marks it as read).
  bool has(std::string_view name);
  const rapidjson::Value* optional_array(std::string_view name, std::size_t max_items);
  const rapidjson::Value* optional_value(std::string_view name);

  /// Sets the error for every member not read so far ("unknown field").
  void reject_unknown();

  /// Sets the error (if none yet) for field `name` of this object.
  void fail(std::string_view name, std::string message);

  /// JSON pointer of field `name` of this object.
  std::string pointer_to(std::string_view name) const;

  bool ok() const noexcept {
    return !error_->has_value();
  }
  const std::optional<api_error>& error() const noexcept {
    return *error_;
  }

private:
  json_fields(const rapidjson::Value* object, std::string pointer,
              std::optional<api_error>* shared);

  /// The member, or null when absent; marks it as read.
  const rapidjson::Value* find(std::string_view name);
  /// Present and not null, else null; a required miss sets the error.
  const rapidjson::Value* get(std::string_view name, bool required);

  const rapidjson::Value* object_;
  std::string pointer_;
  std::optional<api_error> own_;
  std::optional<api_error>* error_;
  std::vector<std::string_view> read_;
};

} // namespace millrace::api::http
