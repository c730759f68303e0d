// The state of a sequence actor (actors/flow/sequence*.cpp): the module it
// runs now, its results so far, its children. Internal to actors/flow/.

#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf/all.hpp"

#include "actors/flow/detail/context.hpp"

namespace millrace::actors::flow_engine {

/// The module a sequence is running now.
struct module_run {
  std::string args = "{}";
  int timeout_s = 0;
  /// Retries done so far, and the jobs that failed before them.
  int retries = 0;
  std::vector<std::string> failed_jobs;
  std::string job_id;
  std::string status = "WaitingForExecutor";
  bool skipped = false;
  std::string result;
  // Loops and branches: one child sequence per iteration or branch.
  std::vector<std::string> items;
  std::vector<std::optional<std::string>> slots;
  size_t next_child = 0;
  size_t running = 0;
  size_t finished = 0;
  size_t parallelism = 1;
  bool stop_spawning = false;
  std::map<uint64_t, std::pair<size_t, caf::actor>> live; // token -> (slot, child)
  std::string branch_chosen;                              // JSON, or empty
  const std::vector<flow::flow_module>* chosen = nullptr;
  // Approval steps: the step's result while it waits, who approved so far
  // ({resume_id, approver} objects) and how many approvals it needs.
  std::string suspended_result;
  /// cache_ttl: the step's result came from the cache; or, when it runs, the
  /// text its result is kept under.
  bool cached = false;
  std::string cache_key;
  std::vector<std::string> approvers;
  int required_events = 0;
};

struct seq_state {
  static inline const char* name = "flow_sequence";

  std::shared_ptr<run_context> ctx;
  seq_input in;
  caf::actor parent;
  uint64_t token = 0;
  size_t i = 0;
  std::vector<std::pair<std::string, std::string>> results;
  std::string previous = "null";
  /// Token of the async operation the sequence waits for (an evaluation, a
  /// job, a timer); answers carrying another token are stale.
  uint64_t op = 0;
  std::function<void(std::vector<std::string>&)> on_eval;
  std::function<void()> on_wake;
  module_run cur;
  /// After an approval step: the last resume payload, all of them, and the
  /// approvers (JSON; empty until a step was approved).
  std::string resume, resumes, approvers;
  uint64_t next_child_token = 1;
  bool finished = false;
};

using seq_actor = caf::stateful_actor<seq_state>;

// sequence.cpp
const flow::flow_module& current(seq_actor* self);
/// The job id of try `retry` of the current step: derived from its place in
/// the flow and from the flow job it belongs to (the run's own, or for an
/// iteration or branch a restart keeps, `id_base`, the restarted flow's).
std::string step_job_of(seq_actor* self, int retry);
std::string scope_json(seq_actor* self, const std::vector<std::pair<std::string, std::string>>& extra = {});
void eval_all(seq_actor* self, std::vector<std::string> exprs, std::string scope,
              std::function<void(std::vector<std::string>&)> k);
void report(seq_actor* self);
void module_done(seq_actor* self, std::string result);
void module_failed(seq_actor* self, std::string error);
void finish(seq_actor* self, const char* how, std::string result, std::string failed_step = {});
void sleep_then(seq_actor* self, double seconds, std::function<void()> k);

// timer.cpp: waits `seconds` through a timer actor whose deadline is kept in
// the database under `key` (a resumed run waits only what is left), then
// calls `k`. `what` names the wait in the registry ("retry 2 of step b").
void wait_timer(seq_actor* self, const std::string& key, std::string what, double seconds,
                std::function<void()> k);

// suspend.cpp: the step succeeded with `result` and has `suspend`: wait for
// its approvals, then go on (or cancel the flow, or fail the step).
void start_suspend(seq_actor* self, std::string result);
void suspend_event(seq_actor* self, uint64_t op, const std::string& how, std::string payloads,
                   std::string approvers);

// sequence_children.cpp
void start_loop(seq_actor* self, std::vector<std::string> items, size_t parallelism);
void start_while(seq_actor* self);
void start_branchone(seq_actor* self, std::vector<std::string>& conditions);
void start_branchall(seq_actor* self);
void child_done(seq_actor* self, uint64_t token, const std::string& how, std::string result,
                const std::string& failed_step);
void stop_children(seq_actor* self);

// sequence_steps.cpp
void run_leaf(seq_actor* self);
void wait_for_job(seq_actor* self, std::string job_id);
void cancel_current_job(seq_actor* self);

} // namespace millrace::actors::flow_engine
