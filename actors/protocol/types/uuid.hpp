// Job ids: UUIDv7 (RFC 9562), time-ordered so that a new job's index entry
// lands at the right end of the job table's primary key.

#pragma once

#include <string>

namespace millrace::actors {

/// A new UUIDv7 in the canonical lowercase 8-4-4-4-12 form. Thread-safe.
std::string make_uuid_v7();

/// True for a UUID in 8-4-4-4-12 hex form (any version); `out` gets it in
/// canonical lowercase form.
bool normalize_uuid(const std::string& in, std::string& out);

} // namespace millrace::actors
