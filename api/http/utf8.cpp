#include "api/http/utf8.hpp"

#include <cstdint>

namespace millrace::api::http {

namespace {

/// Length of the well-formed sequence starting at s[i], or 0.
std::size_t sequence_length(std::string_view s, std::size_t i) noexcept {
  auto byte = [&](std::size_t k) { return static_cast<uint8_t>(s[k]); };
  auto cont = [&](std::size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  uint8_t c = byte(i);
  if (c < 0x80)
    return 1;
  if (c < 0xC2) // continuation byte or overlong 2-byte lead
    return 0;
  if (c < 0xE0)
    return cont(i + 1) ? 2 : 0;
  if (c < 0xF0) {
    if (!cont(i + 1) || !cont(i + 2))
      return 0;
    uint8_t c1 = byte(i + 1);
    if (c == 0xE0 && c1 < 0xA0) // overlong
      return 0;
    if (c == 0xED && c1 >= 0xA0) // UTF-16 surrogate
      return 0;
    return 3;
  }
  if (c < 0xF5) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
      return 0;
    uint8_t c1 = byte(i + 1);
    if (c == 0xF0 && c1 < 0x90) // overlong
      return 0;
    if (c == 0xF4 && c1 >= 0x90) // above U+10FFFF
      return 0;
    return 4;
  }
  return 0;
}

} // namespace

std::size_t utf8_error_offset(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    // Fast path: eight ASCII bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t w = 0;
      for (int k = 0; k < 8; ++k)
        w |= static_cast<uint64_t>(static_cast<uint8_t>(s[i + k])) << (8 * k);
      if (w & 0x8080808080808080ull)
        break;
      i += 8;
    }
    if (i >= s.size())
      break;
    auto n = sequence_length(s, i);
    if (n == 0)
      return i;
    i += n;
  }
  return s.size();
}

bool valid_utf8(std::string_view s) noexcept {
  return utf8_error_offset(s) == s.size();
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto n = sequence_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

std::string escape_for_log(std::string_view s, std::size_t max_bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() < max_bytes ? s.size() : max_bytes);
  for (char ch : s) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    auto c = static_cast<uint8_t>(ch);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

} // namespace millrace::api::http
