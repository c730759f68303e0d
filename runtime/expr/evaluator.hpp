// JavaScript expressions of flows (input transforms, branch predicates,
// stop_after_if): `flow_input.x + 1`, `results.a.map(x => x * 2)`,
// `` `hi ${flow_input.name}` ``, `results.b?.c ?? 3`. Evaluated by V8 through
// a long-lived node process (runtime/expr/evaluator.js, embedded in the
// binary) with a time limit per evaluation and a memory limit for the
// process; plain property paths are resolved natively. See
// runtime/expr/README.md. No CAF, no SQL.

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace millrace::expr {

struct evaluator_config {
  /// The node program: a name looked up in PATH, or a path.
  std::string node = "node";
  /// V8 heap limit of the node process (--max-old-space-size), in MiB.
  int memory_mb = 64;
  /// Time limit of an evaluation that names none.
  std::chrono::milliseconds default_timeout{1000};
};

struct outcome {
  bool ok = false;
  /// The result as JSON text when ok (`undefined` is "null").
  std::string value_json;
  /// When not ok: "expression error: <message> in `<expr>`".
  std::string error;
};

/// "expression error: <message> in `<expr>`", the expression shortened when
/// it is very long.
std::string format_error(const std::string& message, const std::string& expr);

class evaluator {
public:
  explicit evaluator(evaluator_config cfg = {});
  /// Stops the node process and the evaluator's thread; every evaluation not
  /// answered yet gets an error.
  ~evaluator();

  evaluator(const evaluator&) = delete;
  evaluator& operator=(const evaluator&) = delete;

  /// Evaluates `expr` with the top-level keys of `scope_json` (a JSON object;
  /// empty means {}) as variables. Thread-safe and never waits for node:
  /// `done` is called exactly once, later, on the evaluator's own thread, so
  /// it must be quick, must not throw and must not call evaluate_sync. A
  /// timeout of zero means the configured default.
  void evaluate(std::string expr, std::string scope_json, std::function<void(outcome)> done,
                std::chrono::milliseconds timeout = {});

  /// evaluate() and wait for the outcome (tests, tools). Never call it from
  /// a `done` callback.
  outcome evaluate_sync(const std::string& expr, const std::string& scope_json,
                        std::chrono::milliseconds timeout = {});

  /// Resolves a plain property path (`flow_input.x`, `results.a.b[0]`,
  /// `results["my-step"]`) from the scope without node, with the value or
  /// the error JavaScript would give. std::nullopt: not a plain path (or one
  /// only JavaScript can answer exactly); node must evaluate it.
  static std::optional<outcome> fast_path(const std::string& expr, const std::string& scope_json);

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace millrace::expr
