// Helpers of the system tests (tests/system/): Millrace run as separate
// processes against a scratch database, judged through SQL and their logs.

#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "storage/values.hpp"
#include "tests/support/child_process.hpp"

namespace millrace::test {

/// The first column of the first row of `sql` ("" when none or NULL).
std::string scalar(const std::string& conninfo, const std::string& sql,
                   const std::vector<storage::sql_value>& params = {});

/// Polls `probe` every 50 ms until it returns true or `limit` passes.
template <class F>
bool eventually(F probe, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (probe())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return probe();
}

/// The port a process logged after `marker` ("... listening on 127.0.0.1:N").
uint16_t logged_port(const child_process& p, const std::string& marker);

/// A TCP port that was free a moment ago (for a process that must be given
/// its port before it starts).
uint16_t free_port();

/// How often `needle` occurs in `text`.
size_t count_of(const std::string& text, const std::string& needle);

/// `s` as a JSON string literal.
std::string json_string(const std::string& s);

} // namespace millrace::test
