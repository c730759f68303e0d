// The node process behind millrace::expr::evaluator: started with
// posix_spawn (sandbox/detail/spawn.hpp, never fork) running the embedded
// evaluator.js, with a heap limit, a clean environment and no descriptors but
// its three standard streams. Used only on the evaluator's own thread.

#pragma once

#include <sys/types.h>

#include <string>

#include "runtime/expr/evaluator.hpp"
#include "sandbox/detail/unique_fd.hpp"

namespace millrace::expr::detail {

struct node_process {
  pid_t pid = -1;
  /// Our end of its stdin: a non-blocking stream socket (written with
  /// MSG_NOSIGNAL, so a dead node means EPIPE, never SIGPIPE).
  sandbox::detail::unique_fd in;
  /// Read ends of its stdout and stderr, non-blocking.
  sandbox::detail::unique_fd out;
  sandbox::detail::unique_fd err;

  bool running() const {
    return pid > 0;
  }
};

/// The absolute path of `program` (looked up in PATH unless it holds a '/'),
/// or "" when there is no such executable.
std::string find_program(const std::string& program);

/// Starts node with the evaluator. False with `error` set (naming the program
/// when it cannot be found or started).
bool start_node(const evaluator_config& cfg, node_process& proc, std::string& error);

/// SIGKILLs the process (harmless when it has already exited: it is not
/// reaped yet), reaps it, closes the descriptors and says how it ended:
/// "exited with status 1", "was killed by signal 6 (Aborted)". `err_tail`
/// receives what was left in its stderr.
std::string stop_node(node_process& proc, std::string& err_tail);

} // namespace millrace::expr::detail
