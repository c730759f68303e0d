// Shared parts of millrace-bench-jobs: settings from the environment (the
// peers' driver protocol), the slot probe that timestamps attempt starts and
// ends, result lines, and the process-spawn references measured in the same
// run.

#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace millrace::bench {

struct jobs_settings {
  std::string conninfo;          // the scratch database
  uint64_t n = 10000;            // N: jobs per throughput run
  int runs = 2;                  // RUNS
  int trickle_n = 200;           // TRICKLE_N
  int trickle_gap_ms = 10;       // TRICKLE_GAP_MS
  uint64_t burst_n = 10000;      // BURST_N
  size_t burst_call = 1000;      // BURST_CALL: jobs per bulk submit call in the burst
  int noop_slots = 8;            // NOOP_SLOTS
  uint64_t bash_n = 600;         // BASH_N
  int process_slots = 2;         // PROCESS_SLOTS (bash), the spawn reference's P
  int standby = 2;               // STANDBY: standby sandboxes per shape (0: cold)
  bool reuse = true;             // REUSE=0: new cgroups and network namespace per job
  int python_n = 100;            // PYTHON_N (sequential)
  double ref_seconds = 3;        // REF_SECONDS: each spawn reference
  std::string only;              // ONLY: one scenario (throughput, latency, burst, bash, python)
};

jobs_settings settings_from_env();

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// Attempt starts and ends as the worker slots saw them (slot_config::probe).
struct probe_log {
  struct event {
    std::string slot;
    int64_t at_ns;
    bool start;
    int64_t arg_t; // the "t" argument of the job (0 when absent)
  };
  std::mutex mtx;
  std::vector<event> events;

  void record(const std::string& slot, const std::string& args, bool start);
  std::vector<event> take();
};

/// Prints `RESULT {json}` on stdout (the driver collects it) and a readable
/// line on stderr. `fields` is the JSON object body without braces.
void emit(const std::string& test, const std::string& fields);

/// Whole-machine busy CPU seconds so far (all processes, /proc/stat): the
/// database server's work counts too.
double machine_busy_seconds();

struct spawn_figures {
  double per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

/// posix_spawn + wait of `argv` in a loop for `seconds`, `parallel` loops at
/// once.
spawn_figures measure_spawn(const std::vector<std::string>& argv, int parallel, double seconds);

/// The raw sandboxed spawn: bubblewrap with every namespace, the minimal
/// root of STACK.md §5, then `cmd`.
std::vector<std::string> bwrap_argv(std::vector<std::string> cmd);

std::string fmt(double v, int digits = 1);

} // namespace millrace::bench
