#include "runtime/expr/protocol.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "runtime/expr/evaluator.hpp"

namespace millrace::expr {

namespace {
constexpr size_t max_expr_in_error = 200;
constexpr size_t max_quoted = 300;

std::string shorten(const std::string& s, size_t limit) {
  if (s.size() <= limit)
    return s;
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut; // not inside a UTF-8 sequence
  return s.substr(0, cut) + "...";
}
} // namespace

std::string format_error(const std::string& message, const std::string& expr) {
  return "expression error: " + message + " in `" + shorten(expr, max_expr_in_error) + "`";
}

namespace detail {

bool one_line_scope(const std::string& in, std::string& out, std::string& error) {
  size_t first = in.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    out = "{}";
    return true;
  }
  // MemoryStream reads a NUL byte as the end of the input.
  if (in.find('\0') != std::string::npos) {
    error = "the scope is not valid JSON (it contains a NUL byte)";
    return false;
  }
  rapidjson::MemoryStream ms(in.data(), in.size());
  rapidjson::BaseReaderHandler<> validate_only;
  rapidjson::Reader reader;
  if (!reader.Parse(ms, validate_only)) {
    error = std::string("the scope is not valid JSON: ") +
            rapidjson::GetParseError_En(reader.GetParseErrorCode()) + " (offset " +
            std::to_string(reader.GetErrorOffset()) + ")";
    return false;
  }
  if (in[first] != '{') {
    error = "the scope must be a JSON object";
    return false;
  }
  // A line break is whitespace in JSON, never part of a string.
  out = in;
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return true;
}

std::string request_line(uint64_t id, const std::string& expr, const std::string& scope,
                         long long timeout_ms) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(expr.data(), static_cast<rapidjson::SizeType>(expr.size()));
  std::string line;
  line.reserve(buf.GetSize() + scope.size() + 64);
  line += "{\"id\":" + std::to_string(id) + ",\"expr\":";
  line.append(buf.GetString(), buf.GetSize());
  line += ",\"scope\":";
  line += scope;
  line += ",\"timeout_ms\":" + std::to_string(timeout_ms) + "}\n";
  return line;
}

reply parse_reply(const std::string& line) {
  reply r;
  auto malformed = [&](const char* what) {
    r.what = reply::kind::malformed;
    r.error = std::string(what) + ": " + shorten(line, max_quoted);
    return r;
  };
  rapidjson::Document d;
  d.Parse(line.c_str(), line.size());
  if (d.HasParseError() || !d.IsObject())
    return malformed("not a JSON object");
  if (d.HasMember("ready")) {
    r.what = reply::kind::ready;
    return r;
  }
  auto id = d.FindMember("id");
  auto ok = d.FindMember("ok");
  if (id == d.MemberEnd() || !id->value.IsUint64() || ok == d.MemberEnd() || !ok->value.IsBool())
    return malformed("no id or ok");
  r.what = reply::kind::answer;
  r.id = id->value.GetUint64();
  r.ok = ok->value.GetBool();
  if (r.ok) {
    auto v = d.FindMember("value");
    if (v == d.MemberEnd())
      return malformed("no value");
    // evaluator.js writes the value's JSON text verbatim after this prefix:
    // keep it as node wrote it rather than re-serializing.
    std::string prefix = "{\"id\":" + std::to_string(r.id) + ",\"ok\":true,\"value\":";
    if (line.compare(0, prefix.size(), prefix) == 0 && line.back() == '}') {
      r.value_json = line.substr(prefix.size(), line.size() - prefix.size() - 1);
    } else {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      v->value.Accept(w);
      r.value_json.assign(buf.GetString(), buf.GetSize());
    }
  } else {
    auto e = d.FindMember("error");
    r.error = e != d.MemberEnd() && e->value.IsString()
                ? std::string(e->value.GetString(), e->value.GetStringLength())
                : "unknown error";
  }
  return r;
}

std::string stderr_summary(const std::string& err) {
  std::string best, last;
  size_t start = 0;
  while (start < err.size()) {
    size_t end = err.find('\n', start);
    if (end == std::string::npos)
      end = err.size();
    std::string line = err.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      last = line;
      if (best.empty() && line.find("FATAL ERROR") != std::string::npos)
        best = line;
    }
    start = end + 1;
  }
  return shorten(best.empty() ? last : best, max_quoted);
}

} // namespace detail
} // namespace millrace::expr
