#include "storage/pg/text_array.hpp"

namespace millrace::storage::pg {

void append_array_element(std::string& out, const sql_value& v) {
  if (v.null) {
    out += "NULL";
    return;
  }
  // Quoting every element is always valid and avoids having to know which
  // characters (commas, braces, spaces, the word NULL) need it.
  out += '"';
  for (char c : v.text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

std::string encode_text_array(const std::vector<const std::vector<sql_value>*>& rows,
                              size_t column) {
  std::string out;
  size_t guess = 2;
  for (auto* r : rows)
    guess += (*r)[column].text.size() + 3;
  out.reserve(guess);
  out += '{';
  bool first = true;
  for (auto* r : rows) {
    if (!first)
      out += ',';
    first = false;
    append_array_element(out, (*r)[column]);
  }
  out += '}';
  return out;
}

} // namespace millrace::storage::pg
