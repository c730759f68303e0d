// The worker slot's state, and what its two files share: slot.cpp (the
// behavior, running an attempt) and slot_report.cpp (the attempt's log and
// its end). Internal to actors/worker/.

#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/system/registry.hpp"
#include "actors/worker/output_tap.hpp"
#include "actors/worker/shared_folder.hpp"
#include "actors/worker/slot.hpp"

namespace millrace::actors::slot_detail {

struct current_job {
  job_assignment a;
  uint64_t token = 0;
  std::shared_ptr<sandbox::process> proc;
  std::shared_ptr<output_tap> tap;
  std::string log_buf;
  int32_t seq = 0;
  bool claimed = false;
  bool exited = false;
  bool canceled = false;
  bool timed_out = false;
  exit_record exit;
  caf::actor_clock::time_point started;
  /// What the slot's tick does next for this attempt (slot.cpp, "One timer
  /// per slot"); timeout_at is time_point::max() once handled.
  caf::actor_clock::time_point timeout_at;
  caf::actor_clock::time_point flush_at;
  caf::actor_clock::time_point renew_at;
  std::vector<job_watcher_actor> watchers;
};

struct slot_state {
  static inline const char* name = "worker_slot";

  slot_config cfg;
  std::shared_ptr<registry> reg;
  std::shared_ptr<spdlog::logger> log;
  std::optional<current_job> job;
  /// The last attempt's outcome, kept until the next run: if the node
  /// rejoins the server in between, it is reported again (the first report
  /// may have been lost with the connection; the dispatcher fences a
  /// duplicate).
  std::optional<job_outcome> last;
  /// The end of that attempt's log, when no storage writer was reachable as
  /// it ended: written when the node rejoins, before `last` is reported.
  std::optional<storage::write_request> last_log;
  uint64_t next_token = 1;
  /// The tick that counts (older ones still in the clock are ignored) and
  /// when it comes; no value: none is pending.
  uint64_t tick_seq = 0;
  std::optional<caf::actor_clock::time_point> tick_at;
  uint64_t jobs_run = 0;
  uint64_t log_writes_fenced = 0;
  /// same_worker: the keeper of this node's shared folders (on first use).
  shared_folders_actor folders;

  ~slot_state() {
    // A slot that dies takes its process with it; the dispatcher requeues
    // the attempt when it sees the slot go down.
    if (job && job->proc)
      job->proc->kill();
  }
};

using slot_ptr = worker_slot_actor::stateful_pointer<slot_state>;


shared_folders_actor folders_of(slot_ptr self);
dispatcher_actor dispatcher_of(slot_ptr self);

// slot_report.cpp
exit_record to_record(const sandbox::exit_info& x);
void send_log(slot_ptr self, storage_writer_actor writer, storage::write_request req);
/// Stores the attempt's buffered log once it is claimed (`final`: all of
/// it, else up to the last whole UTF-8 character).
void flush_logs(slot_ptr self, bool final);
/// Reports the attempt's end to the dispatcher (or keeps it for the rejoin).
void report(slot_ptr self, const std::string& status, std::string result);
/// The attempt's process ended and its claim is committed: stores the rest
/// of the log, judges, reports.
void finish(slot_ptr self);

} // namespace millrace::actors::slot_detail
