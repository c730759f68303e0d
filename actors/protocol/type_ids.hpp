// The project's single CAF type-ID block: every atom and every message type.
// Types listed here can cross node boundaries; actors/system/actor_config.cpp
// registers the block with the actor system. Add new types at the end only:
// IDs are assigned in order and remote nodes must agree on them.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/type_id.hpp"

#include "actors/protocol/status.hpp"
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

CAF_END_TYPE_ID_BLOCK(millrace)
