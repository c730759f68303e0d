// The vocabulary of jobs: what is submitted, what a worker slot is given, what
// it reports back, and what waiters receive. Plain C++ (no CAF): lower layers
// may include this; the inspect() overloads let CAF carry these across nodes.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace millrace::actors {

/// Job kinds (Windmill's names).
namespace job_kind {
constexpr const char* script = "script";   ///< a stored script, by path or by hash
constexpr const char* preview = "preview"; ///< raw code plus a language
constexpr const char* identity = "identity"; ///< no process: returns its args
constexpr const char* noop = "noop";       ///< no process: returns its args
/// A flow run: `code` holds the flow value (OpenFlow JSON), pinned at
/// submission; `script_path` the flow's path. Run by the flow engine.
constexpr const char* flow = "flow";
constexpr const char* flowpreview = "flowpreview"; ///< a flow sent inline (raw_flow)
/// The queue name of flow runs: only the flow engine's slots serve it.
constexpr const char* flow_tag = "flow";
/// The queue lane of flow runs that a flow started (sub-flows): served by
/// every flow slot and also by slots kept for them alone, so a parent that
/// waits for its sub-flow never waits for a slot its peers hold. A queue
/// name only: the job's tag stays `flow`.
constexpr const char* subflow_lane = "flow/sub";
} // namespace job_kind

/// Terminal statuses (Windmill's names, plus timed_out).
namespace job_status {
constexpr const char* success = "success";
constexpr const char* failure = "failure";
constexpr const char* canceled = "canceled";
constexpr const char* timed_out = "timed_out";
} // namespace job_status

/// A submission. Built by the API/CLI, validated and completed by the
/// dispatcher (id, tag defaults).
struct job_spec {
  /// Caller-chosen id (a UUID) or empty: the dispatcher makes a UUIDv7.
  std::string id;
  std::string workspace = "admins";
  std::string kind = job_kind::preview;
  std::string script_path;
  std::string script_hash;
  /// The code to run (preview: the raw code; script: the version's content,
  /// filled in by whoever resolved the script).
  std::string code;
  std::string language;
  /// Arguments as a JSON object (text).
  std::string args = "{}";
  /// Queue name; empty: the language's default tag.
  std::string tag;
  int32_t priority = 0;
  /// Wall-clock limit in seconds; 0: the configured default.
  int32_t timeout_s = 0;
  /// Earliest start, milliseconds since the Unix epoch; 0: now.
  int64_t scheduled_for_ms = 0;
  std::string parent_job;
  std::string root_job;
  std::string created_by = "anonymous";
  std::string idempotency_key;
  std::string request_hash;
  /// The caller vouches that `id` names no existing job (the flow engine's
  /// step ids on a flow's first attempt): it is submitted on the fast path.
  /// Unset, a caller-chosen id may name an existing job, which is answered.
  bool id_is_new = false;
  /// The worker node the job must run on (empty: any). Set by the flow
  /// engine on the steps of a `same_worker` flow (script and preview jobs
  /// only); such a job also gets its flow's shared folder (`./shared`).
  /// Stored with the job, so it holds across restarts.
  std::string node;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_spec& x) {
  return f(x.id, x.workspace, x.kind, x.script_path, x.script_hash, x.code, x.language, x.args,
           x.tag, x.priority, x.timeout_s, x.scheduled_for_ms, x.parent_job, x.root_job,
           x.created_by, x.idempotency_key, x.request_hash, x.id_is_new, x.node);
}

/// The answer to a submission: the job is durable (committed) when this
/// arrives. `existing` is set when an idempotency key (or a caller-chosen id)
/// named a job that already existed: `job_id` is that job.
struct submit_reply {
  std::string job_id;
  /// Database time of the submission (ISO text).
  std::string created_at;
  bool existing = false;
  /// Bulk submissions only: why this one job was not created (empty: it was).
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_reply& x) {
  return f(x.job_id, x.created_at, x.existing, x.error);
}

