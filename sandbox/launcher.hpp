// Runs job processes in a sandbox and reports what they print and how they
// end. The contract between the worker slots (actors/worker) and process
// isolation; implementation: bwrap_launcher.cpp, detail/ (process_reactor,
// sandbox_job, cgroup, ...), and the exec helper millrace-sandbox-exec
// (exec_helper.cpp). sandbox/README.md describes the design.
//
// No CAF, no SQL. Callbacks run on the launcher's reactor thread; they must be
// quick and must not block (the worker slot turns them into messages).

#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace millrace::sandbox {

/// Resource limits of one job. Zero means "no limit of this kind".
struct limits {
  /// cgroup memory limit (RAM + tmpfs pages of the job folder). Exceeding it
  /// gets the job OOM-killed and classified as out_of_memory.
  uint64_t memory_bytes = 512ull << 20;
  /// cgroup pids.max: processes and threads the job may have at once.
  uint32_t pids = 256;
  /// RLIMIT_CPU, seconds of CPU time per process.
  uint32_t cpu_seconds = 0;
  /// RLIMIT_NOFILE.
  uint32_t open_files = 1024;
  /// RLIMIT_FSIZE: largest file the job may write.
  uint64_t file_size_bytes = 256ull << 20;
  /// Size of the private job folder (a tmpfs inside the sandbox).
  uint64_t job_dir_bytes = 256ull << 20;
};

/// A file placed in the job folder before the process starts.
struct job_file {
  /// Path inside the sandbox; must be under /job, e.g. /job/main.py.
  std::string path;
  std::string contents;
  bool executable = false;
};

/// What to run. Paths refer to the inside of the sandbox.
struct launch_plan {
  /// argv[0] must be an absolute path inside the sandbox (/usr/bin/python3).
  std::vector<std::string> argv;
  /// The whole environment of the process (nothing is inherited). The
  /// launcher adds nothing but PATH (if missing), HOME=/job and LANG=C.UTF-8
  /// (each only when the plan does not set it), and bwrap sets PWD=/job.
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<job_file> files;
  /// Data written to the process's stdin (then closed). Empty: /dev/null.
  std::string stdin_data;
  /// Network access. false: a network namespace of its own (only lo).
  bool network = false;
  /// Opens a result channel: fd 3 in the process is the write end of a pipe
  /// whose bytes arrive as stream::result. Nothing else in the sandbox sees it.
  bool result_channel = false;
  /// Extra read-only bind mounts (host path, path inside), e.g. a runtime's
  /// wrapper directory.
  std::vector<std::pair<std::string, std::string>> ro_binds;
  /// A host folder the job sees, writable, as /job/shared (its `./shared`):
  /// the folder a `same_worker` flow's steps share. Absolute; created (owned
  /// by the job's user, mode 0700) when missing; it outlives the job. A plan
  /// with one always starts cold (no standby sandbox). Empty: none.
  std::string shared_dir;
  /// The program a standby sandbox for this plan runs ahead of the job
  /// (launcher_config::standby), argv[0] absolute. Empty: the launcher's own
  /// millrace-sandbox-stub, which execs `argv`. Otherwise it must, like the
  /// stub, write the ready byte on descriptor 6 once it runs
  /// (MILLRACE_STANDBY_READY, sandbox/detail/standby_abi.h), take the job
  /// request there (sandbox/detail/standby_wire.hpp) and then behave exactly
  /// as `argv` would; the python runtime's interpreter started ahead does.
  /// If it ends before the ready byte, the job is started again cold. Part
  /// of the shape.
  std::vector<std::string> standby_argv;
};

enum class stream : uint8_t { out = 1, err = 2, result = 3 };

/// How a process ended.
struct exit_info {
  /// Exit status when the process exited (WEXITSTATUS), else -1.
  int exit_code = -1;
  /// Signal number when it was killed by a signal, else 0.
  int signal = 0;
  /// The memory cgroup recorded an OOM kill for this job.
  bool out_of_memory = false;
  /// The pids limit refused at least one fork.
  bool pids_limit_hit = false;
  /// The kill ladder ran (terminate() was called) before it ended.
  bool terminated = false;
  /// The ladder had to escalate to SIGKILL (the job ignored SIGTERM).
  bool killed = false;
  /// CPU seconds (user + system) of the whole job, children included; 0 if
  /// unknown (no cgroups: then nothing measures it).
  double cpu_seconds = 0;
  /// Peak memory of the job's cgroup, 0 if unknown.
  uint64_t max_memory_bytes = 0;
  /// From start to exit, as measured by the launcher.
  std::chrono::microseconds wall{0};
  /// Set when the sandbox itself failed (bwrap could not start, ...): the
  /// message says why; exit_code/signal then describe the helper's exit.
  std::string sandbox_error;
};

/// Callbacks for one process. All run on the reactor thread.
struct process_events {
  /// A chunk of output (in the order read from each stream). Never called
  /// after on_exit.
  std::function<void(stream, std::string_view)> on_output;
  /// Exactly once, after every output chunk was delivered.
  std::function<void(const exit_info&)> on_exit;
};

