#include "runtime/detail/verdicts.hpp"

#include <functional>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace millrace::runtime::detail {

namespace {

// Replaces invalid UTF-8 with U+FFFD so the text is valid JSON.
std::string valid_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; ok && k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && n > 1)
      ok = !((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
             || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
    if (ok && c != 0) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

} // namespace

std::string json_string(const std::string& s) {
  auto clean = valid_utf8(s);
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  w.String(clean.c_str(), static_cast<rapidjson::SizeType>(clean.size()));
  return sb.GetString();
}

std::string without_nul(const std::string& json) {
  // "\u0000" in the text is a NUL unless its backslash is itself escaped;
  // parse and re-serialise only when the sequence occurs at all.
  if (json.find("\\u0000") == std::string::npos)
    return json;
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  if (d.HasParseError())
    return json;
  std::function<void(rapidjson::Value&)> fix = [&](rapidjson::Value& v) {
    if (v.IsString()) {
      std::string s(v.GetString(), v.GetStringLength());
      if (s.find('\0') == std::string::npos)
        return;
      std::string out;
      for (char c : s)
        out += c == '\0' ? std::string("\xEF\xBF\xBD") : std::string(1, c);
      v.SetString(out.c_str(), static_cast<rapidjson::SizeType>(out.size()), d.GetAllocator());
    } else if (v.IsArray()) {
      for (auto& e : v.GetArray())
        fix(e);
    } else if (v.IsObject()) {
      for (auto& m : v.GetObject()) {
        fix(m.value);
        std::string k(m.name.GetString(), m.name.GetStringLength());
        if (k.find('\0') != std::string::npos) {
          std::string out;
          for (char c : k)
            out += c == '\0' ? std::string("\xEF\xBF\xBD") : std::string(1, c);
          m.name.SetString(out.c_str(), static_cast<rapidjson::SizeType>(out.size()),
                           d.GetAllocator());
        }
      }
    }
  };
  fix(d);
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  d.Accept(w);
  return sb.GetString();
}

std::string json_or_string(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  if (!d.HasParseError() && !text.empty())
    return without_nul(text);
  return json_string(text);
}

std::string error_object(const std::string& name, const std::string& message,
                         const std::string& extra_key, const std::string& extra_json) {
  std::string out = "{\"name\":" + json_string(name) + ",\"message\":" + json_string(message);
  if (!extra_key.empty())
    out += "," + json_string(extra_key) + ":" + extra_json;
  return out + "}";
}

std::optional<verdict> process_failure(const sandbox::exit_info& exit, const captured_output& out,
                                       bool exit_code_is_failure) {
  auto stderr_field = json_string(out.stderr_tail);
  if (!exit.sandbox_error.empty())
    return verdict{"failure", error_object("SandboxError", exit.sandbox_error)};
  if (exit.out_of_memory)
    return verdict{"failure",
                   error_object("OutOfMemory",
                                "the job was killed because it used more memory than its limit",
                                "stderr", stderr_field)};
  if (exit.signal != 0) {
    std::string msg = "killed by signal " + std::to_string(exit.signal);
    if (exit.pids_limit_hit)
      msg += " (it also hit its process limit)";
    return verdict{"failure", error_object("Killed", msg, "stderr", stderr_field)};
  }
  if (exit_code_is_failure && exit.exit_code != 0) {
    std::string msg = "exit code " + std::to_string(exit.exit_code);
    if (exit.pids_limit_hit)
      msg += " (it hit its process limit)";
    auto obj = error_object("ExitCode", msg, "exit_code", std::to_string(exit.exit_code));
    obj.pop_back();
    obj += ",\"stderr\":" + stderr_field + "}";
    return verdict{"failure", obj};
  }
  return std::nullopt;
}

} // namespace millrace::runtime::detail
