#include "runtime/bash/bash_runtime.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/detail/verdicts.hpp"

namespace millrace::runtime {

namespace {

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool ident_char(char c) {
  return ident_start(c) || (c >= '0' && c <= '9');
}

// Parses the right-hand side of `name=...`: "$1", $1, "${1}", "${1:-default}".
bool parse_positional(const std::string& rhs, int& pos, bool& has_default, std::string& def) {
  std::string v = rhs;
  // Drop a trailing comment and whitespace.
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r'))
    v.pop_back();
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
    v = v.substr(1, v.size() - 2);
  if (v.empty() || v[0] != '$')
    return false;
  size_t i = 1;
  bool braced = i < v.size() && v[i] == '{';
  if (braced)
    ++i;
  size_t start = i;
  while (i < v.size() && isdigit(static_cast<unsigned char>(v[i])))
    ++i;
  if (i == start)
    return false;
  pos = std::stoi(v.substr(start, i - start));
  if (pos < 1)
    return false;
  has_default = false;
  if (!braced)
    return i == v.size();
  if (i < v.size() && v.compare(i, 2, ":-") == 0) {
    auto close = v.rfind('}');
    if (close == std::string::npos || close < i + 2)
      return false;
    has_default = true;
    def = v.substr(i + 2, close - i - 2);
    return close == v.size() - 1;
  }
  return i < v.size() && v[i] == '}' && i == v.size() - 1;
}

} // namespace

std::vector<bash_parameter> bash_parameters(const std::string& code) {
  std::map<int, bash_parameter> by_pos;
  std::istringstream in{code};
  std::string line;
  while (std::getline(in, line)) {
    size_t i = line.find_first_not_of(" \t");
    if (i == std::string::npos || line[i] == '#')
      continue;
    for (const char* kw : {"local ", "export ", "declare ", "readonly "})
      if (line.compare(i, std::char_traits<char>::length(kw), kw) == 0)
        i = line.find_first_not_of(" \t", i + std::char_traits<char>::length(kw));
    if (i == std::string::npos || !ident_start(line[i]))
      continue;
    size_t j = i;
    while (j < line.size() && ident_char(line[j]))
      ++j;
    if (j >= line.size() || line[j] != '=')
      continue;
    bash_parameter p;
    p.name = line.substr(i, j - i);
    if (!parse_positional(line.substr(j + 1), p.position, p.has_default, p.default_value))
      continue;
    by_pos.emplace(p.position, std::move(p)); // the first declaration of a position wins
  }
  std::vector<bash_parameter> out;
  for (auto& [pos, p] : by_pos)
    out.push_back(std::move(p));
  return out;
}

const language& bash_runtime::lang() const {
  return *find_language("bash");
}

sandbox::launch_plan bash_runtime::plan(const job_input& in) const {
  rapidjson::Document args;
  args.Parse(in.args.c_str(), in.args.size());
  if (args.HasParseError() || !args.IsObject())
    throw std::invalid_argument("args: must be a JSON object");
  sandbox::launch_plan p;
  p.argv = {"/bin/bash", "/job/main.sh"};
  // Positional parameters in the order the script declares them; a gap
  // ($1 and $3 declared) is filled with an empty argument.
  int next = 1;
  for (auto& param : bash_parameters(in.code)) {
    for (; next < param.position; ++next)
      p.argv.emplace_back();
    ++next;
    auto it = args.FindMember(param.name.c_str());
    if (it == args.MemberEnd() || it->value.IsNull()) {
      p.argv.emplace_back(); // "${1:-default}" in the script supplies the default
    } else if (it->value.IsString()) {
      p.argv.emplace_back(it->value.GetString(), it->value.GetStringLength());
    } else {
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w{sb};
      it->value.Accept(w);
      p.argv.emplace_back(sb.GetString(), sb.GetSize());
    }
  }
  p.files.push_back({"/job/main.sh", in.code, true});
  p.env = in.env;
  p.network = in.network;
  return p;
}

verdict bash_runtime::judge(const sandbox::exit_info& exit, const captured_output& out) const {
  if (auto v = detail::process_failure(exit, out))
    return *v;
  return verdict{"success", detail::json_or_string(out.last_stdout_line)};
}

std::string bash_runtime::infer_schema(const std::string& code) const {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  auto params = bash_parameters(code);
  w.StartObject();
  w.Key("$schema");
  w.String("https://json-schema.org/draft/2020-12/schema");
  w.Key("type");
  w.String("object");
  w.Key("properties");
  w.StartObject();
  for (auto& p : params) {
    w.Key(p.name.c_str());
    w.StartObject();
    w.Key("type");
    w.String("string");
    w.Key("description");
    w.String("");
    if (p.has_default) {
      w.Key("default");
      w.String(p.default_value.c_str());
    }
    w.EndObject();
  }
  w.EndObject();
  w.Key("required");
  w.StartArray();
  for (auto& p : params)
    if (!p.has_default)
      w.String(p.name.c_str());
  w.EndArray();
  w.Key("order");
  w.StartArray();
  for (auto& p : params)
    w.String(p.name.c_str());
  w.EndArray();
  w.EndObject();
  return sb.GetString();
}

} // namespace millrace::runtime
