// What a worker slot keeps of a job's output. Runs on the sandbox reactor
// thread, where the bytes arrive: it forwards at most `log_max` bytes to the
// slot (and so to the log), and keeps the little the verdict needs (the last
// stdout line, the end of stderr, the result channel up to `result_max`).
// So a job printing gigabytes costs the server a bounded amount of memory.

#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "runtime/runtime.hpp"
#include "sandbox/launcher.hpp"

namespace millrace::actors {

class output_tap {
public:
  output_tap(size_t log_max, size_t result_max) : log_max_(log_max), result_max_(result_max) {}

  /// Accounts `bytes` and returns what goes to the log (maybe nothing).
  std::string on_output(sandbox::stream s, std::string_view bytes);

  runtime::captured_output captured() const;

  /// Log bytes not forwarded because of the cap.
  uint64_t dropped() const;

private:
  mutable std::mutex mu_;
  size_t log_max_;
  size_t result_max_;
  size_t logged_ = 0;
  uint64_t dropped_ = 0;
  std::string current_line_; // stdout since its last newline (bounded)
  std::string last_line_;    // the last complete non-empty stdout line
  std::string stderr_tail_;
  std::string result_;
  bool result_too_large_ = false;
};

/// `text` with invalid UTF-8 and NUL bytes replaced by U+FFFD: PostgreSQL
/// text columns accept neither.
std::string sanitize_log_text(std::string_view text);

} // namespace millrace::actors
