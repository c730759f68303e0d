#include "sandbox/detail/standby_pool.hpp"

#include <algorithm>

namespace millrace::sandbox::detail {

standby_pool::standby_pool(size_t per_shape, size_t max_shapes, spawn_thread& spawner, maker make,
                           retirer retire)
  : per_shape_(per_shape),
    max_shapes_(std::max<size_t>(max_shapes, 1)),
    spawner_(spawner),
    make_(std::move(make)),
    retire_(std::move(retire)) {
  // nop
}

standby_pool::~standby_pool() {
  close();
}

std::optional<job_setup> standby_pool::take(const std::string& key,
                                            const std::shared_ptr<const etc_snapshot>& etc) {
  std::vector<job_setup> stale;
  std::optional<job_setup> found;
  {
    std::unique_lock<std::mutex> lock{mutex_};
    for (;;) {
      auto i = shapes_.find(key);
      if (closed_ || i == shapes_.end())
        break;
      auto& ready = i->second.ready;
      while (!ready.empty() && !found) {
        // Oldest first: each standby waits about as long as the others.
        auto sb = std::move(ready.front());
        ready.erase(ready.begin());
        if (sb.etc == etc)
          found = std::move(sb);
        else
          stale.push_back(std::move(sb));
      }
      if (found || i->second.making == 0)
        break;
      cv_.wait(lock);
    }
  }
  for (auto& sb : stale)
    retire_(std::move(sb));
  return found;
}

void standby_pool::refill(const std::string& key, const launch_plan& shape, const limits& lim) {
  if (per_shape_ == 0)
    return;
  std::vector<job_setup> dropped;
  size_t wanted = 0;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_)
      return;
    auto& st = shapes_[key];
    recent_.remove(key);
    recent_.push_front(key);
    trim(dropped);
    auto have = st.ready.size() + st.making;
    wanted = have < per_shape_ ? per_shape_ - have : 0;
    st.making += wanted;
    in_flight_ += wanted;
  }
  for (auto& sb : dropped)
    retire_(std::move(sb));
  for (size_t n = 0; n < wanted; ++n) {
    bool posted = spawner_.post([this, key, shape, lim] {
      // The launcher closes the pool before it stops the spawn thread, so
      // `this` outlives every task; a closed pool makes nothing more.
      if (is_closed())
        made(key, std::nullopt);
      else
        made(key, make_(shape, lim));
    });
    if (!posted)
      made(key, std::nullopt);
  }
}

void standby_pool::made(const std::string& key, std::optional<job_setup> sb) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto i = shapes_.find(key);
    if (i != shapes_.end() && i->second.making > 0)
      --i->second.making;
    if (sb && !closed_ && i != shapes_.end()) {
      i->second.ready.push_back(std::move(*sb));
      sb.reset();
    }
  }
  cv_.notify_all();
  // Retired before it counts as done: close() waits for this, so the
  // reactor adopts it (and later reaps the sandbox's init) before it stops.
  if (sb)
    retire_(std::move(*sb));
  {
    std::lock_guard<std::mutex> guard{mutex_};
    --in_flight_;
  }
  cv_.notify_all();
}

void standby_pool::trim(std::vector<job_setup>& out) {
  while (recent_.size() > max_shapes_) {
    auto key = recent_.back();
    recent_.pop_back();
    auto i = shapes_.find(key);
    if (i == shapes_.end())
      continue;
    for (auto& sb : i->second.ready)
      out.push_back(std::move(sb));
    // Standbys of this shape still being made are retired when they
    // arrive (made() no longer finds their shape).
    shapes_.erase(i);
  }
}

void standby_pool::close() {
  std::vector<job_setup> all;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    closed_ = true;
    for (auto& [key, st] : shapes_)
      for (auto& sb : st.ready)
        all.push_back(std::move(sb));
    shapes_.clear();
    recent_.clear();
  }
  cv_.notify_all();
  for (auto& sb : all)
    retire_(std::move(sb));
  std::unique_lock<std::mutex> lock{mutex_};
  cv_.wait(lock, [this] { return in_flight_ == 0; });
}

bool standby_pool::is_closed() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return closed_;
}

size_t standby_pool::ready() const {
  std::lock_guard<std::mutex> guard{mutex_};
  size_t n = 0;
  for (auto& [key, st] : shapes_)
    n += st.ready.size();
  return n;
}

} // namespace millrace::sandbox::detail
