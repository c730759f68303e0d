// What every actor of one flow run shares (the run, its sequences), and what a
// sequence is asked to run. Internal to actors/flow/.

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor.hpp"

#include "runtime/flow/model.hpp"

namespace millrace::expr {
class evaluator;
} // namespace millrace::expr

namespace millrace::actors {

class registry;

namespace flow_engine {

/// Limits the engine enforces at run time (validation checks static values at
/// save time; these catch what expressions produce).
constexpr size_t max_iterations = 10000;
constexpr int max_parallelism = 256;
/// An approval step without `suspend.timeout` waits this long (seconds).
constexpr int default_suspend_timeout_s = 1800;

struct run_context {
  std::shared_ptr<const flow::open_flow> def;
  /// The failure and preprocessor modules as one-module lists, for their
  /// sequences. Here, not in the run's state: sequences hold pointers into
  /// them and may outlive the run by a message or two while they stop.
  std::vector<flow::flow_module> failure_modules;
  std::vector<flow::flow_module> preprocessor_modules;
  std::string workspace;
  std::string flow_job_id;
  std::string root_job_id;
  std::string created_by;
  /// The flow job's attempt: on the first, step job ids are new for sure.
  int32_t attempt = 1;
  std::shared_ptr<registry> reg;
  std::shared_ptr<expr::evaluator> eval;
  /// The flow_run actor: receives the top-level progress.
  caf::actor run;
  /// A sequence that is stopped (the flow was canceled, a sibling failed)
  /// cancels the step job it waits for, unless the run was abandoned: an
  /// aborted attempt, whose successor resumes and waits for those jobs.
  std::atomic<bool> abandoned{false};
  /// Registry path of the run; sequences live under it.
  std::string path;
  /// A durable timer was set: the run drops the flow's timers when it ends.
  std::atomic<bool> used_timers{false};
  /// The priority of step jobs whose module sets none: the flow job's (the
  /// run's ?priority=, else the flow's `priority`, see api/service).
  int32_t priority = 0;
  /// same_worker flows: the worker node every script step runs on (set by the
  /// run before its first step). Empty: any node.
  std::string worker_node;
};

/// One sequence of modules to run: the flow's top level, a loop iteration,
/// a branch, or the failure module.
struct seq_input {
  const std::vector<flow::flow_module>* modules = nullptr;
  std::string flow_input = "{}";
  /// Results of the enclosing steps, a JSON object (id -> result).
  std::string outer_results = "{}";
  std::string previous_result = "null";
  /// Inside loops: `iter` ({value, index}) as JSON; empty: none.
  std::string iter;
  /// Top level only: reports each module's status to the run.
  bool top_level = false;
  /// The preprocessor's or the failure module's sequence: reports its one
  /// module's status to the run as `single_module` (its job ids, retries).
  bool single = false;
  /// Resume (top level): modules before `start_at` finished with these
  /// results.
  size_t start_at = 0;
  std::vector<std::pair<std::string, std::string>> done_results;
  std::string path;
  std::string label;
  /// Where this sequence sits in the flow, independent of the attempt:
  /// "" (top level), "/failure", "/loop-3", "/loop-3/br-0", ... Step job ids
  /// derive from it, so a resumed attempt finds the jobs of the lost one.
  std::string logical;
  /// The flow job id step job ids derive from; empty: the run's own. Set
  /// (and inherited) for the iterations or branches a restart keeps: their
  /// step jobs are the restarted flow's, found finished, not run again.
  std::string id_base;
  /// Top level of a restart from an iteration or branch (jobs/restart/f/
  /// {id}/from/{step}/{n}): child k of module `adopt_module` takes as
  /// id_base the flow job of the first (before, flow job) pair with
  /// k < before (ascending; more than one when the restarted flow was such
  /// a restart itself); children past them are this run's.
  std::string adopt_module;
  std::vector<std::pair<size_t, std::string>> adopt;
};

/// The id of a step job: a UUID (version 8) that keeps the flow job's
/// UUIDv7 time prefix (index locality) and hashes the flow id and `key`
/// (logical path, module id, retry number). The same step of the same flow
/// always gets the same id.
std::string step_job_id(const std::string& flow_job_id, const std::string& key);

/// The index progress reports carry for the module of a `single` sequence.
inline constexpr uint64_t single_module = ~uint64_t{0};

/// How a sequence ended, as sent to its parent with flowdone_atom.
namespace outcome {
constexpr const char* success = "success";
constexpr const char* failure = "failure";
/// A stop_after_if ended the flow early; the result is the flow's result.
constexpr const char* stopped = "stopped";
} // namespace outcome

/// A timer actor (actors/flow/timer.cpp): sends `target` (wake_atom, op)
/// `ms` after it first started for `key` in this flow (the deadline is kept
/// in the database through the registry's storage writer), then quits.
/// Registered at `path`. Sequences spawn theirs linked; tests use this.
caf::actor spawn_timer(caf::actor_system& sys, std::shared_ptr<run_context> ctx, std::string key,
                       std::string what, int64_t ms, caf::actor target, uint64_t op,
                       std::string path);

/// Spawns a sequence linked to `parent` (an actor of the same run). It answers
/// `parent` with (flowdone_atom, token, outcome, result JSON, failed step id).
caf::actor spawn_sequence(caf::local_actor* parent, std::shared_ptr<run_context> ctx,
                          seq_input in, uint64_t token);

} // namespace flow_engine
} // namespace millrace::actors
