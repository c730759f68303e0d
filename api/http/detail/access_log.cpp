#include "api/http/detail/access_log.hpp"

#include <cctype>

#include "api/http/utf8.hpp"

namespace millrace::api::http::detail {

namespace {

bool contains_token(std::string_view query) {
  std::string lower;
  lower.reserve(query.size());
  for (char c : query)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Also catches "token%3d" style obfuscation after a naive decode.
  return lower.find("token") != std::string::npos;
}

} // namespace

std::string loggable_target(std::string_view raw_target) {
  auto q = raw_target.find('?');
  if (q == std::string_view::npos)
    return escape_for_log(raw_target);
  auto query = raw_target.substr(q + 1);
  if (contains_token(query))
    return escape_for_log(raw_target.substr(0, q)) + "?<redacted>";
  return escape_for_log(raw_target);
}

std::string_view method_label(std::string_view m) noexcept {
  static constexpr std::string_view known[] = {"GET",     "HEAD",    "POST",  "PUT",
                                               "DELETE",  "PATCH",   "OPTIONS",
                                               "CONNECT", "TRACE"};
  for (auto k : known)
    if (m == k)
      return k;
  return "OTHER";
}

} // namespace millrace::api::http::detail
