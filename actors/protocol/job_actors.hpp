// Message interfaces of the job path: the dispatcher, worker slots and job
// watchers. Declarations only; behavior in actors/dispatcher/ and
// actors/worker/. Every message type is in the type-ID block, so slots may
// live on other nodes (the cluster issue) without changing this protocol.

#pragma once

#include <set>
#include <string>
#include <vector>

#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "actors/protocol/type_ids.hpp"

namespace millrace::actors {

/// Receives a job's log live (`millrace run`, streaming APIs).
using job_watcher_actor = caf::typed_actor<caf::reacts_to<log_atom, log_chunk>>;

/// One worker slot: runs one job attempt at a time.
///
/// - `run`: start this attempt. The slot reports exactly one `done` to the
///   dispatcher for it, whatever happens to the process.
/// - `claimed`: the attempt's claim is committed; from now on the slot writes
///   the attempt's logs (before it, writes would be fenced).
/// - `cancel`: run the kill ladder and report the attempt as canceled.
/// - `abort`: the attempt lost its job (its claim failed, or a renewal was
///   fenced): kill it and report nothing.
/// - `watch`: also send this attempt's log to the watcher.
/// - `output` and `exited` (with the attempt's local token) are internal:
///   process events. `tick` is the slot's one timer (its timeout, log
///   flushes and lease renewals).
/// - `unpin` (flow job id): that `same_worker` flow ended; remove its shared
///   folder on this node.
/// - `sweep`: the flow job ids that have a shared folder on this node (the
///   dispatcher unpins those of flows that ended while the node was away).
using worker_slot_actor = caf::typed_actor<
  caf::reacts_to<run_atom, job_assignment, std::vector<job_watcher_actor>>,
  caf::reacts_to<claimed_atom, std::string, int32_t>,
  caf::reacts_to<cancel_atom, std::string, int32_t>,
  caf::reacts_to<abort_atom, std::string, int32_t>,
  caf::reacts_to<watch_atom, std::string, job_watcher_actor>,
  caf::reacts_to<output_atom, uint64_t, uint8_t, std::string>,
  caf::reacts_to<exited_atom, uint64_t, exit_record>,
  caf::reacts_to<tick_atom, uint64_t>,
  caf::reacts_to<register_atom>,
  caf::reacts_to<unpin_atom, std::string>,
  caf::replies_to<sweep_atom>::with<std::set<std::string>>,
  caf::replies_to<status_atom>::with<actor_status>>;

/// The dispatcher (path /millrace/dispatcher): holds runnable jobs in memory
/// and pushes them to idle slots. Nothing polls PostgreSQL.
///
/// - `submit` is answered after the job's row is committed (durable before
///   acknowledged); errors: dispatch_errc::overloaded (workspace admission
///   cap), storage errors, dispatch_errc::invalid_job. With a watcher, the
///   watcher gets the job's log from its first byte.
/// - `cancel` is answered with canceled (it was queued), canceling (the kill
///   ladder started) or already_canceling; a finished or unknown job is an
///   error (dispatch_errc::already_finished / not_found).
/// - `wait` is answered with the job's final state when it ends (at once if
///   it already ended).
/// - Slots `register` (monitored; a slot that dies has its attempt requeued),
///   say `ready` when idle, report `done`, and `renew` their lease from their
///   execution path. A slot that registers again (its node rejoined) names
///   the attempt it holds: the dispatcher adopts it if it is still current,
///   else tells the slot to `abort` it.
/// - `wait` (job id, early_ok): as `wait`, but a flow with `early_return`
///   answers it with that step's result as soon as it has one; the flow's
///   run reports it with `progress` (job id, result JSON).
/// - `drain` (slot-name prefix "<node>/", on): those slots, also ones that
///   register later, get no new jobs (on), or again (off); answered with
///   the number of slots drained.
/// - `drain` (slot name): that slot leaves. Answered `true` once it holds no
///   job (at once, or after its jobs are done; it gets nothing new), when
///   the dispatcher has forgotten it: its exit is then no loss.
/// - `pin` (tags): the worker node a `same_worker` flow's steps will run on:
///   one whose slots serve all of `tags` (or, with none, any worker node),
///   the one with the most idle slots. Error dispatch_errc::no_node when no
///   registered node qualifies.
/// - `unpin` (node, flow job id, attempt): that flow ended; the node is told
///   to remove its shared folder. Ignored unless `attempt` is the flow job's
///   current one, or the job ended. A node not connected then is swept when
///   it joins.
using dispatcher_actor = caf::typed_actor<
  caf::replies_to<submit_atom, job_spec>::with<submit_reply>,
  caf::replies_to<submit_atom, job_spec, job_watcher_actor>::with<submit_reply>,
  caf::replies_to<submit_atom, std::vector<job_spec>>::with<std::vector<submit_reply>>,
  caf::replies_to<cancel_atom, std::string, std::string, std::string>::with<cancel_reply>,
  caf::replies_to<wait_atom, std::string>::with<job_result>,
  caf::replies_to<wait_atom, std::string, bool>::with<job_result>,
  caf::reacts_to<progress_atom, std::string, std::string>,
  caf::reacts_to<watch_atom, std::string, job_watcher_actor>,
  caf::reacts_to<register_atom, worker_slot_actor, slot_info>,
  caf::reacts_to<ready_atom, std::string>,
  caf::reacts_to<done_atom, job_outcome>,
  caf::reacts_to<renew_atom, std::string, int32_t>,
  caf::reacts_to<flush_atom>,
  caf::reacts_to<due_atom, uint64_t>,
  caf::reacts_to<expire_atom, std::string, int32_t>,
  caf::reacts_to<recover_atom>,
  caf::replies_to<drain_atom, std::string, bool>::with<int32_t>,
  caf::replies_to<drain_atom, std::string>::with<bool>,
  caf::replies_to<pin_atom, std::set<std::string>>::with<std::string>,
  caf::reacts_to<unpin_atom, std::string, std::string, int32_t>,
  caf::replies_to<stats_atom>::with<dispatcher_stats>,
  caf::replies_to<status_atom>::with<actor_status>>;

} // namespace millrace::actors

// Actor handles that travel inside messages (a slot registering, a run with
// its watchers) need type IDs of their own to cross nodes. They follow the
// main block; actors/system/actor_config.cpp registers both.
CAF_BEGIN_TYPE_ID_BLOCK(millrace_handles, caf::id_block::millrace::end)
  CAF_ADD_TYPE_ID(millrace_handles, (millrace::actors::worker_slot_actor))
  CAF_ADD_TYPE_ID(millrace_handles, (millrace::actors::job_watcher_actor))
  CAF_ADD_TYPE_ID(millrace_handles, (std::vector<millrace::actors::job_watcher_actor>))
CAF_END_TYPE_ID_BLOCK(millrace_handles)
