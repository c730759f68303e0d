// Parsing OpenFlow definitions (Windmill's flow format, WINDMILL.md §2) from
// JSON or YAML into the model of model.hpp. Parsing checks the shape: JSON or
// YAML syntax, the module type discriminator and the type of every known
// field. Semantic checks (ids, languages, caps, references) are in
// validate.hpp. Unknown fields are ignored: Windmill exports carry many.

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/flow/model.hpp"

namespace millrace::flow {

/// One problem in a flow definition.
struct flow_error {
  /// The innermost module the problem is in; empty: flow level.
  std::string module_id;
  /// Where, as a dotted path from the document root with array indexes:
  /// "value.modules[2].value.iterator"; empty: the document as a whole.
  std::string field;
  std::string message;

  bool operator==(const flow_error& o) const {
    return module_id == o.module_id && field == o.field && message == o.message;
  }
};

struct parse_result {
  /// Set exactly when `errors` is empty.
  std::optional<open_flow> flow;
  std::vector<flow_error> errors;
  /// The definition normalised to compact JSON text (YAML converted); empty
  /// when the text is neither valid JSON nor valid YAML.
  std::string json;
};

enum class format {
  json,
  yaml,
  /// JSON when the first non-space character is `{`, else YAML.
  detect,
};

/// Parses a whole OpenFlow document: `{summary, description, value, schema}`.
parse_result parse_openflow(std::string_view text, format f = format::detect);

/// Parses a flow *value* alone (`{modules, failure_module, ...}`), as in the
/// `raw_flow` of a flow preview. The result's `flow` has only `value` set;
/// error paths start at the value ("modules[1].value.language").
parse_result parse_flow_value(std::string_view text, format f = format::detect);

/// A flow value's JSON text without its `preprocessor_module`, for runs that
/// do not run it (a sub-flow, ?skip_preprocessor=true); `value` as it is when
/// it has none or is not a JSON object.
std::string without_preprocessor(const std::string& value);

/// "module 'b': value.modules[1].value.language: unknown language 'cobol'";
/// the module and field parts are left out when empty.
std::string to_string(const flow_error& e);

/// Limits of the parser itself (the flow-level caps are in validate.hpp).
/// Deeper JSON is rejected before it is walked, which keeps every recursive
/// step (parsing, serialising, validating) within a small stack.
inline constexpr int max_json_depth = 256;
/// YAML nodes produced, counting each expansion of an alias: guards against
/// alias bombs ("billion laughs").
inline constexpr long max_yaml_nodes = 1'000'000;

} // namespace millrace::flow
