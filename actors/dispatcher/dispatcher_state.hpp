// Internal to actors/dispatcher: the dispatcher's state and the functions its
// handlers share. Not part of any interface.

#pragma once

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/all.hpp"

#include "actors/dispatcher/dispatcher.hpp"
#include "actors/dispatcher/ready_queue.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/storage_actor.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace millrace::actors {

class registry;

struct job_entry {
  /// settling: its terminal state (completion, cancel) is being written.
  enum class state { queued, delayed, running, settling };

  job_spec spec;
  std::string created_at; // database time, text: the partition key of logs and events
  uint64_t seq = 0;       // arrival order
  int64_t scheduled_ms = 0;
  state st = state::queued;
  int32_t attempt = 0;    // last attempt claimed (0: never)
  int32_t restarts = 0;   // attempts lost to dead slots / expired leases
  std::string owner;      // lease owner of the running attempt
  std::string slot;       // slot running it
  bool claimed = false;   // the running attempt's claim is committed
  /// The running attempt has no process (noop, identity): its claim is not
  /// written on its own but with its end, in one write (complete_unclaimed).
  bool unclaimed_run = false;
  int64_t started_ms = 0; // wall clock at the running attempt's start
  /// Counted in dispatcher_state::running_by_tag (its tag has a limit).
  bool counted = false;
  caf::actor_clock::time_point runnable_at{}; // when it last became runnable
  bool cancel_requested = false;
  caf::actor_clock::time_point renewed{};
  std::vector<caf::typed_response_promise<job_result>> waiters;
  /// Waiters that take a flow's early_return result, and that result once
  /// the flow's run reported it.
  std::vector<caf::typed_response_promise<job_result>> early_waiters;
  std::optional<std::string> early_result;
  std::vector<job_watcher_actor> watchers;
};

struct slot_entry {
  worker_slot_actor handle;
  slot_info info;
  bool idle = false;
  std::string job; // running job id, or empty
  /// No-process jobs sent to the slot to run after `job` (prefetch), in order.
  std::deque<std::string> ahead;
  /// Its node is draining: it finishes what it runs and gets nothing new.
  bool draining = false;
  /// The slot asked to leave (`drain` with its name): answered, and the slot
  /// forgotten, once it holds no job.
  std::optional<caf::typed_response_promise<bool>> leaving;
};

struct dispatcher_state {
  static inline const char* name = "dispatcher";

  dispatcher_config cfg;
  std::shared_ptr<registry> reg;
  std::shared_ptr<spdlog::logger> log;
  std::string node_id;

  std::unordered_map<std::string, job_entry> jobs;
  ready_queue ready;
  std::multimap<int64_t, std::string> delayed; // scheduled_ms -> job id
  uint64_t due_token = 0;
  int64_t due_armed_ms = 0; // 0: no timer armed
  bool lease_sweep_armed = false;
  uint64_t seq = 0;
  std::unordered_map<std::string, size_t> unfinished_by_ws;

  std::unordered_map<std::string, slot_entry> slots;
  std::unordered_map<caf::actor_addr, std::string> slot_by_addr;
  std::unordered_map<std::string, std::deque<std::string>> idle_by_tag;
  /// Slot-name prefixes ("<node>/") of draining nodes.
  std::set<std::string> draining;
  /// Running attempts per tag, for the tags of dispatcher_config::tag_limits.
  std::unordered_map<std::string, size_t> running_by_tag;
  /// A limited tag got room: dispatch at the end of the burst.
  bool limit_freed = false;

  // Writes produced while handling the current burst of messages, sent to
  // the storage writer as one group on `flush`.
  std::vector<storage::write_request> outbox;
  std::vector<std::function<void(storage::op_result&)>> outbox_then;
  bool flush_scheduled = false;

  bool recovering = false;
  /// Attempts that rejoining slots hold, and completions they report, while
  /// the queue is being recovered: judged once it is in memory.
  struct held_attempt {
    std::string slot, job_id;
    int32_t attempt;
    std::string owner;
  };
  std::vector<held_attempt> held_in_recovery;
  std::vector<job_outcome> done_in_recovery;
  /// Nodes whose shared folders are swept once recovery is done, and when
  /// each node was last swept (pinning.cpp).
  std::set<std::string> nodes_to_sweep;
  std::map<std::string, caf::actor_clock::time_point> swept;
  /// Nodes some job was pinned to: their slots serve "<tag>@<node>" lanes.
  std::set<std::string> pinned_nodes;
  // Wall clock (ms since the Unix epoch) derived from the actor clock, so the
  // test coordinator's virtual time drives scheduled jobs too.
  int64_t wall_at_start_ms = 0;
  caf::actor_clock::time_point clock_at_start{};

  dispatcher_stats stats;
};

