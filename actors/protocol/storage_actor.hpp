// Message interfaces of the storage actors. Declarations only.
// Behavior: actors/storage/.

#pragma once

#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "actors/protocol/type_ids.hpp"

namespace millrace::actors {

/// The only writer to PostgreSQL (path /millrace/storage/writer).
///
/// - `write` is answered only after the write's transaction committed, with
///   the rows the statement returned for it; or with a caf::error whose code
///   is a storage_errc (overloaded when its queue is full, unavailable /
///   outcome_unknown / timeout when the database failed it, constraint_violation
///   and invalid_input when the database rejected it). See
///   storage/batch_writer.hpp for the exact guarantees.
/// - Writes from one sender with the same key are applied in the order sent.
/// - A group of writes (a vector) is answered once, when every write of the
///   group is settled, with one op_result per write in the same order; each
///   write commits or fails on its own. The group is refused as a whole with
///   `overloaded` when it does not fit in the queue. Callers that produce many
///   writes at once send them as a group: one message instead of one each.
/// - `wdone`, `fence` and `barrier` are internal: a writer thread stopped; a
///   fence before a barrier write committed; the barrier write was answered.
using storage_writer_actor = caf::typed_actor<
  caf::replies_to<write_atom, storage::write_request>::with<storage::result_set>,
  caf::replies_to<write_atom, std::vector<storage::write_request>>::with<
    std::vector<storage::op_result>>,
  caf::replies_to<stats_atom>::with<storage::writer_stats>,
  caf::replies_to<status_atom>::with<actor_status>,
  caf::reacts_to<wdone_atom>,
  caf::reacts_to<fence_atom>,
  caf::reacts_to<barrier_atom>>;

/// Runs named read statements on a pool of read-only connections
/// (path /millrace/storage/reader). `rdone` is internal (the pool stopped).
using storage_reader_actor = caf::typed_actor<
  caf::replies_to<read_atom, storage::read_request>::with<storage::result_set>,
  caf::replies_to<status_atom>::with<actor_status>,
  caf::reacts_to<rdone_atom>>;

} // namespace millrace::actors

namespace millrace::actors {

/// Partition upkeep and retention (path /millrace/storage/maintenance). Runs
/// once at start and then on a timer; `maintain` triggers a run now.
using maintenance_actor = caf::typed_actor<
  caf::reacts_to<maintain_atom>,
  caf::replies_to<status_atom>::with<actor_status>>;

} // namespace millrace::actors
