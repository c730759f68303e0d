#include "storage/statements.hpp"

#include <sstream>
#include <stdexcept>

namespace millrace::storage {

namespace {

int max_param(const std::string& sql) {
  int best = 0;
  for (size_t i = 0; i + 1 < sql.size(); ++i) {
    if (sql[i] != '$' || !isdigit(static_cast<unsigned char>(sql[i + 1])))
      continue;
    int n = 0;
    size_t j = i + 1;
    while (j < sql.size() && isdigit(static_cast<unsigned char>(sql[j])))
      n = n * 10 + (sql[j++] - '0');
    best = std::max(best, n);
  }
  return best;
}

std::string strip(const std::string& s);

// "-- name: value" (also mode, idempotent) -> key, value.
bool parse_header(const std::string& line, std::string& key, std::string& val) {
  if (line.compare(0, 2, "--") != 0)
    return false;
  auto rest = strip(line.substr(2));
  for (const char* k : {"name", "mode", "idempotent", "match", "careful"}) {
    std::string prefix = std::string(k) + ":";
    if (rest.compare(0, prefix.size(), prefix) == 0) {
      val = strip(rest.substr(prefix.size()));
      if (val.empty() || val.find_first_of(" \t") != std::string::npos)
        return false;
      key = k;
      return true;
    }
  }
  return false;
}

std::string strip(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

} // namespace

statement_registry::statement_registry(const std::vector<embedded_file>& files) {
  for (auto& f : files) {
    std::istringstream in{f.text};
    std::string line;
    statement_def cur;
    bool have = false;
    bool in_header = false;
    auto flush = [&] {
      if (!have)
        return;
      cur.sql = strip(cur.sql);
      if (cur.sql.empty())
        throw std::invalid_argument(f.name + std::string(": statement '") + cur.name
                                    + "' has no SQL");
      cur.param_count = max_param(cur.sql);
      if (index_.count(cur.name))
        throw std::invalid_argument(f.name + std::string(": duplicate statement name '")
                                    + cur.name + "'");
      index_.emplace(cur.name, defs_.size());
      defs_.push_back(std::move(cur));
      cur = statement_def{};
      have = false;
    };
    while (std::getline(in, line)) {
      std::string key, val;
      if (parse_header(line, key, val)) {
        if (key == "name") {
          flush();
          cur.name = val;
          cur.file = f.name;
          have = true;
          in_header = true;
        } else if (!have || !in_header) {
          throw std::invalid_argument(f.name + std::string(": '-- ") + key
                                      + ":' outside a statement header");
        } else if (key == "mode") {
          if (val == "bulk")
            cur.mode = statement_mode::bulk;
          else if (val == "single")
            cur.mode = statement_mode::single;
          else
            throw std::invalid_argument(f.name + std::string(": statement '") + cur.name
                                        + "': mode must be bulk or single, got '" + val + "'");
        } else if (key == "careful") {
          cur.careful_name = val;
        } else if (key == "match") {
          if (val == "ordinality")
            cur.match = row_match::ordinality;
          else if (val == "key")
            cur.match = row_match::key;
          else
            throw std::invalid_argument(f.name + std::string(": statement '") + cur.name
                                        + "': match must be ordinality or key, got '" + val
                                        + "'");
        } else { // idempotent
          if (val != "yes" && val != "no")
            throw std::invalid_argument(f.name + std::string(": statement '") + cur.name
                                        + "': idempotent must be yes or no, got '" + val
                                        + "'");
          cur.idempotent = val == "yes";
        }
        continue;
      }
      if (!have)
        continue; // comments before the first statement
      auto s = strip(line);
      if (in_header && s.rfind("--", 0) == 0)
        continue; // other header comments: documentation
      in_header = false;
      cur.sql += line;
      cur.sql += '\n';
    }
    flush();
  }
  for (auto& def : defs_) {
    if (def.careful_name.empty())
      continue;
    auto i = index_.find(def.careful_name);
    if (i == index_.end())
      throw std::invalid_argument(def.file + ": statement '" + def.name + "' names careful twin '"
                                  + def.careful_name + "', which does not exist");
    auto& twin = defs_[i->second];
    if (twin.param_count != def.param_count || twin.mode != def.mode || twin.match != def.match)
      throw std::invalid_argument(def.file + ": statement '" + def.name + "' and its careful twin '"
                                  + twin.name + "' differ in parameters, mode or row matching");
    def.careful = &twin;
    def.idempotent = true;
  }
}

const statement_registry& statement_registry::builtin() {
  static const statement_registry instance{statement_files()};
  return instance;
}

const statement_def* statement_registry::find(const std::string& name) const {
  auto i = index_.find(name);
  return i == index_.end() ? nullptr : &defs_[i->second];
}

} // namespace millrace::storage
