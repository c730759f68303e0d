// PostgreSQL's binary array format for bulk statement parameters. Sending a
// uuid[] or int2[] in binary spares the server from parsing (and us from
// quoting) thousands of text elements per batch.
//
// Supported element types: uuid, text, varchar, jsonb, bool, int2, int4, int8.
// Other types (timestamptz, ...) go as text arrays (encode_text_array).

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/values.hpp"

namespace millrace::storage::pg {

/// The element type OID of an array type OID we can encode in binary, or 0.
uint32_t binary_element_type(uint32_t array_type);

/// Appends the binary array of `column` of each row to `out`. Returns false
/// (leaving `out` unspecified) when a value cannot be converted, e.g. "x" for
/// a uuid; the caller then sends the parameter as text so the server reports
/// the bad value against its write.
bool encode_binary_array(const std::vector<const std::vector<sql_value>*>& rows, size_t column,
                         uint32_t element_type, std::string& out);

} // namespace millrace::storage::pg
