// How the facts gathered about a finished job become its exit_info: the
// wait status of bwrap's outer process, bwrap's own report of the job's
// status, what the launcher did to it, and what the cgroups recorded.
// A pure function, so every rule can be tested without a process.

#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "sandbox/detail/cgroup.hpp"
#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

struct exit_facts {
  /// waitpid could not get the status (someone else reaped the process).
  bool status_lost = false;
  /// Wait status of bwrap's outer process (the exec helper's pid).
  int wait_status = 0;
  /// "exit-code" from bwrap's --json-status-fd: present only when the job's
  /// program ran; bash style, 128+n for death by signal n.
  std::optional<int> json_exit;
  /// bwrap reported the init's pid (it got as far as creating the sandbox).
  bool init_known = false;
  bool terminated = false;
  bool killed = false;
  /// Killed because the launcher shut down.
  bool shutdown = false;
  /// The launcher itself failed the job (could not watch it, ...).
  std::string_view internal_error;
  cgroup_usage usage;
  /// The first bytes of stderr, where bwrap and the helper say what failed.
  std::string_view stderr_head;
  /// A standby stub's report that it could not start the program (the
  /// program never ran; bwrap's exit code is then the stub's 127).
  std::string_view stub_error;
  std::chrono::microseconds wall{0};
};

/// The rules:
/// - The job's status comes from bwrap's report when there is one, else from
///   the outer process's wait status (signalled: we SIGKILLed bwrap itself).
/// - A status of 129..192 is death by signal status-128, as bwrap, bash and
///   the kernel's OOM killer produce it. A job that calls exit(137) itself
///   is therefore reported as signal 9: bwrap does not tell the two apart.
/// - No report from bwrap and no kill by us: the sandbox failed
///   (helper, bwrap setup, or exec of the program) and sandbox_error says
///   which, quoting the line bwrap or the helper printed. In a standby
///   sandbox bwrap reports the stub's exit; a stub error (it could not write
///   the files or execute the program) is a sandbox failure too.
/// - CPU and peak memory come from the job's cgroups (cpuacct, memory); 0
///   when there are none. wait4's rusage of bwrap's outer process would only
///   describe bwrap: the outer process learns the job's status from its init
///   through an eventfd and exits without reaping the init.
exit_info describe_exit(const exit_facts& facts);

} // namespace millrace::sandbox::detail
