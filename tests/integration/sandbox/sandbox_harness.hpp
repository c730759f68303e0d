// Helpers for the sandbox integration tests: a launcher configured for tests,
// a recorder that turns a job's callbacks into something a test can wait on
// (condition variable, generous bound; no sleeps), and /proc probes that check
// what is left on the host.

#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sandbox/launcher.hpp"

namespace millrace::sandbox::testing {

using namespace std::chrono_literals;

/// Generous bound for anything a test waits for.
constexpr auto wait_bound = std::chrono::seconds(60);

/// Exec helper and a cgroup parent of the tests' own.
launcher_config test_config();

/// Where the tests' job cgroups live for controller `ctl` ("" if unmounted).
std::string cgroup_parent_dir(const std::string& ctl);

/// Job cgroup directories named after this test process that still exist.
std::vector<std::string> leftover_job_cgroups();

/// Collects one job's output and exit.
class job_record {
public:
  job_record();

  /// Callbacks feeding this record (they keep its state alive).
  process_events events();

  /// Blocks until on_exit ran; false after `bound`.
  bool wait(std::chrono::milliseconds bound = wait_bound) const;

  /// Blocks until `needle` appeared on `s`; false after `bound` or if the
  /// job ended without printing it.
  bool wait_for(stream s, const std::string& needle, std::chrono::milliseconds bound = wait_bound) const;

  std::string out() const;
  std::string err() const;
  std::string result() const;
  exit_info info() const;
  /// How often on_exit ran (must be 1).
  int exit_calls() const;
  /// on_output after on_exit (must never happen).
  bool output_after_exit() const;

private:
  struct state;
  std::shared_ptr<state> state_;
};

/// Starts `plan` on `l`. `warm`: through a standby sandbox (prepare()
/// first, then start(), and the launcher's counters must show the job went
/// to the standby); otherwise cold. A failed start is a test failure and
/// returns null.
std::shared_ptr<process> start_job(launcher& l, job_record& rec, const launch_plan& plan, const limits& lim,
                                   bool warm);

/// {"/bin/bash", "-c", script}.
launch_plan bash(const std::string& script);

/// A unique token for this test process (for cmdline scans).
std::string unique_token(const std::string& tag);

/// Host pids whose command line contains `needle`.
std::vector<pid_t> processes_with(const std::string& needle);

/// Peak resident set of this process (VmHWM), bytes.
uint64_t peak_rss_bytes();

/// Current resident set of this process (VmRSS), bytes.
uint64_t rss_bytes();

} // namespace millrace::sandbox::testing
