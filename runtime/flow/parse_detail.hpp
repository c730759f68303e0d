// Internals of the OpenFlow parser (parse.cpp, parse_module.cpp,
// yaml_json.cpp). Not part of the public interface.

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "runtime/flow/parse.hpp"

namespace millrace::flow::detail {

using json = rapidjson::Value;

/// Where a value is: the module it belongs to, its absolute path from the
/// document root, and its path relative to the module (used in messages:
/// "retry.constant.attempts must be an integer").
struct where {
  std::string module_id;
  std::string path;
  std::string rel;

  where key(std::string_view k) const;
  where index(std::size_t i) const;
};

/// Reads typed fields and records an error for each one of the wrong type.
/// An absent field or a JSON null leaves the output untouched.
class reader {
public:
  explicit reader(std::vector<flow_error>& errors) : errors_(errors) {}

  void error(const where& w, std::string message);
  /// "<rel> <what>", or "<what>" alone when rel is empty.
  void type_error(const where& w, const char* what);

  /// The member `key` of `obj` (an object), or null if absent or JSON null.
  static const json* get(const json& obj, const char* key);

  bool read_string(const json& obj, const char* key, const where& w, std::string& out);
  bool read_bool(const json& obj, const char* key, const where& w, bool& out);
  bool read_int(const json& obj, const char* key, const where& w, int& out);
  /// Checks that `v` is an object (error otherwise).
  bool expect_object(const json& v, const where& w);

  /// An InputTransform; `allow_number`: a bare number is taken as a static
  /// value (older exports: `parallelism: 4`, `timeout: 60`).
  std::optional<input_transform> read_transform(const json& v, const where& w,
                                                bool allow_number = false);

  std::size_t error_count() const { return errors_.size(); }

private:
  std::vector<flow_error>& errors_;
};

/// Compact JSON text of a value.
std::string to_json(const json& v);

/// Parses one FlowModule object at `w` (w.module_id: the enclosing module's).
flow_module parse_module(reader& r, const json& v, const where& w);

/// Parses an array of FlowModule (absent or null: empty).
std::vector<flow_module> parse_modules(reader& r, const json& obj, const char* key,
                                       const where& w);

/// Converts a YAML document into `out`. On failure returns the message
/// ("YAML line 3, column 5: ...").
std::optional<std::string> yaml_to_json(std::string_view text, rapidjson::Document& out);

} // namespace millrace::flow::detail