using dispatcher_ptr = dispatcher_actor::stateful_pointer<dispatcher_state>;

/// The ready-queue lane of a job: its tag, except for sub-flows
/// (job_kind::subflow_lane) and jobs pinned to a worker node ("<tag>@<node>",
/// see pinning.cpp).
std::string lane_of(const job_spec& spec);

// pinning.cpp (same_worker flows)
/// The tag of a lane ("bash@n1" -> "bash"; other lanes are their tag).
std::string tag_of_lane(const std::string& lane);
/// What a slot serves: its tags, plus "<tag>@<node>" for each tag a worker
/// slot ("<node>/slot-N") serves once a job was pinned to its node, so
/// jobs pinned to its node find it.
std::vector<std::string> lanes_of_slot(const dispatcher_state& st, const std::string& name,
                                       std::vector<std::string> tags);
/// A job pinned to `node` became runnable: the first one adds the node's
/// lanes to its slots.
void pinned_job_for(dispatcher_ptr self, const std::string& node);
/// Why a job on `tag` pinned to `node` cannot run there (a connected node
/// whose worker slots do not serve the tag); empty: it can, or the node is
/// not connected (the job waits for it).
std::string node_refuses(dispatcher_ptr self, const std::string& node, const std::string& tag);
/// The node for a same_worker flow whose steps need `tags`.
caf::result<std::string> pick_node(dispatcher_ptr self, const std::set<std::string>& tags);
/// A same_worker flow ended: one slot of `node` removes its shared folder.
void unpin(dispatcher_ptr self, const std::string& node, const std::string& flow_job);
/// The same, sent by the run that ended the flow: ignored unless `attempt`
/// is the flow job's current one.
void unpin_run(dispatcher_ptr self, const std::string& node, const std::string& flow_job,
               int32_t attempt);
/// Worker slot `slot_name` registered anew: unless its node was swept in the
/// last minute, ask it for the node's shared folders and unpin those whose
/// flow is not unfinished (it ended while the node was away). After
/// recovery only: until then unfinished flows are not all known.
void sweep_node_of(dispatcher_ptr self, const std::string& slot_name);
/// Recovery is done: sweep the nodes that joined during it.
void sweep_after_recovery(dispatcher_ptr self);
/// `name` joins the idle list of `tag` (assign.cpp).
void note_idle(dispatcher_ptr self, const std::string& tag, const std::string& name);

// tag_limits.cpp
/// Whether another attempt of `tag` may start (its limit, if any).
bool tag_has_room(dispatcher_ptr self, const std::string& tag);
/// `tags` without those at their limit.
std::vector<std::string> tags_with_room(dispatcher_ptr self, const std::vector<std::string>& tags);
/// An attempt of `e` starts, or stops (runnable again, settling, gone).
void count_running(dispatcher_ptr self, job_entry& e);
void uncount_running(dispatcher_ptr self, job_entry& e);

// outbox.cpp
/// Queues a write; `then` runs with its result after the group committed.
void write(dispatcher_ptr self, storage::write_request req,
           std::function<void(storage::op_result&)> then);
void flush(dispatcher_ptr self);
int64_t wall_ms(dispatcher_ptr self);
std::string format_timestamp_ms(int64_t ms);

// submit.cpp
caf::error validate(dispatcher_ptr self, job_spec& spec);
caf::result<submit_reply> submit(dispatcher_ptr self, job_spec spec,
                                 std::vector<job_watcher_actor> watchers = {});
caf::result<std::vector<submit_reply>> submit_many(dispatcher_ptr self,
                                                   std::vector<job_spec> specs);
/// Accounts a committed job and makes it runnable (or delayed).
void admit(dispatcher_ptr self, job_entry entry);

// registration.cpp and assign.cpp
/// Registers a slot. A slot that comes back with an attempt (its node
/// rejoined) has it adopted if the attempt is still current, else aborted.
void register_slot(dispatcher_ptr self, worker_slot_actor h, slot_info info);
/// A rejoined slot holds attempt `attempt` of `held`: adopted if current,
/// else the slot is told to kill it.
void judge_held(dispatcher_ptr self, const std::string& slot, const std::string& held,
                int32_t attempt, const std::string& owner);