/// A running job process. Thread-safe.
class process {
public:
  virtual ~process() = default;

  /// Host pid of the sandbox's outermost process.
  virtual pid_t pid() const = 0;

  /// The kill ladder: SIGTERM to every process of the job, then SIGKILL to
  /// all of them after `grace` if any is left. Idempotent; on_exit follows.
  virtual void terminate(std::chrono::milliseconds grace) = 0;

  /// SIGKILL to every process of the job at once.
  virtual void kill() = 0;
};

struct launcher_config {
  /// bubblewrap binary.
  std::string bwrap = "/usr/bin/bwrap";
  /// The exec helper (applies rlimits, joins cgroups, drops privileges, then
  /// execs bwrap); empty: next to the running executable.
  std::string exec_helper;
  /// When running as root, jobs run as this unprivileged user (uid/gid looked
  /// up at start). Ignored when not root: jobs run as the current user.
  std::string run_as = "nobody";
  /// Parent cgroup (v1) under the memory, pids and freezer hierarchies, e.g.
  /// /sys/fs/cgroup/memory/<cgroup_parent>/job-<n>. Created when missing.
  std::string cgroup_parent = "millrace";
  /// Use cgroups when available (root, v1 memory + pids mounted). When they
  /// are not, limits fall back to rlimits (RLIMIT_AS for memory, RLIMIT_NPROC
  /// for pids) and out_of_memory cannot be detected.
  bool use_cgroups = true;
  /// Reuse a job's cgroups and (with cgroups, so as root) its network
  /// namespace for later jobs once it ended with nothing of it left, instead
  /// of making new ones per job (sandbox/detail/cgroup_pool.hpp and
  /// netns_pool.hpp say what a later job can and cannot learn of an earlier
  /// one: in a reused network namespace, its loopback traffic counters).
  /// Saved 1.4-3.4 ms of machine CPU per bash job here. false: new ones for
  /// every job.
  bool reuse = true;
  /// Standby sandboxes kept ready per shape (network, extra binds, limits;
  /// the last 4 shapes used): made ahead, each takes a job without waiting
  /// for the exec helper and bwrap's set-up. 0: every job starts cold.
  /// Each costs three idle processes (bwrap's two and a stub) and its
  /// cgroups.
  size_t standby = 2;
  /// Make this process a child subreaper (PR_SET_CHILD_SUBREAPER) when the
  /// launcher is made. bwrap's outer process exits without reaping its
  /// init, so each sandbox leaves a zombie init behind; as a subreaper the
  /// server gets it and reaps it when its job ends, instead of leaving it
  /// to pid 1, which may reap late or never (and in the no-cgroup fallback
  /// every zombie counts against RLIMIT_NPROC, so new sandboxes fail).
  /// Process-wide and not undone: any orphaned descendant of this process
  /// comes to it, and the launcher reaps only sandbox inits.
  bool reap_orphans = true;
};

/// Counters of a launcher, for status pages and tests.
struct launcher_stats {
  /// Jobs start() accepted.
  uint64_t started = 0;
  /// Of those, the jobs that went to a standby sandbox.
  uint64_t from_standby = 0;
  /// Of those, the jobs whose standby ended before it was ready (so before
  /// the job ran) and that were started again cold.
  uint64_t standby_restarts = 0;
  /// Jobs (standby sandboxes included) that got cgroups an earlier job had
  /// used, instead of new ones.
  uint64_t cgroups_reused = 0;
  /// Jobs (standby sandboxes included) that ran in a network namespace an
  /// earlier job had used.
  uint64_t netns_reused = 0;
  /// Standby sandboxes ready now.
  uint64_t standby_ready = 0;
};

/// Starts sandboxed processes. One instance per worker node; owns the
/// reactor thread. Thread-safe.
class launcher {
public:
  virtual ~launcher() = default;

  /// Starts `plan`. On success the process runs and `events` will be called;
  /// on failure (no bwrap, bad plan, spawn error) returns an error message and
  /// never calls `events`.
  virtual std::shared_ptr<process> start(const launch_plan& plan, const limits& lim,
                                         process_events events, std::string& error)
    = 0;

  /// What the launcher could set up, for logs and status: e.g.
  /// "bwrap, cgroups v1 memory+pids, run as nobody (65534)".
  virtual std::string describe() const = 0;

  /// Makes standby sandboxes of `plan`'s shape now, in the background, so
  /// that the first job of that shape does not start cold. Only the shape
  /// counts (network, ro_binds, `lim`); argv, env, files and stdin do not.
  virtual void prepare(const launch_plan& plan, const limits& lim) {
    (void)plan;
    (void)lim;
  }

  virtual launcher_stats stats() const {
    return {};
  }
};

/// The bubblewrap launcher. Throws std::runtime_error when bwrap or the exec
/// helper is missing, or when the sandbox's /etc cannot be prepared in the
/// temporary folder.
std::unique_ptr<launcher> make_bwrap_launcher(launcher_config cfg);

} // namespace millrace::sandbox
