#include "sandbox/detail/cgroup_pool.hpp"

namespace millrace::sandbox::detail {

cgroup_pool::cgroup_pool(cgroup_layout layout, size_t capacity) : layout_(std::move(layout)), capacity_(capacity) {
  // nop
}

cgroup_pool::~cgroup_pool() = default; // each job_cgroup removes its directories

std::unique_ptr<job_cgroup> cgroup_pool::take(const limits& lim, std::string& error) {
  std::unique_ptr<job_cgroup> cg;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!idle_.empty()) {
      cg = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (cg) {
    std::string why;
    if (cg->reuse(lim, why)) {
      std::lock_guard<std::mutex> guard{mutex_};
      ++reused_;
      return cg;
    }
    cg.reset(); // a limit it cannot take: removed, and a new one made
  }
  return job_cgroup::create(layout_, next_job_cgroup_name(), lim, error);
}

void cgroup_pool::give_back(std::unique_ptr<job_cgroup>& cg) {
  if (!cg || cg->memory_charged() > memory_carry_cap)
    return;
  std::lock_guard<std::mutex> guard{mutex_};
  if (idle_.size() < capacity_)
    idle_.push_back(std::move(cg));
}

size_t cgroup_pool::idle() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return idle_.size();
}

uint64_t cgroup_pool::reused() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return reused_;
}

} // namespace millrace::sandbox::detail
