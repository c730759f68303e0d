// Encodes values as a PostgreSQL array literal in the text format, e.g.
// {"a","b\"c",NULL}. Bulk statements receive one such array per parameter
// and unnest them server-side, so one statement covers a whole batch.

#pragma once

#include <string>
#include <vector>

#include "storage/values.hpp"

namespace millrace::storage::pg {

/// Appends one quoted array element (or NULL) to `out`.
void append_array_element(std::string& out, const sql_value& v);

/// Builds `{e1,e2,...}` from `column` of each row in `rows`.
std::string encode_text_array(const std::vector<const std::vector<sql_value>*>& rows,
                              size_t column);

} // namespace millrace::storage::pg
