#include "api/http/uri.hpp"

#include <cstring>

#include "api/http/utf8.hpp"

namespace millrace::api::http {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool has_nul(std::string_view s) noexcept {
  return std::memchr(s.data(), 0, s.size()) != nullptr;
}

/// Checks one decoded text (a path or a query key/value).
std::optional<std::string> text_problem(std::string_view s) {
  if (has_nul(s))
    return "contains NUL";
  if (!valid_utf8(s))
    return "is not valid UTF-8";
  return std::nullopt;
}

std::optional<api_error> decode_path(std::string_view raw, decoded_target& out) {
  if (raw.empty() || raw.front() != '/')
    return make_error(errc::invalid_path, "path must start with '/'");
  out.path.clear();
  out.segments.clear();
  out.path.reserve(raw.size());
  if (!percent_decode(raw, out.path, false))
    return make_error(errc::invalid_path, "path has a malformed percent-escape");
  if (auto p = text_problem(out.path))
    return make_error(errc::invalid_path, "path " + *p);
  // Dot segments, including those that only appear after decoding.
  std::string_view decoded{out.path};
  for (std::size_t pos = 1; pos <= decoded.size();) {
    auto end = decoded.find('/', pos);
    if (end == std::string_view::npos)
      end = decoded.size();
    auto seg = decoded.substr(pos, end - pos);
    if (seg == "." || seg == "..")
      return make_error(errc::invalid_path, "path has a '.' or '..' segment");
    pos = end + 1;
  }
  // Segments split on raw '/', decoded one by one.
  for (std::size_t pos = 1; pos <= raw.size();) {
    auto end = raw.find('/', pos);
    if (end == std::string_view::npos)
      end = raw.size();
    auto& seg = out.segments.emplace_back();
    percent_decode(raw.substr(pos, end - pos), seg, false); // validated above
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<api_error> decode_query(std::string_view raw, decoded_target& out) {
  out.query.clear();
  out.raw_query.assign(raw.data(), raw.size());
  std::size_t pos = 0;
  while (pos < raw.size()) {
    auto end = raw.find('&', pos);
    if (end == std::string_view::npos)
      end = raw.size();
    auto piece = raw.substr(pos, end - pos);
    pos = end + 1;
    if (piece.empty())
      continue;
    auto eq = piece.find('=');
    std::string key, value;
    bool ok = percent_decode(piece.substr(0, eq), key, true);
    if (eq != std::string_view::npos)
      ok = ok && percent_decode(piece.substr(eq + 1), value, true);
    if (!ok)
      return make_error(errc::bad_request, "query string has a malformed percent-escape");
    if (auto p = text_problem(key); p || (p = text_problem(value)))
      return make_error(errc::bad_request, "query parameter " + *p);
    out.query.emplace_back(std::move(key), std::move(value));
  }
  return std::nullopt;
}

} // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_as_space) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size())
        return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      out += static_cast<char>((hi << 4) | lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

std::optional<api_error> decode_target(std::string_view target, decoded_target& out) {
  if (target.find('#') != std::string_view::npos)
    return make_error(errc::bad_request, "request target must not contain a fragment");
  auto q = target.find('?');
  auto raw_path = target.substr(0, q);
  if (auto e = decode_path(raw_path, out))
    return e;
  if (q != std::string_view::npos)
    return decode_query(target.substr(q + 1), out);
  out.query.clear();
  out.raw_query.clear();
  return std::nullopt;
}

} // namespace millrace::api::http
