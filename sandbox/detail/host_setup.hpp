// What the launcher looks up once on the host: where its two small programs
// are (the exec helper and the standby stub) and who jobs run as.

#pragma once

#include <string>
#include <vector>

#include "sandbox/detail/bwrap_args.hpp"
#include "sandbox/detail/cgroup.hpp"
#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

/// The configured exec helper, else the first executable
/// millrace-sandbox-exec of: next to the running executable, <dir>/bin,
/// <dir>/../bin (both live in build/*/bin/ of a build tree), and the build
/// tree's bin/ baked in at compile time (`baked_dir`). Throws
/// std::runtime_error naming what was tried.
std::string find_exec_helper(const launcher_config& cfg, const std::string& baked_dir);

/// millrace-sandbox-stub next to the helper; empty when there is none
/// (standby sandboxes are then off).
std::string find_standby_stub(const std::string& helper);

/// The exec helper's command line: join `cg` (none: rlimits stand in for
/// memory and pids), the network namespace open on `netns_fd` (-1: none),
/// rlimits from `lim`, the OOM score, the switch to `drop_to` (root only),
/// SCHED_IDLE when `idle`, then bwrap --args <args_fd> -- plan.argv.
std::vector<std::string> exec_helper_argv(const std::string& helper, const std::string& bwrap, int args_fd,
                                          const launch_plan& plan, const limits& lim, const job_cgroup* cg,
                                          const sandbox_identity* drop_to, bool idle, int netns_fd = -1);

/// run_as when root (throws if missing or root itself), else the current
/// user.
sandbox_identity lookup_identity(const launcher_config& cfg, bool as_root);

/// Makes sure `dir` (a plan's shared_dir) is a real folder the job can use:
/// its parent is created when missing (mode 0711: others may pass, not
/// list), then `dir` itself (mode 0700, owned by `owner` when not null). An
/// existing `dir` must be a folder, not a symlink. Returns an error message,
/// empty on success.
std::string ensure_shared_dir(const std::string& dir, const sandbox_identity* owner);

} // namespace millrace::sandbox::detail