/// Slots whose name starts with `prefix`, also ones that register later, get
/// no new jobs from now on (`on`), or again (`!on`). Returns how many slots
/// it drained.
int32_t drain_slots(dispatcher_ptr self, const std::string& prefix, bool on);
/// A slot asks to leave: true at once if it holds no job, else once its
/// jobs are done; it gets nothing new meanwhile. Then it is forgotten (its
/// exit is no loss) and may stop.
caf::result<bool> slot_leave(dispatcher_ptr self, const std::string& slot);
/// Drops a slot's registration (no job of its own is touched) and answers
/// its pending `slot_leave`. By value: callers may pass the entry's own key.
void forget_slot(dispatcher_ptr self, std::string slot);
bool draining_prefix(dispatcher_ptr self, const std::string& name);
void slot_ready(dispatcher_ptr self, const std::string& slot);
void slot_down(dispatcher_ptr self, const caf::actor_addr& who, const caf::error& reason);
/// Runs queued jobs on idle slots until one of them runs out.
void dispatch(dispatcher_ptr self);
/// Moves `slot` to its next job: the one it holds ahead, or a new one.
void advance_slot(dispatcher_ptr self, slot_entry& slot);

// lease.cpp
/// The lease of `e`'s attempts: cfg.flow_lease for a flow job, else cfg.lease.
caf::timespan lease_of(dispatcher_ptr self, const job_entry& e);
int32_t lease_ms(dispatcher_ptr self, const job_entry& e);
void renew(dispatcher_ptr self, const std::string& job_id, int32_t attempt);
/// The lease sweep (`expire` with an empty id): every lease/4 while attempts
/// run, each attempt without a renewal for a whole lease is given back (if
/// the database agrees). One timer for all attempts, not one per attempt:
/// timers cost a clock-thread round trip each.
void expire(dispatcher_ptr self, const std::string& job_id, int32_t attempt);
void arm_lease_sweep(dispatcher_ptr self);
/// After a write about attempt `attempt` of `job_id` was fenced, failed or
/// lost its answer: reads the job's state and brings memory in line with
/// it (finished, runnable again, or still running until its lease ends).
void reconcile(dispatcher_ptr self, const std::string& job_id, int32_t attempt);

// assign.cpp
void fire_due(dispatcher_ptr self, uint64_t token);
/// Adds one dispatch latency (runnable -> handed to a slot) to the stats.
void record_dispatch(dispatcher_stats& s, caf::timespan latency);
void make_runnable(dispatcher_ptr self, job_entry& entry);
/// What the slot running `e`'s current attempt is told.
job_assignment assignment_of(dispatcher_ptr self, const job_entry& e);
/// An attempt that never got its claim recorded: forgets it and queues the
/// job again (the database still has it queued at the previous attempt).
void unclaim(dispatcher_ptr self, job_entry& e);

// outcome.cpp
/// A slot reports the end of an attempt.
void job_done(dispatcher_ptr self, job_outcome outcome);
/// Requeues a running attempt whose slot or lease is gone, or fails the job
/// as poisoned past the restart limit. `if_expired`: only if the database
/// says the lease has expired.
void lose_attempt(dispatcher_ptr self, job_entry& entry, const std::string& reason,
                  bool if_expired);
/// Removes a job that reached a terminal state and answers its waiters.
void finish(dispatcher_ptr self, const std::string& job_id, const std::string& status,
            const std::string& result, int64_t duration_ms);

// cancel.cpp
caf::result<cancel_reply> cancel(dispatcher_ptr self, const std::string& job_id,
                                 const std::string& by, const std::string& reason);
caf::result<job_result> wait_for(dispatcher_ptr self, const std::string& job_id,
                                 bool early_ok = false);
/// A flow's early_return step finished: answer the waiters that take it.
void early_result(dispatcher_ptr self, const std::string& job_id, std::string result);
void watch(dispatcher_ptr self, const std::string& job_id, job_watcher_actor watcher);

// recovery.cpp
void start_recovery(dispatcher_ptr self);

// params.cpp: write requests for the statements of storage/sql.
/// `fresh`: the id was drawn here and no idempotency key was given, so the
/// job cannot exist yet.
storage::write_request enqueue_write(const job_spec& spec, bool fresh);
/// A fresh job submitted to the idle slot whose lease owner `e.owner` is:
/// submitted and claimed as attempt 1 in one statement.
storage::write_request enqueue_claimed_write(const job_entry& e, int32_t lease_ms);
storage::write_request claim_write(const job_entry& e, int32_t lease_ms);
storage::write_request renew_write(const job_entry& e, int32_t lease_ms);
storage::write_request complete_write(const job_entry& e, const std::string& status,
                                      const std::string& result,
                                      const std::string& flow_status = {});
/// Claim and end of an attempt without a process, in one write.
storage::write_request complete_unclaimed_write(const job_entry& e, const std::string& status,
                                                const std::string& result);
storage::write_request requeue_write(const job_entry& e, const std::string& reason,
                                     bool if_expired);
storage::write_request cancel_queued_write(const job_entry& e, const std::string& by,
                                           const std::string& reason);
storage::write_request request_cancel_write(const job_entry& e, const std::string& by,
                                            const std::string& reason);

} // namespace millrace::actors
