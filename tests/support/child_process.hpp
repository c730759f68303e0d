// Runs the millrace binary (or any program) as a child process for black-box
// tests: output captured to files, signals, bounded waits.

#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace millrace::test {

class child_process {
public:
  /// Starts `argv` with `env` added to the environment; stdout and stderr go
  /// to temporary files.
  child_process(std::vector<std::string> argv, std::vector<std::string> env = {});
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig);

  /// Waits for the exit; returns the exit code (128+n for signal n), or -1
  /// on timeout.
  int wait(std::chrono::milliseconds limit);

  /// Polls the captured stderr until it contains `text`; false on timeout or
  /// when the process exits first.
  bool wait_for_stderr(const std::string& text, std::chrono::milliseconds limit);

  std::string out() const;
  std::string err() const;

private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool exited_ = false;
  std::string out_path_;
  std::string err_path_;
};

/// Runs to completion and returns {exit code, stdout, stderr}.
struct run_result {
  int code;
  std::string out;
  std::string err;
};
run_result run_command(std::vector<std::string> argv, std::vector<std::string> env = {},
                       std::chrono::milliseconds limit = std::chrono::seconds{60});

} // namespace millrace::test
