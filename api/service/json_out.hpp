// Building JSON response bodies (RapidJSON writer), and reading the columns
// of a storage result set into them.

#pragma once

#include <cstdint>
#include <string>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "storage/values.hpp"

namespace millrace::api {

class json_out {
public:
  json_out() : w_(buf_) {}

  json_out& begin_object() { w_.StartObject(); return *this; }
  json_out& end_object() { w_.EndObject(); return *this; }
  json_out& begin_array() { w_.StartArray(); return *this; }
  json_out& end_array() { w_.EndArray(); return *this; }
  json_out& key(const std::string& k) { w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); return *this; }
  json_out& str(const std::string& v) { w_.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); return *this; }
  json_out& num(int64_t v) { w_.Int64(v); return *this; }
  json_out& boolean(bool v) { w_.Bool(v); return *this; }
  json_out& null() { w_.Null(); return *this; }
  /// A value that already is JSON text (a jsonb column, a stored result).
  json_out& raw(const std::string& json) {
    w_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
    return *this;
  }

  // key + value shorthands
  json_out& field(const std::string& k, const std::string& v) { return key(k).str(v); }
  json_out& field(const std::string& k, const char* v) { return key(k).str(v); }
  json_out& field(const std::string& k, int64_t v) { return key(k).num(v); }
  json_out& field(const std::string& k, int v) { return key(k).num(v); }
  json_out& field(const std::string& k, bool v) { return key(k).boolean(v); }

  /// Columns of a result row: text as a string, NULL as null. `kind` says
  /// how to render a non-NULL value.
  enum class as { text, number, boolean, json, timestamp };
  json_out& column(const std::string& k, const storage::sql_value& v, as kind = as::text);

  std::string take() { return std::string{buf_.GetString(), buf_.GetSize()}; }

private:
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_;
};

/// The value of column `name` in `row` (a NULL value when there is no such
/// column).
const storage::sql_value& col(const storage::result_set& rs, const storage::sql_row& row,
                              const char* name);

/// PostgreSQL timestamptz text ("2026-11-22 19:21:16.820+00") as RFC 3339
/// ("2026-11-22T19:21:16.820Z").
std::string rfc3339(const std::string& pg_timestamp);

} // namespace millrace::api
