// The line protocol between millrace::expr::evaluator and evaluator.js
// (runtime/expr/README.md): request lines out, reply lines in.

#pragma once

#include <cstdint>
#include <string>

namespace millrace::expr::detail {

/// Checks that `in` is one JSON object (blank means {}) and returns it on a
/// single line in `out`. False with `error` set otherwise.
bool one_line_scope(const std::string& in, std::string& out, std::string& error);

/// {"id":N,"expr":"...","scope":{...},"timeout_ms":M} and a line break.
std::string request_line(uint64_t id, const std::string& expr, const std::string& scope,
                         long long timeout_ms);

struct reply {
  enum class kind { ready, answer, malformed };
  kind what = kind::malformed;
  uint64_t id = 0;
  bool ok = false;
  std::string value_json; // ok
  std::string error;      // !ok: node's message; malformed: what is wrong
};

/// Parses one line of node's stdout (without the line break).
reply parse_reply(const std::string& line);

/// The line of node's stderr worth quoting: V8's fatal error if there is
/// one, else the last non-empty line (shortened).
std::string stderr_summary(const std::string& err);

} // namespace millrace::expr::detail
