// The bubblewrap (0.8.0) command line for one job: namespaces, a minimal
// read-only root, the job folder as a size-limited tmpfs, the environment and
// the job files. Options travel through `--args FD` (a sealed memfd), so the
// job's environment (often secrets) never shows in the host's
// /proc/<pid>/cmdline; only "bwrap --args 5 -- <job argv>" does.

#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

/// Who the job runs as (inside and outside the sandbox: bwrap maps the uid to
/// itself).
struct sandbox_identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
  std::string group;
};

/// Descriptor numbers, as seen by bwrap, of what it reads or writes.
struct bwrap_fds {
  /// --json-status-fd: {"child-pid": N} at start, {"exit-code": N} when the
  /// job's main process ended (missing when setup or exec failed).
  int status = -1;
  /// plan.files[i] is read from first_file + i.
  int first_file = -1;
  /// The exec helper already put bwrap in a network namespace of the
  /// launcher's (netns_pool.hpp): no --unshare-net for a plan without
  /// network.
  bool netns_joined = false;
};

/// Every option before "--" (the command follows on the real command line).
/// `etc_dir`: the host folder bound read-only as the sandbox's /etc
/// (etc_snapshot.hpp).
std::vector<std::string> bwrap_options(const launch_plan& plan, const limits& lim, const bwrap_fds& fds,
                                       const std::string& etc_dir);

/// The whole environment of the job's program: plan.env, then PATH, HOME=/job
/// and LANG=C.UTF-8 where the plan does not set them, and PWD=/job (what
/// bwrap sets after --chdir /job, whatever the plan said).
std::vector<std::pair<std::string, std::string>> job_environment(const launch_plan& plan);

/// /etc/passwd and /etc/group of the sandbox: root, nobody and the job's user
/// only. The host's files (and /etc/shadow) never enter the sandbox.
std::string synthetic_passwd(const sandbox_identity& id);
std::string synthetic_group(const sandbox_identity& id);

/// The NUL-separated form --args reads.
std::string nul_joined(const std::vector<std::string>& args);

} // namespace millrace::sandbox::detail
