// Static checks on a parsed flow (validate.hpp). Each check names the module
// and the field: the paths are those the parser uses (for_each_module).

#include "runtime/flow/validate.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include <rapidjson/document.h>

#include "runtime/languages.hpp"

namespace millrace::flow {

namespace {

/// Script languages Windmill knows (WINDMILL.md §1.2): named so that a flow
/// using one gets "not supported" rather than "unknown".
bool windmill_language(const std::string& name) {
  static const std::unordered_set<std::string> all{
    "python3", "deno", "go", "bash", "postgresql", "nativets", "bun", "mysql",
    "bigquery", "snowflake", "graphql", "powershell", "mssql", "php", "bunnative", "rust",
    "ansible", "csharp", "oracledb", "nu", "java", "duckdb", "ruby", "r"};
  return all.count(name) > 0;
}

std::string supported_languages() {
  std::string out;
  for (auto& l : runtime::languages())
    out += (out.empty() ? "" : ", ") + l.name;
  return out;
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > max_module_id_length)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool valid_hash(const std::string& h) {
  return h.size() == 16 && std::all_of(h.begin(), h.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

std::string number_text(double v) {
  if (std::trunc(v) == v && std::abs(v) < 1e15)
    return std::to_string(static_cast<long long>(v));
  return std::to_string(v);
}

class checker {
public:
  std::vector<flow_error> errors;

  void error(const flow_module& m, const std::string& field, std::string message) {
    errors.push_back({m.id, field, std::move(message)});
  }

  /// `rel` must be within [lo, hi]; "what" names it in the message.
  void range(const flow_module& m, const std::string& field, const std::string& rel, double v,
             double lo, double hi, const char* unit = "") {
    auto got = " (got " + number_text(v) + ")";
    if (v < 0 && lo >= 0)
      error(m, field, rel + " must not be negative" + got);
    else if (v < lo)
      error(m, field, rel + " must be at least " + number_text(lo) + unit + got);
    else if (v > hi)
      error(m, field, rel + " must be at most " + number_text(hi) + unit + got);
  }

  /// A duration or count given as an InputTransform: a static one must be a
  /// number within [lo, hi] (a static null means unset); a javascript one
  /// needs an expression and is checked when it runs.
  void transform(const flow_module& m, const std::string& field, const std::string& rel,
                 const input_transform& t, double lo, double hi, bool integer,
                 const char* unit) {
    if (t.type == input_transform::kind::javascript) {
      if (t.expr.find_first_not_of(" \t\r\n") == std::string::npos)
        error(m, field, rel + " has an empty javascript expression");
      return;
    }
    rapidjson::Document d;
    d.Parse(t.value_json.c_str(), t.value_json.size());
    if (d.HasParseError() || d.IsNull())
      return;
    if (!d.IsNumber() || (integer && !d.IsInt64() && std::trunc(d.GetDouble()) != d.GetDouble())) {
      error(m, field, rel + (integer ? " must be an integer" : " must be a number") + unit);
      return;
    }
    range(m, field, rel, d.GetDouble(), lo, hi, unit);
  }

  void module(const flow_module& m, const std::string& path, int depth) {
    ++count_;
    if (!valid_id(m.id))
      error(m, path + ".id",
            "invalid module id '" + m.id + "': ids are 1 to "
              + std::to_string(max_module_id_length) + " characters of a-z, 0-9 and _");
    else if (auto [it, fresh] = ids_.emplace(m.id, path); !fresh)
      error(m, path + ".id", "duplicate module id '" + m.id + "' (also at " + it->second + ")");
    if (depth == max_nesting_depth + 1)
      error(m, path, "modules nest deeper than " + std::to_string(max_nesting_depth)
                       + " levels of loops and branches");
    type_fields(m, path + ".value");
    options(m, path);
  }

  void flow_level(const flow_value& v, const std::string& root) {
    auto at = [&](const char* key) { return root.empty() ? std::string{key} : root + "." + key; };
    flow_module none; // flow-level errors name no module
    if (count_ > max_modules)
      error(none, at("modules"), "the flow has " + std::to_string(count_)
                                   + " modules (counting nested ones); at most "
                                   + std::to_string(max_modules));
    if (!v.early_return.empty()
        && std::none_of(v.modules.begin(), v.modules.end(),
                        [&](const flow_module& m) { return m.id == v.early_return; }))
      error(none, at("early_return"),
            "early_return names '" + v.early_return + "', which is not a top-level module");
    if (v.cache_ttl < 0)
      range(none, at("cache_ttl"), "cache_ttl", v.cache_ttl, 0, INFINITY);
    if (v.priority && (*v.priority < 0 || *v.priority > max_priority))
      range(none, at("priority"), "priority", *v.priority, 0, max_priority);
    if (v.preprocessor_module)
      preprocessor(*v.preprocessor_module, at("preprocessor_module"));
  }

private:
  // The preprocessor turns a trigger's event into the flow's inputs: one
  // script, whose result is used as it is.
  void preprocessor(const flow_module& p, const std::string& pp) {
    if (p.type != module_type::rawscript && p.type != module_type::script
        && p.type != module_type::identity)
      error(p, pp + ".value.type",
            std::string{"a preprocessor must be a rawscript, script or identity module (it turns "
                        "a trigger's event into the flow's inputs), not a "}
              + to_string(p.type));
    if (p.suspend)
      error(p, pp + ".suspend", "a preprocessor cannot wait for approvals: the flow has no inputs yet");
    if (p.skip_if)
      error(p, pp + ".skip_if", "a preprocessor cannot be skipped: its result is the flow's inputs");
    if (p.stop_after_if)
      error(p, pp + ".stop_after_if",
            "a preprocessor cannot stop the flow: its result is the flow's inputs");
    if (p.continue_on_error)
      error(p, pp + ".continue_on_error",
            "a preprocessor's error cannot become the flow's inputs: it fails the flow");
  }

  void type_fields(const flow_module& m, const std::string& vp) {
    switch (m.type) {
      case module_type::rawscript:
        if (m.content.find_first_not_of(" \t\r\n") == std::string::npos)
          error(m, vp + ".content", "a rawscript module needs content (the script's code)");
        if (m.language.empty())
          error(m, vp + ".language",
                "a rawscript module needs a language (" + supported_languages() + ")");
        else if (!runtime::find_language(m.language))
          error(m, vp + ".language",
                windmill_language(m.language)
                  ? "language '" + m.language + "' is not supported by Millrace (supported: "
                      + supported_languages() + ")"
                  : "unknown language '" + m.language + "'");
        break;
      case module_type::script:
        if (m.path.empty() && m.hash.empty())
          error(m, vp + ".path", "a script module needs a path or a hash");
        if (!m.hash.empty() && !valid_hash(m.hash))
          error(m, vp + ".hash", "hash '" + m.hash + "' is not 16 hex digits");
        break;
      case module_type::flow:
        if (m.path.empty())
          error(m, vp + ".path", "a flow module needs the path of the flow to run");
        break;
      case module_type::forloopflow: {
        auto& it = m.iterator;
        if (it.type == input_transform::kind::javascript
              ? it.expr.find_first_not_of(" \t\r\n") == std::string::npos
              : it.value_json == "null")
          error(m, vp + ".iterator", "a forloopflow needs an iterator (the list to iterate over)");
      }
        [[fallthrough]];
      case module_type::whileloopflow:
        if (m.parallelism)
          transform(m, vp + ".parallelism", "value.parallelism", *m.parallelism,
                    min_parallelism, max_parallelism, true, "");
        break;
      case module_type::branchone:
        for (std::size_t i = 0; i < m.branches.size(); ++i)
          if (m.branches[i].expr.find_first_not_of(" \t\r\n") == std::string::npos)
            error(m, vp + ".branches[" + std::to_string(i) + "].expr",
                  "a branchone branch needs an expr (its predicate)");
        break;
      case module_type::identity:
      case module_type::branchall:
        break;
    }
  }

  void options(const flow_module& m, const std::string& p) {
    auto stop = [&](const std::optional<stop_condition>& s, const char* key) {
      if (s && s->expr.find_first_not_of(" \t\r\n") == std::string::npos)
        error(m, p + "." + key + ".expr", std::string{key} + ".expr is required");
    };
    stop(m.stop_after_if, "stop_after_if");
    stop(m.stop_after_all_iters_if, "stop_after_all_iters_if");
    if (m.skip_if && m.skip_if->find_first_not_of(" \t\r\n") == std::string::npos)
      error(m, p + ".skip_if.expr", "skip_if.expr is required");
    if (m.sleep)
      transform(m, p + ".sleep", "sleep", *m.sleep, 0, max_sleep_s, false, " seconds");
    if (m.timeout)
      transform(m, p + ".timeout", "timeout", *m.timeout, min_timeout_s, max_timeout_s, false,
                " seconds");
    if (m.retry)
      retry(m, *m.retry, p + ".retry");
    if (m.suspend) {
      auto& s = *m.suspend;
      range(m, p + ".suspend.required_events", "suspend.required_events", s.required_events,
            min_required_events, max_required_events);
      range(m, p + ".suspend.timeout", "suspend.timeout", s.timeout_s, 0, max_suspend_timeout_s,
            " seconds");
      if (s.groups_required)
        error(m, p + ".suspend.user_groups_required",
              "suspend.user_groups_required is not supported (Millrace has no user groups); "
              "use suspend.user_auth_required with jobs/flow/resume/{id}");
    }
    if (m.cache_ttl < 0)
      range(m, p + ".cache_ttl", "cache_ttl", m.cache_ttl, 0, INFINITY);
    if (m.priority && (*m.priority < 0 || *m.priority > max_priority))
      range(m, p + ".priority", "priority", *m.priority, 0, max_priority);
  }

  void retry(const flow_module& m, const retry_policy& r, const std::string& p) {
    range(m, p + ".constant.attempts", "retry.constant.attempts", r.constant_attempts, 0,
          max_retry_attempts);
    range(m, p + ".constant.seconds", "retry.constant.seconds", r.constant_seconds, 0,
          max_retry_seconds, " seconds");
    range(m, p + ".exponential.attempts", "retry.exponential.attempts", r.exponential_attempts,
          0, max_retry_attempts);
    range(m, p + ".exponential.multiplier", "retry.exponential.multiplier",
          r.exponential_multiplier, min_retry_multiplier, max_retry_multiplier);
    // The base of the exponential wait must be at least 1 s once it is used.
    range(m, p + ".exponential.seconds", "retry.exponential.seconds", r.exponential_seconds,
          r.exponential_attempts > 0 ? 1 : 0, max_retry_seconds, " seconds");
    range(m, p + ".exponential.random_factor", "retry.exponential.random_factor",
          r.random_factor, 0, max_random_factor);
  }

  int count_ = 0;
  std::unordered_map<std::string, std::string> ids_; // id -> path of first use
};

} // namespace

std::vector<flow_error> validate(const flow_value& value, const std::string& root) {
  checker c;
  for_each_module(value, root, [&](const flow_module& m, const std::string& path, int depth) {
    c.module(m, path, depth);
  });
  c.flow_level(value, root);
  return std::move(c.errors);
}

std::vector<flow_error> validate(const open_flow& flow) {
  return validate(flow.value, "value");
}

} // namespace millrace::flow
