// The OpenFlow data model (Windmill's flow format, WINDMILL.md §2), as parsed
// from JSON or YAML by runtime/flow/parse.hpp. Plain C++: no CAF, no JSON
// library in this header. JSON-valued fields are kept as JSON text.

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::flow {

/// `{type: "static", value}` or `{type: "javascript", expr}`.
struct input_transform {
  enum class kind { static_value, javascript } type = kind::static_value;
  /// static: the value as JSON text ("null" when absent).
  std::string value_json = "null";
  /// javascript: the expression.
  std::string expr;
};

/// `stop_after_if` / `stop_after_all_iters_if`.
struct stop_condition {
  std::string expr;
  bool skip_if_stopped = false;
  std::string error_message;
};

/// `retry`: constant attempts first, then exponential ones.
struct retry_policy {
  int constant_attempts = 0;
  int constant_seconds = 0;
  int exponential_attempts = 0;
  int exponential_multiplier = 1;
  int exponential_seconds = 0;
  /// 0..100: jitter in percent.
  int random_factor = 0;
  /// `retry_if.expr`; empty: retry on every failure.
  std::string retry_if;
};

/// `suspend`: wait for approvals (resume events) before the step's result
/// counts.
struct suspend_spec {
  int required_events = 1;
  /// Seconds; 0: the engine's default.
  int timeout_s = 0;
  bool continue_on_disapprove_timeout = false;
  /// The flow's creator cannot approve it.
  bool self_approval_disabled = false;
  /// Only a signed-in caller may answer (jobs/flow/resume/{id}); the signed
  /// URLs alone are refused.
  bool user_auth_required = false;
  /// `user_groups_required` was given a non-empty value (Millrace has no
  /// user groups; validation refuses it rather than let anyone approve).
  bool groups_required = false;
};

enum class module_type {
  rawscript,
  script,
  flow,
  identity,
  forloopflow,
  whileloopflow,
  branchone,
  branchall,
};

/// The OpenFlow name of a module type ("rawscript", "forloopflow", ...).
const char* to_string(module_type t);

/// The module type of an OpenFlow name; nullopt for any other (`aiagent`).
std::optional<module_type> module_type_from_string(std::string_view name);

struct flow_module;

/// A branch of branchone (`expr` set) or branchall (`skip_failure` used).
struct branch {
  std::string summary;
  std::string expr;
  bool skip_failure = false;
  std::vector<flow_module> modules;
};

struct flow_module {
  std::string id;
  std::string summary;
  module_type type = module_type::identity;

  // rawscript: content + language (+ optional path, tag).
  // script: path and/or hash (+ tag_override in `tag`).
  // flow: path.
  std::string content;
  std::string language;
  std::string path;
  std::string hash;
  std::string tag;
  /// rawscript / script / flow: argument name -> transform, in document order.
  std::vector<std::pair<std::string, input_transform>> input_transforms;

  // forloopflow / whileloopflow
  input_transform iterator;
  bool skip_failures = false;
  bool parallel = false;
  /// `parallelism` (an int in older exports, an InputTransform now).
  std::optional<input_transform> parallelism;
  std::vector<flow_module> modules;

  // branchone: branches + default; branchall: branches (+ parallel above).
  std::vector<branch> branches;
  std::vector<flow_module> default_modules;

  // Per-module options.
  std::optional<stop_condition> stop_after_if;
  std::optional<stop_condition> stop_after_all_iters_if;
  std::optional<std::string> skip_if; ///< `skip_if.expr`
  std::optional<input_transform> sleep;
  std::optional<input_transform> timeout;
  std::optional<retry_policy> retry;
  bool continue_on_error = false;
  std::optional<suspend_spec> suspend;
  /// Seconds; 0: no cache.
  int cache_ttl = 0;
  /// `mock: {enabled, return_value}`: the step is not run; this is its result.
  std::optional<std::string> mock_json;
  /// The priority of the step's jobs (0..max_priority, higher first);
  /// unset: the flow's.
  std::optional<int> priority;
};

struct flow_value {
  std::vector<flow_module> modules;
  std::optional<flow_module> failure_module;
  std::optional<flow_module> preprocessor_module;
  bool same_worker = false;
  /// Id of the module whose result sync callers get early; empty: none.
  std::string early_return;
  /// `skip_expr`: skip the whole flow when true.
  std::string skip_expr;
  int cache_ttl = 0;
  /// The priority of the flow's job and of its steps' jobs, unless a step
  /// sets its own; unset: the priority the flow job was given.
  std::optional<int> priority;
};

struct open_flow {
  std::string summary;
  std::string description;
  flow_value value;
  /// The `schema` object as JSON text; empty: none given.
  std::string schema_json;
};

} // namespace millrace::flow
