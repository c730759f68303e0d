// Static checks on a parsed OpenFlow definition (parse.hpp): module ids,
// what each module type needs, languages Millrace can run, caps on retries,
// timeouts, sleeps, parallelism, suspends, nesting and size, and
// `early_return`. References to scripts and sub-flows are collected here and
// checked against the caller's lookups (the database is asynchronous and not
// this library's business), as is the search for sub-flow cycles.

#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/flow/model.hpp"
#include "runtime/flow/parse.hpp"

namespace millrace::flow {

// --- caps ----------------------------------------------------------------------
// A value outside these bounds is an error; every count and duration below
// must also be non-negative.

/// Module ids: 1..64 characters of [a-z0-9_] (Windmill: "a", "b", "failure").
inline constexpr std::size_t max_module_id_length = 64;
/// `retry.constant.attempts` and `retry.exponential.attempts`, each.
inline constexpr int max_retry_attempts = 100;
/// `retry.constant.seconds` and `retry.exponential.seconds`: one day.
inline constexpr int max_retry_seconds = 86'400;
/// `retry.exponential.multiplier`: 1..1000.
inline constexpr int min_retry_multiplier = 1;
inline constexpr int max_retry_multiplier = 1'000;
/// `retry.exponential.random_factor`: jitter in percent, 0..100.
inline constexpr int max_random_factor = 100;
/// A static `timeout`: 1 s .. 7 days.
inline constexpr long min_timeout_s = 1;
inline constexpr long max_timeout_s = 86'400L * 7;
/// A static `sleep`: 0 .. 30 days.
inline constexpr long max_sleep_s = 86'400L * 30;
/// A static loop `parallelism`: 1..256 iterations at once.
inline constexpr int min_parallelism = 1;
inline constexpr int max_parallelism = 256;
/// `suspend.required_events`: 1..100 approvals.
inline constexpr int min_required_events = 1;
inline constexpr int max_required_events = 100;
/// `suspend.timeout`: at most 30 days (0: the engine's default).
inline constexpr int max_suspend_timeout_s = 86'400 * 30;
/// Loops and branches inside loops and branches: top-level modules are at
/// depth 1, their children at 2, ...
inline constexpr int max_nesting_depth = 16;
/// Modules in one flow, counting nested ones, failure and preprocessor.
inline constexpr int max_modules = 1'000;
/// `priority` of a flow or a module: 0..32767 (a job's priority is a
/// smallint; higher runs first).
inline constexpr int max_priority = 32'767;

/// Every static problem of a flow; empty: valid. Paths start at "value".
std::vector<flow_error> validate(const open_flow& flow);

/// The same for a flow value alone; `root` is the value's path ("" for a
/// value parsed by parse_flow_value, "value" inside an OpenFlow document).
std::vector<flow_error> validate(const flow_value& value, const std::string& root);

/// Calls `visit` for every module, depth first in document order: the
/// top-level modules (depth 1) with their nested modules (loop bodies,
/// branches, branchone's default: depth + 1), then failure_module and
/// preprocessor_module (depth 1). `path` is as in flow_error::field.
void for_each_module(
  const flow_value& value, const std::string& root,
  const std::function<void(const flow_module& m, const std::string& path, int depth)>& visit);

/// What a flow refers to, each list deduplicated in first-use order. A
/// `script` module with a hash refers to that hash (the pinned version) and
/// not to its path; without one, to its path.
struct references {
  std::vector<std::string> script_paths;
  std::vector<std::string> script_hashes;
  std::vector<std::string> flow_paths;
};

references collect_references(const open_flow& flow);

/// One error per module whose reference does not exist, by the caller's
/// lookups (each asked at most once per distinct path or hash):
/// "module 'c': value.modules[2].value.path: script 'f/x/y' does not exist".
std::vector<flow_error> check_references(
  const open_flow& flow, const std::function<bool(const std::string&)>& script_path_exists,
  const std::function<bool(const std::string&)>& script_hash_exists,
  const std::function<bool(const std::string&)>& flow_path_exists);

/// Searches the sub-flow graph from `root_path` (`subflows_of`: the flow
/// paths a flow calls, e.g. collect_references(flow).flow_paths; asked once
/// per flow). Returns the chain from the root to the first flow that calls
/// back into the chain, whose last element repeats an earlier one:
/// {"f/a", "f/b", "f/a"}, or {"f/a", "f/b", "f/c", "f/b"}; nullopt: no cycle.
std::optional<std::vector<std::string>> find_cycle(
  const std::string& root_path,
  const std::function<std::vector<std::string>(const std::string&)>& subflows_of);

/// "f/a -> f/b -> f/a".
std::string cycle_to_string(const std::vector<std::string>& cycle);

} // namespace millrace::flow
