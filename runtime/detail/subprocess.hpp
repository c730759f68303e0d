// Runs a short helper process (schema inference) to completion: stdin from a
// string, stdout and stderr captured, a time limit. Blocking: never call it on
// an actor scheduler thread.

#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace millrace::runtime::detail {

struct subprocess_result {
  int exit_code = -1; // -1: killed (time limit) or failed to start
  std::string out;
  std::string err;
};

subprocess_result run_subprocess(const std::vector<std::string>& argv, const std::string& input,
                                 std::chrono::milliseconds limit);

} // namespace millrace::runtime::detail
