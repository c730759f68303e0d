// Job cgroups kept for later jobs. Making and removing a job's directories
// under four controllers cost about 0.9 ms of machine CPU per job (mkdir,
// rmdir, and the kernel's offlining of each memory cgroup), a tenth of a
// bash job's whole cost. A cgroup whose job ended with no task left goes
// back to the pool instead, and the next job takes it with its limits
// written again where they differ (job_cgroup::reuse).
//
// What a job cannot learn of its predecessor: every task of the last job is
// gone before its cgroup is given back, the counters that matter are reset
// or taken as a baseline, and a cgroup still charged with more than
// `memory_carry_cap` of page cache from earlier jobs is removed instead of
// kept, so the peak memory reported for a job is not inflated (nor, when
// the kernel reclaims that cache during the job, understated) by more than
// that.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sandbox/detail/cgroup.hpp"

namespace millrace::sandbox::detail {

class cgroup_pool {
public:
  /// Cgroups kept at most; more idle ones than this are removed.
  static constexpr size_t default_capacity = 128;
  /// A cgroup still charged with more than this is not kept.
  static constexpr uint64_t memory_carry_cap = 8u << 20;

  cgroup_pool(cgroup_layout layout, size_t capacity = default_capacity);

  /// Removes the idle cgroups.
  ~cgroup_pool();

  cgroup_pool(const cgroup_pool&) = delete;
  cgroup_pool& operator=(const cgroup_pool&) = delete;

  /// A cgroup for a new job with limits `lim`: the one given back last when
  /// there is one that takes the limits, else a new one. Any thread.
  /// nullptr + `error` when no cgroup can be made.
  std::unique_ptr<job_cgroup> take(const limits& lim, std::string& error);

  /// Keeps `cg` (and empties the pointer) when it carries little memory and
  /// the pool has room. Otherwise `cg` stays with the caller, who removes
  /// it. The caller has made sure no task is left in it
  /// (job_cgroup::no_task_left). Any thread.
  void give_back(std::unique_ptr<job_cgroup>& cg);

  /// Cgroups waiting for a job.
  size_t idle() const;

  /// Jobs that got a cgroup an earlier job had used.
  uint64_t reused() const;

private:
  cgroup_layout layout_;
  size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<job_cgroup>> idle_; // guarded by mutex_
  uint64_t reused_ = 0;                           // guarded by mutex_
};

} // namespace millrace::sandbox::detail
