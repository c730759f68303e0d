// The state of a flow run actor and what its two files share: flow_run.cpp
// (the behavior, the status it records, the sequences it starts and how it
// ends) and flow_run_start.cpp (what is decided before the first step:
// skip_expr, the same_worker node, the flow's cache, resuming). Internal to
// actors/flow/.

#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/flow/detail/context.hpp"
#include "actors/protocol/types/job.hpp"

namespace millrace::actors::flow_engine {

struct run_state {
  static inline const char* name = "flow_run";

  std::shared_ptr<run_context> ctx;
  job_assignment a;
  std::shared_ptr<spdlog::logger> log;
  std::chrono::steady_clock::time_point started;
  std::vector<std::string> entries;
  std::string failure_entry;
  /// The preprocessor's FlowStatus entry; empty: none ran (yet).
  std::string preprocessor_entry;
  bool in_preprocessor = false;
  /// The preprocessor ran: the args are its result.
  bool preprocessed = false;
  caf::actor seq;
  /// Every sequence this run started (their exits are expected).
  std::set<caf::actor_addr> sequences;
  uint64_t seq_token = 0;
  bool in_failure_module = false;
  std::string error;       // the main sequence's error, when it failed
  std::string failed_step; // and the step that failed
  bool writing = false;
  bool dirty = false;
  bool finishing = false;
  std::string final_status;
  std::string final_result;
  bool reported = false;
  bool early_sent = false; // early_return's result went to the dispatcher
  bool cached = false;     // the result came from the flow's cache_ttl
  bool skipped = false;    // the flow's skip_expr held: no module ran
  bool skip_checked = false;
  /// same_worker: the recorded status to start from once the run has its
  /// node (set while the dispatcher is asked).
  std::optional<std::string> awaiting_node;
  int pin_tries = 0;
};

using run_actor = caf::stateful_actor<run_state>;

// flow_run.cpp
/// Records the outcome and reports it (with the final status) to the
/// dispatcher; the run then quits.
void finish_run(run_actor* self, std::string status, std::string result);
/// Starts a sequence of this run (the main one, the failure or the
/// preprocessor module's); its flowdone answer carries the new token.
void start_sequence(run_actor* self, seq_input in);
/// Records the status now (or after the write in flight).
void persist(run_actor* self);
/// The main sequence ended (or the preprocessor failed): success ends the
/// run; a failure runs the failure module if there is one.
void main_done(run_actor* self, const std::string& how, std::string result,
               const std::string& failed_step);

// preprocessor.cpp
/// preprocessor_module: runs it on the run's args (the trigger's event);
/// its result, an object, becomes the flow's input. Answered by flowdone
/// while in_preprocessor (see preprocessor_done).
void run_preprocessor(run_actor* self);
void preprocessor_done(run_actor* self, const std::string& how, std::string result,
                       const std::string& failed_step);

// flow_run_start.cpp
/// Starts the top-level sequence, resuming after the modules `recorded` (a
/// FlowStatus, "{}" for none) says finished; a restart from an iteration or
/// branch keeps those before (restarted_from.kept).
void start_main(run_actor* self, const std::string& recorded);
/// The flow's cache_ttl key: its pinned definition and args.
std::string cache_key(run_actor* self);
/// Before the first step, one decision per wake: the preprocessor (see
/// preprocessor.cpp), skip_expr (answered with eval_atom, see skip_decided),
/// then the recorded status (a resumed attempt), a restart's seed or the
/// cached result, then (same_worker flows with script steps) the node.
void begin_run(run_actor* self);
/// skip_expr's value came back: the flow is skipped, fails, or goes on.
void skip_decided(run_actor* self, bool ok, const std::string& value);

} // namespace millrace::actors::flow_engine
