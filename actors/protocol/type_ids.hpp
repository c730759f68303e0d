// The project's single CAF type-ID block: every atom and every message type.
// Types listed here can cross node boundaries; actors/system/actor_config.cpp
// registers the block with the actor system. Add new types at the end only:
// IDs are assigned in order and remote nodes must agree on them.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/type_id.hpp"

#include "actors/protocol/dispatcher_stats.hpp"
#include "actors/protocol/status.hpp"
#include "actors/protocol/types/cluster.hpp"
#include "actors/protocol/types/job.hpp"
#include "storage/values.hpp"
#include "storage/writer_stats.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(millrace, caf::first_custom_type_id)

  // -- atoms (CAF 0.17: at most 10 characters) -------------------------------
  CAF_ADD_ATOM(millrace, millrace::actors, write_atom, "write")
  CAF_ADD_ATOM(millrace, millrace::actors, read_atom, "read")
  CAF_ADD_ATOM(millrace, millrace::actors, wdone_atom, "wdone")
  CAF_ADD_ATOM(millrace, millrace::actors, rdone_atom, "rdone")
  CAF_ADD_ATOM(millrace, millrace::actors, status_atom, "status")
  CAF_ADD_ATOM(millrace, millrace::actors, stats_atom, "stats")
  CAF_ADD_ATOM(millrace, millrace::actors, maintain_atom, "maintain")
  CAF_ADD_ATOM(millrace, millrace::actors, stop_tmo_atom, "stoptmo")
  CAF_ADD_ATOM(millrace, millrace::actors, children_atom, "children")
  CAF_ADD_ATOM(millrace, millrace::actors, fence_atom, "fence")
  CAF_ADD_ATOM(millrace, millrace::actors, barrier_atom, "barrier")
  CAF_ADD_ATOM(millrace, millrace::actors, submit_atom, "submit")
  CAF_ADD_ATOM(millrace, millrace::actors, cancel_atom, "cancel")
  CAF_ADD_ATOM(millrace, millrace::actors, wait_atom, "wait")
  CAF_ADD_ATOM(millrace, millrace::actors, watch_atom, "watch")
  CAF_ADD_ATOM(millrace, millrace::actors, register_atom, "register")
  CAF_ADD_ATOM(millrace, millrace::actors, ready_atom, "ready")
  CAF_ADD_ATOM(millrace, millrace::actors, run_atom, "run")
  CAF_ADD_ATOM(millrace, millrace::actors, claimed_atom, "claimed")
  CAF_ADD_ATOM(millrace, millrace::actors, done_atom, "done")
  CAF_ADD_ATOM(millrace, millrace::actors, renew_atom, "renew")
  CAF_ADD_ATOM(millrace, millrace::actors, log_atom, "log")
  CAF_ADD_ATOM(millrace, millrace::actors, flush_atom, "flush")
  CAF_ADD_ATOM(millrace, millrace::actors, due_atom, "due")
  CAF_ADD_ATOM(millrace, millrace::actors, expire_atom, "expire")
  CAF_ADD_ATOM(millrace, millrace::actors, abort_atom, "abort")
  CAF_ADD_ATOM(millrace, millrace::actors, output_atom, "output")
  CAF_ADD_ATOM(millrace, millrace::actors, exited_atom, "exited")
  CAF_ADD_ATOM(millrace, millrace::actors, timeout_atom, "timeout")
  CAF_ADD_ATOM(millrace, millrace::actors, recover_atom, "recover")

  // -- message types ---------------------------------------------------------
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::actor_status))
  CAF_ADD_TYPE_ID(millrace, (millrace::storage::sql_value))
  CAF_ADD_TYPE_ID(millrace, (millrace::storage::result_set))
  CAF_ADD_TYPE_ID(millrace, (millrace::storage::write_request))
  CAF_ADD_TYPE_ID(millrace, (millrace::storage::read_request))
  CAF_ADD_TYPE_ID(millrace, (millrace::storage::writer_stats))
  CAF_ADD_TYPE_ID(millrace, (std::vector<millrace::storage::write_request>))
  CAF_ADD_TYPE_ID(millrace, (millrace::storage::op_result))
  CAF_ADD_TYPE_ID(millrace, (std::vector<millrace::storage::op_result>))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::job_spec))
  CAF_ADD_TYPE_ID(millrace, (std::vector<millrace::actors::job_spec>))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::submit_reply))
  CAF_ADD_TYPE_ID(millrace, (std::vector<millrace::actors::submit_reply>))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::job_assignment))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::job_outcome))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::job_result))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::log_chunk))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::slot_info))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::cancel_reply))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::dispatcher_stats))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::exit_record))

  // -- the flow engine (actors/flow/) ----------------------------------------
  CAF_ADD_ATOM(millrace, millrace::actors, flowdone_atom, "flowdone")
  CAF_ADD_ATOM(millrace, millrace::actors, eval_atom, "eval")
  CAF_ADD_ATOM(millrace, millrace::actors, progress_atom, "progress")
  CAF_ADD_ATOM(millrace, millrace::actors, wake_atom, "wake")
  CAF_ADD_ATOM(millrace, millrace::actors, persist_atom, "persist")

  // -- the worker cluster (actors/cluster/) ----------------------------------
  CAF_ADD_ATOM(millrace, millrace::actors, hello_atom, "hello")
  CAF_ADD_ATOM(millrace, millrace::actors, join_atom, "join")
  CAF_ADD_ATOM(millrace, millrace::actors, drain_atom, "drain")
  CAF_ADD_ATOM(millrace, millrace::actors, nodes_atom, "nodes")
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::node_info))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::join_request))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::join_reply))
  CAF_ADD_TYPE_ID(millrace, (millrace::actors::node_entry))
  CAF_ADD_TYPE_ID(millrace, (std::vector<millrace::actors::node_entry>))

  // -- approval steps (actors/flow/suspend.cpp) ------------------------------
  CAF_ADD_ATOM(millrace, millrace::actors, resume_atom, "resume")
  CAF_ADD_ATOM(millrace, millrace::actors, suspend_atom, "suspend")

  // -- same_worker flows (actors/flow/flow_run.cpp, the dispatcher, slots) ---
  CAF_ADD_ATOM(millrace, millrace::actors, pin_atom, "pin")
  CAF_ADD_ATOM(millrace, millrace::actors, unpin_atom, "unpin")
  CAF_ADD_ATOM(millrace, millrace::actors, sweep_atom, "sweep")

  // -- a slot's one timer (actors/worker/slot.cpp, actors/flow/flow_slot.cpp) --
  CAF_ADD_ATOM(millrace, millrace::actors, tick_atom, "tick")


CAF_END_TYPE_ID_BLOCK(millrace)
