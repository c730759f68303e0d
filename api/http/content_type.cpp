#include "api/http/content_type.hpp"

#include <cctype>

namespace millrace::api::http {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i]))
        != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

} // namespace

bool is_json_content_type(std::string_view value) noexcept {
  auto semi = value.find(';');
  if (!iequals(trim(value.substr(0, semi)), "application/json"))
    return false;
  while (semi != std::string_view::npos) {
    value.remove_prefix(semi + 1);
    semi = value.find(';');
    auto param = trim(value.substr(0, semi));
    if (param.empty())
      continue;
    auto eq = param.find('=');
    if (eq == std::string_view::npos)
      return false;
    auto name = trim(param.substr(0, eq));
    auto v = trim(param.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
      v = v.substr(1, v.size() - 2);
    if (iequals(name, "charset") && !iequals(v, "utf-8") && !iequals(v, "utf8"))
      return false;
  }
  return true;
}

bool method_needs_json_body(std::string_view method) noexcept {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

std::optional<api_error> check_json_content_type(std::string_view method, bool has_body,
                                                 const std::string* content_type) {
  if (!has_body || !method_needs_json_body(method))
    return std::nullopt;
  if (content_type != nullptr && is_json_content_type(*content_type))
    return std::nullopt;
  return make_error(errc::unsupported_media_type,
                    content_type ? "request body must be application/json"
                                 : "request body needs Content-Type: application/json");
}

std::optional<api_error> check_json_content_type(const request& req) {
  return check_json_content_type(req.method, !req.body.empty(), req.header("content-type"));
}

} // namespace millrace::api::http
