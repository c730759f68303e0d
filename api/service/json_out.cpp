#include "api/service/json_out.hpp"

#include <cstdlib>

namespace millrace::api {

json_out& json_out::column(const std::string& k, const storage::sql_value& v, as kind) {
  key(k);
  if (v.null)
    return null();
  switch (kind) {
    case as::text:
      return str(v.text);
    case as::number:
      return num(std::strtoll(v.text.c_str(), nullptr, 10));
    case as::boolean:
      return boolean(v.text == "t" || v.text == "true");
    case as::json:
      return raw(v.text);
    case as::timestamp:
      return str(rfc3339(v.text));
  }
  return null();
}

const storage::sql_value& col(const storage::result_set& rs, const storage::sql_row& row,
                              const char* name) {
  static const storage::sql_value none = storage::sql_value::null_value();
  auto i = rs.column(name);
  return i < 0 || static_cast<size_t>(i) >= row.size() ? none : row[static_cast<size_t>(i)];
}

std::string rfc3339(const std::string& ts) {
  // "YYYY-MM-DD HH:MM:SS[.ffffff]+00" (the server runs with TimeZone UTC).
  std::string out = ts;
  if (out.size() > 10 && out[10] == ' ')
    out[10] = 'T';
  if (out.size() >= 3 && (out.compare(out.size() - 3, 3, "+00") == 0))
    out.replace(out.size() - 3, 3, "Z");
  return out;
}

} // namespace millrace::api
