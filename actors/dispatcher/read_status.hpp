// Reads one job's state from the database (storage/sql/job_lifecycle.sql,
// job_status), for the dispatcher's cancel and reconcile paths.

#pragma once

#include <chrono>
#include <string>

#include "actors/dispatcher/dispatcher_state.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/registry.hpp"

namespace millrace::actors {

/// `found(result_set&)` with the job's row, or `missing(caf::error&)` when
/// the job does not exist or the read failed.
template <class F, class G>
void read_status(dispatcher_ptr self, const std::string& job_id, F found, G missing) {
  auto reader = self->state.reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  if (!reader) {
    auto err = caf::make_error(storage::storage_errc::unavailable,
                               std::string("the storage reader is not running"));
    missing(err);
    return;
  }
  self->request(reader, std::chrono::seconds{30}, read_atom_v,
                storage::read_request{"job_status", {job_id}})
    .then(
      [job_id, found, missing](storage::result_set& rs) mutable {
        if (rs.empty()) {
          auto err = caf::make_error(dispatch_errc::not_found, "no job " + job_id);
          missing(err);
        } else {
          found(rs);
        }
      },
      [missing](caf::error& err) mutable { missing(err); });
}

/// The text of column `col` in the first row ("" if null or absent).
inline std::string status_cell(const storage::result_set& rs, const char* col) {
  auto c = rs.column(col);
  return c < 0 || rs.rows[0][static_cast<size_t>(c)].null
           ? std::string{}
           : rs.rows[0][static_cast<size_t>(c)].text;
}

/// The `result` column as JSON without spaces between tokens, as a slot
/// reports it ("null" if null). read_status.cpp.
std::string result_cell(const storage::result_set& rs);

} // namespace millrace::actors
