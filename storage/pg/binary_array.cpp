#include "storage/pg/binary_array.hpp"

#include <cerrno>
#include <cstdlib>
#include <limits>

namespace millrace::storage::pg {

namespace {

constexpr uint32_t bool_oid = 16;
constexpr uint32_t int8_oid = 20;
constexpr uint32_t int2_oid = 21;
constexpr uint32_t int4_oid = 23;
constexpr uint32_t text_oid = 25;
constexpr uint32_t varchar_oid = 1043;
constexpr uint32_t uuid_oid = 2950;
constexpr uint32_t jsonb_oid = 3802;

void put32(std::string& out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out.append(b, 4);
}

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>(v >> (8 * i)));
}

int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Accepts the canonical 8-4-4-4-12 form only (what millrace produces and
// what the API normalises to); anything else falls back to text.
bool put_uuid(std::string& out, const std::string& s) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
    return false;
  put32(out, 16);
  int hi = -1;
  for (char c : s) {
    if (c == '-')
      continue;
    int v = hexval(c);
    if (v < 0)
      return false;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>((hi << 4) | v));
      hi = -1;
    }
  }
  return true;
}

bool put_int(std::string& out, const std::string& s, int bytes) {
  if (s.empty())
    return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size())
    return false;
  long long lo = bytes == 2 ? std::numeric_limits<int16_t>::min()
                 : bytes == 4 ? std::numeric_limits<int32_t>::min()
                              : std::numeric_limits<int64_t>::min();
  long long hi = bytes == 2 ? std::numeric_limits<int16_t>::max()
                 : bytes == 4 ? std::numeric_limits<int32_t>::max()
                              : std::numeric_limits<int64_t>::max();
  if (v < lo || v > hi)
    return false;
  put32(out, static_cast<uint32_t>(bytes));
  put_be(out, static_cast<uint64_t>(v), bytes);
  return true;
}

bool put_bool(std::string& out, const std::string& s) {
  bool v;
  if (s == "t" || s == "true" || s == "1")
    v = true;
  else if (s == "f" || s == "false" || s == "0")
    v = false;
  else
    return false;
  put32(out, 1);
  out.push_back(v ? 1 : 0);
  return true;
}

} // namespace

uint32_t binary_element_type(uint32_t array_type) {
  switch (array_type) {
    case 1000: return bool_oid;
    case 1005: return int2_oid;
    case 1007: return int4_oid;
    case 1016: return int8_oid;
    case 1009: return text_oid;
    case 1015: return varchar_oid;
    case 2951: return uuid_oid;
    case 3807: return jsonb_oid;
    default: return 0;
  }
}

bool encode_binary_array(const std::vector<const std::vector<sql_value>*>& rows, size_t column,
                         uint32_t element_type, std::string& out) {
  out.clear();
  bool has_nulls = false;
  size_t bytes = 20;
  for (auto* r : rows) {
    auto& v = (*r)[column];
    has_nulls |= v.null;
    bytes += 4 + v.text.size() + 1;
  }
  out.reserve(bytes);
  put32(out, 1); // dimensions
  put32(out, has_nulls ? 1 : 0);
  put32(out, element_type);
  put32(out, static_cast<uint32_t>(rows.size()));
  put32(out, 1); // lower bound
  for (auto* r : rows) {
    auto& v = (*r)[column];
    if (v.null) {
      put32(out, 0xFFFFFFFFu);
      continue;
    }
    switch (element_type) {
      case uuid_oid:
        if (!put_uuid(out, v.text))
          return false;
        break;
      case int2_oid:
        if (!put_int(out, v.text, 2))
          return false;
        break;
      case int4_oid:
        if (!put_int(out, v.text, 4))
          return false;
        break;
      case int8_oid:
        if (!put_int(out, v.text, 8))
          return false;
        break;
      case bool_oid:
        if (!put_bool(out, v.text))
          return false;
        break;
      case jsonb_oid:
        put32(out, static_cast<uint32_t>(v.text.size() + 1));
        out.push_back(1); // jsonb binary format version
        out += v.text;
        break;
      default: // text, varchar
        put32(out, static_cast<uint32_t>(v.text.size()));
        out += v.text;
        break;
    }
  }
  return true;
}

} // namespace millrace::storage::pg