/// What a worker slot is told to run: one attempt of one job.
struct job_assignment {
  std::string job_id;
  int32_t attempt = 0;
  /// Lease owner written with the claim; every write of this attempt
  /// carries it (fencing).
  std::string lease_owner;
  std::string job_created_at;
  std::string workspace;
  std::string kind;
  std::string language;
  std::string script_path;
  std::string code;
  std::string args;
  int32_t timeout_s = 0;
  /// Network access for the job's sandbox.
  bool network = false;
  /// Flows: the root of the job tree (empty: this job) and who started it;
  /// step jobs inherit both.
  std::string root_job;
  std::string created_by;
  /// A step of a `same_worker` flow: the flow job's id, whose shared folder
  /// on this node the job sees as /job/shared (its `./shared`). Empty: none.
  std::string shared_folder;
  /// The job's priority (a flow run passes it on to its steps).
  int32_t priority = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_assignment& x) {
  return f(x.job_id, x.attempt, x.lease_owner, x.job_created_at, x.workspace, x.kind, x.language,
           x.script_path, x.code, x.args, x.timeout_s, x.network, x.root_job, x.created_by,
           x.shared_folder, x.priority);
}

/// What a slot reports when an attempt ended (any way).
struct job_outcome {
  std::string job_id;
  int32_t attempt = 0;
  std::string lease_owner;
  /// One of job_status.
  std::string status;
  /// JSON: the result on success, the error object otherwise.
  std::string result = "null";
  int64_t duration_ms = 0;
  /// Flow runs: the final FlowStatus (JSON), recorded with the completion
  /// in the same write; empty for other jobs.
  std::string flow_status;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_outcome& x) {
  return f(x.job_id, x.attempt, x.lease_owner, x.status, x.result, x.duration_ms, x.flow_status);
}

/// The final state of a job, for waiters (`millrace run`, run_wait_result).
struct job_result {
  std::string job_id;
  std::string status;
  std::string result = "null";
  int32_t attempt = 0;
  int64_t duration_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_result& x) {
  return f(x.job_id, x.status, x.result, x.attempt, x.duration_ms);
}

/// A piece of a job's log, sent live to watchers.
struct log_chunk {
  std::string job_id;
  int32_t attempt = 0;
  std::string text;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_chunk& x) {
  return f(x.job_id, x.attempt, x.text);
}

/// What a worker slot serves.
struct slot_info {
  /// Unique name, e.g. "local/slot-3"; part of lease owners.
  std::string name;
  std::vector<std::string> tags;
  /// When a slot registers again (its node rejoined the server), the attempt
  /// it holds: still running, or finished with its `done` not yet known to
  /// have arrived (`finished`). Empty job_id: none.
  std::string job_id;
  int32_t attempt = 0;
  std::string lease_owner;
  bool finished = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_info& x) {
  return f(x.name, x.tags, x.job_id, x.attempt, x.lease_owner, x.finished);
}

/// How a job's process ended (the sandbox's exit_info, as a message).
struct exit_record {
  int32_t exit_code = -1;
  int32_t signal = 0;
  bool out_of_memory = false;
  bool pids_limit_hit = false;
  bool terminated = false;
  bool killed = false;
  double cpu_seconds = 0;
  uint64_t max_memory_bytes = 0;
  int64_t wall_us = 0;
  std::string sandbox_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, exit_record& x) {
  return f(x.exit_code, x.signal, x.out_of_memory, x.pids_limit_hit, x.terminated, x.killed,
           x.cpu_seconds, x.max_memory_bytes, x.wall_us, x.sandbox_error);
}

/// The answer to a cancel request.
struct cancel_reply {
  std::string job_id;
  /// canceled (it was queued), canceling (it runs; the kill ladder started),
  /// already_canceling (a second cancel), finishing (it just ended; its
  /// terminal state is being recorded).
  std::string state;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_reply& x) {
  return f(x.job_id, x.state);
}

} // namespace millrace::actors
