// The storage benchmark's workloads (one job row, or a whole submission) as
// writes for the storage actor, and the naive baseline that runs the same
// statement one job per autocommit transaction.

#pragma once

#include <cstdint>
#include <string>

#include "storage/statements.hpp"
#include "storage/embedded_file.hpp"
#include "storage/values.hpp"

namespace millrace::bench {

enum class workload { row, submission };

/// The workload job_write() and run_baseline() use.
extern workload current;

const char* name_of(workload w);
const storage::statement_registry& bench_statements();
storage::write_request job_write(uint64_t n, uint32_t run);

// Whole-machine CPU busy fraction between two /proc/stat samples.
struct cpu_sample {
  unsigned long long busy = 0, total = 0;
};
cpu_sample machine_cpu();
double busy_cores(cpu_sample a, cpu_sample b);

/// Several client threads, each with its own connection, each running the
/// workload's statement for one job per autocommit transaction; jobs/s.
double run_baseline(const std::string& conninfo, int threads, int seconds, uint32_t run);

} // namespace millrace::bench
