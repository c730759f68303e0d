#include "sandbox/detail/exit_report.hpp"

#include <sys/wait.h>

#include <string>

namespace millrace::sandbox::detail {

namespace {

/// The line bwrap or the helper wrote, else the first line of stderr.
std::string_view failure_line(std::string_view head) {
  std::string_view first;
  for (size_t start = 0; start < head.size();) {
    size_t end = head.find('\n', start);
    auto line = head.substr(start, end == head.npos ? head.npos : end - start);
    if (first.empty())
      first = line;
    if (line.rfind("bwrap:", 0) == 0 || line.rfind("millrace-sandbox-exec:", 0) == 0)
      return line;
    if (end == head.npos)
      break;
    start = end + 1;
  }
  return first;
}

std::string startup_failure(const exit_facts& f) {
  std::string why;
  if (!f.init_known && WIFEXITED(f.wait_status) && WEXITSTATUS(f.wait_status) == 127)
    why = "the exec helper failed";
  else if (!f.init_known)
    why = "bwrap failed before creating the sandbox";
  else
    why = "bwrap could not set up the sandbox or execute the program";
  if (WIFSIGNALED(f.wait_status))
    why += " (killed by signal " + std::to_string(WTERMSIG(f.wait_status)) + ")";
  else
    why += " (exit status " + std::to_string(WEXITSTATUS(f.wait_status)) + ")";
  if (auto line = failure_line(f.stderr_head); !line.empty())
    why += ": " + std::string{line};
  return why;
}

} // namespace

exit_info describe_exit(const exit_facts& f) {
  exit_info info;
  info.terminated = f.terminated;
  info.killed = f.killed;
  info.wall = f.wall;
  auto decode = [&info](int code) {
    if (code > 128 && code <= 128 + 64)
      info.signal = code - 128;
    else
      info.exit_code = code;
  };
  if (f.status_lost)
    info.sandbox_error = "the exit status was lost: another part of the process reaped the sandbox";
  else if (f.json_exit)
    decode(*f.json_exit);
  else if (WIFSIGNALED(f.wait_status))
    info.signal = WTERMSIG(f.wait_status);
  else
    decode(WEXITSTATUS(f.wait_status));
  if (!f.json_exit && !f.status_lost && !f.terminated && !f.killed)
    info.sandbox_error = startup_failure(f);
  else if (!f.stub_error.empty() && !f.status_lost) {
    auto line = f.stub_error.substr(0, f.stub_error.find('\n'));
    info.sandbox_error = "the sandbox could not start the program: " + std::string{line};
  }
  if (f.shutdown)
    info.sandbox_error = "the launcher shut down while the job was running";
  if (!f.internal_error.empty())
    info.sandbox_error = std::string{f.internal_error};

  info.out_of_memory = f.usage.out_of_memory;
  info.pids_limit_hit = f.usage.pids_limit_hit;
  // Without cgroups nothing measures the job (see describe_exit's notes).
  info.cpu_seconds = f.usage.cpu_seconds.value_or(0.0);
  info.max_memory_bytes = f.usage.max_memory_bytes;
  return info;
}

} // namespace millrace::sandbox::detail
