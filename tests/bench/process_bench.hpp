// millrace-bench-jobs scenarios that run real processes in the sandbox:
// - bash: BASH_N `echo` jobs bulk-submitted, drained by PROCESS_SLOTS slots,
//   beside the raw sandboxed spawn rate (bubblewrap running /bin/true,
//   PROCESS_SLOTS in parallel) measured just before;
// - python: PYTHON_N python3 jobs one after the other on one slot; per-job
//   time (slot starts the attempt -> slot reports it done) beside a bare
//   `/usr/bin/python3 -c pass` spawn measured just before.

#pragma once

#include "tests/bench/jobs_bench.hpp"

namespace millrace::bench {

void bash_throughput(const jobs_settings& cfg);
void python_overhead(const jobs_settings& cfg);

} // namespace millrace::bench
