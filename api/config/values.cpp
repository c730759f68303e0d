// The value parsers of options.hpp (parse_int, parse_size, ...): each turns
// one setting's text into its value or throws config_error naming the key.

#include <cstdlib>
#include <sstream>

#include "api/config/options.hpp"

namespace millrace::api {

int parse_int(const std::string& key, const std::string& text, int min, int max) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used == text.size() && v >= min && v <= max)
      return static_cast<int>(v);
  } catch (...) {
    // fall through to the error below
  }
  throw config_error(key + ": expected an integer from " + std::to_string(min) + " to "
                     + std::to_string(max) + ", got '" + text + "'");
}

uint64_t parse_size(const std::string& key, const std::string& text) {
  size_t i = 0;
  while (i < text.size() && isdigit(static_cast<unsigned char>(text[i])))
    ++i;
  auto unit = text.substr(i);
  uint64_t mult = unit.empty() ? 1
                  : unit == "K" ? 1ull << 10
                  : unit == "M" ? 1ull << 20
                  : unit == "G" ? 1ull << 30
                                : 0;
  if (i == 0 || i > 12 || mult == 0)
    throw config_error(key + ": expected a size such as 4096, 64K, 512M or 2G, got '" + text + "'");
  return std::stoull(text.substr(0, i)) * mult;
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true" || text == "yes" || text == "on")
    return true;
  if (text == "false" || text == "no" || text == "off")
    return false;
  throw config_error(key + ": expected true or false, got '" + text + "'");
}

std::vector<std::string> parse_list(const std::string& key, const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    auto b = cur.find_first_not_of(' ');
    auto e = cur.find_last_not_of(' ');
    if (b != std::string::npos)
      out.push_back(cur.substr(b, e - b + 1));
    else if (!cur.empty() || !out.empty())
      throw config_error(key + ": an empty item in '" + text + "'");
    cur.clear();
  };
  for (char c : text) {
    if (c == ',')
      flush();
    else
      cur += c;
  }
  if (!text.empty())
    flush();
  return out;
}

std::chrono::milliseconds parse_duration(const std::string& key, const std::string& text) {
  size_t i = 0;
  while (i < text.size() && isdigit(static_cast<unsigned char>(text[i])))
    ++i;
  auto fail = [&]() -> std::chrono::milliseconds {
    throw config_error(key + ": expected a duration such as 500ms, 10s, 2m or 1h, got '" + text
                       + "'");
  };
  if (i == 0 || i > 9)
    return fail();
  long long n = std::stoll(text.substr(0, i));
  auto unit = text.substr(i);
  if (unit == "ms")
    return std::chrono::milliseconds{n};
  if (unit == "s")
    return std::chrono::seconds{n};
  if (unit == "m")
    return std::chrono::minutes{n};
  if (unit == "h")
    return std::chrono::hours{n};
  return fail();
}

std::string parse_choice(const std::string& key, const std::string& text,
                         const std::vector<std::string>& choices) {
  for (auto& c : choices)
    if (c == text)
      return text;
  std::string list;
  for (auto& c : choices)
    list += (list.empty() ? "" : ", ") + c;
  throw config_error(key + ": expected one of " + list + ", got '" + text + "'");
}

} // namespace millrace::api
