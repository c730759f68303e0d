// cgroup v1 for jobs: one directory per job under the memory, pids, freezer
// and cpuacct hierarchies, limits written before the job starts, usage read
// after it ends, and every task killed before the directories go away.
//
// Layout: <mount of the controller>/<this process's own cgroup in that
// hierarchy>/<cgroup_parent>/job-<pid>-<start time>-<seq>, where pid and
// start time name the launcher's process for good (a reused pid has another
// start time) and seq counts jobs across all launchers of that process.
// Nesting under our own
// cgroup keeps jobs inside whatever limits the server itself runs under (a
// systemd slice, a container); when the server sits in the root cgroup it is
// exactly /sys/fs/cgroup/<controller>/<cgroup_parent>/job-...
// The owner in the name lets a new launcher tell a crashed process's
// leftovers (owner gone, or its pid now used by another process) from the
// live jobs of another server or test process sharing the same parent.

#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/launcher.hpp"

namespace millrace::sandbox::detail {

/// Parent directories (…/<cgroup_parent>) per controller; empty = unusable.
struct cgroup_layout {
  std::string memory;
  std::string pids;
  std::string freezer;
  std::string cpuacct;

  /// memory and pids are required; freezer and cpuacct improve kills and CPU
  /// accounting when present.
  bool usable() const {
    return !memory.empty() && !pids.empty();
  }

  /// "memory+pids+freezer+cpuacct under /sys/fs/cgroup/<ctl>/…/millrace".
  std::string describe() const;
};

/// Finds the v1 hierarchies of this process and creates the parent
/// directories. Returns an unusable layout and sets `why_not` when cgroups
/// cannot be used (not root, v1 memory/pids not mounted, mkdir failed).
cgroup_layout probe_cgroups(const std::string& cgroup_parent, std::string& why_not);

/// A fresh, process-wide unique job directory name.
std::string next_job_cgroup_name();

/// Kills the tasks of and removes every job directory whose owner process no
/// longer exists (a launcher process that crashed).
void remove_stale_job_cgroups(const cgroup_layout& layout);

/// Removes the parent directories if no job directory is left in them.
void remove_empty_parents(const cgroup_layout& layout);

/// What the job's cgroups recorded, read once it ended.
struct cgroup_usage {
  bool out_of_memory = false;
  bool pids_limit_hit = false;
  /// Peak charge of the memory cgroup during the job, less what earlier
  /// jobs in a reused cgroup left charged (page cache) at its start.
  uint64_t max_memory_bytes = 0;
  /// From cpuacct.usage when the job joined cpuacct.
  std::optional<double> cpu_seconds;
};

/// The cgroup directories of one job.
class job_cgroup {
public:
  /// Creates the directories and writes the limits. nullptr + `error` on failure.
  static std::unique_ptr<job_cgroup> create(const cgroup_layout& layout, const std::string& name,
                                            const limits& lim, std::string& error);

  /// Makes a cgroup whose last job ended (no task left) ready for another
  /// job: writes the limits that differ from the last job's, resets the
  /// peak-memory and CPU counters, and takes the counters that cannot be
  /// reset (OOM kills, pids.max hits) as the new job's baseline. False +
  /// `error` when a limit cannot be written (e.g. a memory limit below what
  /// the kernel could reclaim of what the cgroup still holds).
  bool reuse(const limits& lim, std::string& error);

  /// The existing directories named `name` (leftovers of a crashed launcher).
  static std::unique_ptr<job_cgroup> attach(const cgroup_layout& layout, const std::string& name);

  job_cgroup(const job_cgroup&) = delete;
  job_cgroup& operator=(const job_cgroup&) = delete;

  /// Best effort: kills what is left and removes the directories.
  ~job_cgroup();

  /// The directories the exec helper joins before it execs bwrap.
  const std::vector<std::string>& dirs() const {
    return dirs_;
  }

  cgroup_usage read_usage() const;

  /// True when no task is left in the job's cgroups.
  bool empty() const;

  /// True when no task is left in the pids cgroup, which every task of the
  /// job joins (so: in any of them). One read instead of one per controller.
  bool no_task_left() const;

  /// Sends `sig` to every task except `spare` (0 entries are ignored). With
  /// the freezer the group is frozen first so nothing can fork or exit (and
  /// free its pid for reuse) between listing and signalling, then thawed.
  void signal_all(int sig, std::vector<pid_t> spare = {}) const;

  /// Moves every thread of the job from SCHED_IDLE (a standby sandbox is
  /// made at idle priority) to SCHED_OTHER. Repeats until a listing finds
  /// none left idle, so a process forked meanwhile from an idle parent is
  /// caught too; anything forked later inherits SCHED_OTHER. Needs root.
  void leave_idle_scheduling() const;

  /// Bytes the memory cgroup is charged with now (memory.usage_in_bytes).
  uint64_t memory_charged() const;

  /// rmdir of every directory. True when all are gone; false (EBUSY) while a
  /// dying task still holds one, so the caller retries later.
  bool remove();

private:
  job_cgroup() = default;

  bool freeze(bool frozen) const;
  /// memory.limit_in_bytes (and memsw) and pids.max, where they differ from
  /// what this cgroup has now.
  bool apply_limits(const limits& lim, std::string& error);
  /// Reads the counters a new job's usage is measured from.
  void take_baselines();

  /// The job's own directory per controller (not the parents).
  cgroup_layout paths_;
  /// Directories not removed yet.
  std::vector<std::string> dirs_;
  /// The limits written now: bytes (0: none) and pids.max's text.
  uint64_t memory_limit_ = 0;
  std::string pids_max_ = "max";
  /// Counters at the current job's start (all 0 in a new cgroup): OOM
  /// kills, pids.max hits, and the bytes still charged from earlier jobs
  /// (page cache they read), which the peak is reported above.
  unsigned long long oom_kills_before_ = 0;
  unsigned long long pids_hits_before_ = 0;
  unsigned long long memory_before_ = 0;
};

} // namespace millrace::sandbox::detail
