#include "sandbox/detail/process_reactor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <system_error>

#include "sandbox/detail/cgroup.hpp"
#include "sandbox/detail/sandbox_job.hpp"

namespace millrace::sandbox::detail {

namespace {

using namespace std::chrono_literals;

constexpr uint64_t wake_token = 0;
constexpr uint64_t timer_token = 1;
constexpr auto retire_interval = 20ms;
constexpr int retire_max_attempts = 250; // 5 s

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

} // namespace

process_reactor::process_reactor() : buffer_(new char[chunk_size]) {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_)
    throw_errno("epoll_create1");
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_)
    throw_errno("eventfd");
  timerfd_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!timerfd_)
    throw_errno("timerfd_create");
  if (!watch(wake_.get(), wake_token) || !watch(timerfd_.get(), timer_token))
    throw_errno("epoll_ctl");
  thread_ = std::thread([this] { run(); });
}

process_reactor::~process_reactor() {
  stop(std::chrono::seconds(10));
}

bool process_reactor::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (stopped_)
      return false;
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  // EAGAIN only when the counter is saturated: the reactor wakes anyway.
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  return true;
}

bool process_reactor::adopt(std::shared_ptr<sandbox_job> job) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!accepting_ || stopped_)
      return false;
    // Queued under the same lock that stop() takes to refuse new jobs, so
    // every adopted job is attached before the shutdown command runs.
    posted_.push_back([this, job] {
      jobs_.emplace(job->id(), job);
      if (!job->attach())
        job->abandon(); // cannot be watched (ENOMEM, max_user_watches): end it now
    });
  }
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  return true;
}

void process_reactor::stop(std::chrono::milliseconds bound) {
  std::lock_guard<std::mutex> serial{stop_mutex_};
  if (!thread_.joinable())
    return;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    accepting_ = false;
  }
  post([this, bound] {
    shutting_down_ = true;
    shutdown_deadline_ = clock::now() + bound;
    begin_shutdown();
  });
  thread_.join();
}

bool process_reactor::watch(int fd, uint64_t tok) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tok;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

void process_reactor::unwatch(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

uint64_t process_reactor::schedule(clock::time_point when, std::function<void()> fn) {
  auto id = next_timer_++;
  timer_fns_.emplace(id, std::move(fn));
  timer_queue_.push(timer{when, id});
  arm_timerfd();
  return id;
}

void process_reactor::cancel(uint64_t timer_id) {
  timer_fns_.erase(timer_id); // the queue entry is skipped when it comes up
}

void process_reactor::forget(uint64_t job_id) {
  jobs_.erase(job_id);
}

void process_reactor::retire(std::unique_ptr<job_cgroup> cgroup) {
  retired_.push_back(std::move(cgroup));
  if (retire_timer_ == 0) {
    retire_attempts_ = 0;
    schedule_retire();
  }
}

void process_reactor::schedule_retire() {
  retire_timer_ = schedule(clock::now() + retire_interval, [this] {
    retire_timer_ = 0;
    for (auto it = retired_.begin(); it != retired_.end();)
      it = (*it)->remove() ? retired_.erase(it) : it + 1;
    if (retired_.empty())
      return;
    if (++retire_attempts_ < retire_max_attempts)
      schedule_retire();
    else
      retired_.clear(); // give up; their destructors make a last attempt
  });
}

void process_reactor::arm_timerfd() {
  while (!timer_queue_.empty() && timer_fns_.count(timer_queue_.top().id) == 0)
    timer_queue_.pop();
  itimerspec spec{};
  if (!timer_queue_.empty()) {
    // steady_clock is CLOCK_MONOTONIC on Linux.
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timer_queue_.top().when.time_since_epoch()).count();
    if (ns <= 0)
      ns = 1;
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  }
  ::timerfd_settime(timerfd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

void process_reactor::run_timers() {
  uint64_t expirations;
  [[maybe_unused]] auto n = ::read(timerfd_.get(), &expirations, sizeof(expirations));
  auto now = clock::now();
  while (!timer_queue_.empty() && timer_queue_.top().when <= now) {
    auto id = timer_queue_.top().id;
    timer_queue_.pop();
    auto it = timer_fns_.find(id);
    if (it == timer_fns_.end())
      continue;
    auto fn = std::move(it->second);
    timer_fns_.erase(it);
    fn();
  }
  arm_timerfd();
}

void process_reactor::run_posted() {
  uint64_t count;
  [[maybe_unused]] auto n = ::read(wake_.get(), &count, sizeof(count));
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    batch.swap(posted_);
  }
  for (auto& fn : batch)
    fn();
}

void process_reactor::begin_shutdown() {
  std::vector<std::shared_ptr<sandbox_job>> all;
  for (auto& [id, job] : jobs_)
    all.push_back(job);
  for (auto& job : all)
    job->kill_for_shutdown();
}

void process_reactor::finish_shutdown() {
  // Jobs that did not end within the bound: reap them synchronously.
  std::vector<std::shared_ptr<sandbox_job>> left;
  for (auto& [id, job] : jobs_)
    left.push_back(job);
  for (auto& job : left)
    job->abandon();
  jobs_.clear();
  for (int i = 0; i < 100 && !retired_.empty(); ++i) {
    for (auto it = retired_.begin(); it != retired_.end();)
      it = (*it)->remove() ? retired_.erase(it) : it + 1;
    if (!retired_.empty())
      std::this_thread::sleep_for(10ms);
  }
  retired_.clear();
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopped_ = true;
    dropped.swap(posted_);
  }
}

void process_reactor::run() {
  epoll_event events[64];
  for (;;) {
    int timeout = -1;
    if (shutting_down_) {
      if (jobs_.empty())
        break;
      auto left = shutdown_deadline_ - clock::now();
      if (left <= clock::duration::zero())
        break;
      timeout = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()) + 1;
    }
    int n = ::epoll_wait(epoll_.get(), events, 64, timeout);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break; // EBADF/EINVAL: cannot happen with our own descriptors
    for (int i = 0; i < n; ++i) {
      auto tok = events[i].data.u64;
      if (tok == wake_token) {
        run_posted();
      } else if (tok == timer_token) {
        run_timers();
      } else if (auto it = jobs_.find(tok >> 4); it != jobs_.end()) {
        auto job = it->second; // keeps the job alive while it finishes
        job->on_ready(static_cast<watch_kind>(tok & 0xf));
      }
    }
  }
  finish_shutdown();
}

} // namespace millrace::sandbox::detail
