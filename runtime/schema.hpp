// Job arguments against a script's parameter schema (JSON Schema, as inferred
// from the script's `main` signature), and arguments given on a command line.

#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace millrace::runtime {

struct arg_error {
  /// JSON pointer of the offending field, e.g. "/count" ("" for the whole).
  std::string pointer;
  std::string message;
};

/// Checks `args_json` (an object) against `schema_json` with RapidJSON's JSON
/// Schema validator. Nothing when valid; otherwise the first violation,
/// naming the field.
std::optional<arg_error> validate_args(const std::string& schema_json,
                                       const std::string& args_json);

/// `name=value` pairs from a command line, turned into a JSON object using
/// the schema's types: integer/number/boolean values are parsed, objects and
/// arrays must be JSON, strings are taken as they are, untyped values are
/// JSON if they parse and strings otherwise. Throws std::invalid_argument
/// naming the field.
std::string args_from_pairs(const std::string& schema_json,
                            const std::vector<std::pair<std::string, std::string>>& pairs);

} // namespace millrace::runtime
