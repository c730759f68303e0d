// The evaluator's thread: owns the node process, pipelines requests to it,
// matches the replies by id, and restarts node after a crash, a malformed
// reply or a watchdog kill. Callers only touch the queue (under the mutex)
// and the eventfd that wakes the thread.

#include "runtime/expr/evaluator.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "runtime/expr/node_process.hpp"
#include "runtime/expr/protocol.hpp"
#include "sandbox/detail/sys.hpp"

namespace millrace::expr {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto startup_limit = std::chrono::seconds(10);
constexpr auto watchdog_grace = std::chrono::seconds(1);
constexpr size_t max_reply_bytes = 64u << 20;
constexpr size_t max_err_tail = 16384;

struct request {
  std::string expr;
  std::string scope; // one line, validated
  std::function<void(outcome)> done;
  milliseconds timeout{};
  std::optional<outcome> answer; // decided without node
};

struct in_flight {
  std::string expr;
  std::function<void(outcome)> done;
  milliseconds timeout{};
  steady::time_point sent;
};

} // namespace

struct evaluator::state {
  evaluator_config cfg;
  sandbox::detail::unique_fd wake;

  std::mutex mutex;
  std::deque<request> queue; // guarded by mutex
  bool stopping = false;     // guarded by mutex

  // Owned by the thread.
  detail::node_process node;
  bool ready = false;
  steady::time_point started, progress; // spawn; last sign of life (ready, a reply)
  std::map<uint64_t, in_flight> pending; // sent, not answered; node answers in order
  uint64_t next_id = 1;
  std::string out_buf; // bytes not yet written to node's stdin
  std::string in_buf;  // node's stdout up to an incomplete line
  std::string err_tail;

  std::thread thread;

  void run();
  void submit(request& r);
  bool flush();
  bool read_stdout();
  void read_stderr();
  bool handle_line(const std::string& line);
  void fail_node(const std::string& why, const std::string* head_error = nullptr);
  int poll_timeout_ms() const;
  bool check_deadlines();
};

evaluator::evaluator(evaluator_config cfg) : state_(std::make_unique<state>()) {
  state_->cfg = std::move(cfg);
  if (state_->cfg.memory_mb <= 0)
    state_->cfg.memory_mb = 64;
  if (state_->cfg.default_timeout.count() <= 0)
    state_->cfg.default_timeout = milliseconds(1000);
  state_->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!state_->wake)
    throw std::runtime_error("expression evaluator: " + sandbox::detail::sys_error("eventfd"));
  state_->thread = std::thread([s = state_.get()] { s->run(); });
}

evaluator::~evaluator() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(state_->wake.get(), &one, sizeof(one));
  state_->thread.join();
}

void evaluator::evaluate(std::string expr, std::string scope_json,
                         std::function<void(outcome)> done, milliseconds timeout) {
  request r;
  // A day at most: the watchdog's deadline arithmetic must not overflow.
  r.timeout = std::min<milliseconds>(timeout.count() > 0 ? timeout : state_->cfg.default_timeout,
                                     std::chrono::hours(24));
  r.answer = fast_path(expr, scope_json);
  std::string error;
  if (!r.answer && !detail::one_line_scope(scope_json, r.scope, error))
    r.answer = outcome{false, {}, format_error(error, expr)};
  r.expr = std::move(expr);
  r.done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (!state_->stopping) {
      state_->queue.push_back(std::move(r));
      r.done = nullptr;
    }
  }
  if (r.done) { // the evaluator is being destroyed
    r.done(outcome{false, {}, format_error("the expression evaluator is stopping", r.expr)});
    return;
  }
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(state_->wake.get(), &one, sizeof(one));
}

outcome evaluator::evaluate_sync(const std::string& expr, const std::string& scope_json,
                                 milliseconds timeout) {
  std::promise<outcome> promise;
  auto future = promise.get_future();
  evaluate(expr, scope_json, [&promise](outcome o) { promise.set_value(std::move(o)); }, timeout);
  return future.get();
}

void evaluator::state::submit(request& r) {
  if (r.answer) {
    r.done(std::move(*r.answer));
    return;
  }
  if (!node.running()) {
    std::string error;
    if (!detail::start_node(cfg, node, error)) {
      r.done(outcome{false, {}, format_error(error, r.expr)});
      return;
    }
    ready = false;
    started = progress = steady::now();
    in_buf.clear();
    err_tail.clear();
  }
  uint64_t id = next_id++;
  out_buf += detail::request_line(id, r.expr, r.scope, r.timeout.count());
  pending.emplace(id, in_flight{std::move(r.expr), std::move(r.done), r.timeout, steady::now()});
}

bool evaluator::state::flush() {
  while (!out_buf.empty()) {
    auto n = ::send(node.in.get(), out_buf.data(), out_buf.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return true;
    if (n < 0) {
      fail_node("stopped reading its input (" + sandbox::detail::sys_error("send") + ")");
      return false;
    }
    out_buf.erase(0, static_cast<size_t>(n));
  }
  return true;
}

bool evaluator::state::read_stdout() {
  char buf[65536];
  for (;;) {
    auto n = ::read(node.out.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n <= 0) {
      fail_node(n == 0 ? "died" : "failed (" + sandbox::detail::sys_error("read") + ")");
      return false;
    }
    in_buf.append(buf, static_cast<size_t>(n));
    size_t start = 0, nl;
    while ((nl = in_buf.find('\n', start)) != std::string::npos) {
      std::string line = in_buf.substr(start, nl - start);
      start = nl + 1;
      if (!handle_line(line))
        return false;
    }
    in_buf.erase(0, start);
    if (in_buf.size() > max_reply_bytes) {
      fail_node("sent a reply longer than " + std::to_string(max_reply_bytes >> 20) + " MiB");
      return false;
    }
  }
  return true;
}

void evaluator::state::read_stderr() {
  char buf[4096];
  for (;;) {
    auto n = ::read(node.err.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0) { // closed; stdout tells when node is gone
      node.err.reset();
      return;
    }
    if (n < 0)
      return;
    err_tail.append(buf, static_cast<size_t>(n));
    if (err_tail.size() > max_err_tail)
      err_tail.erase(0, err_tail.size() - max_err_tail / 2);
  }
}

bool evaluator::state::handle_line(const std::string& line) {
  detail::reply r = detail::parse_reply(line);
  if (r.what == detail::reply::kind::malformed || (r.what == detail::reply::kind::ready) == ready) {
    fail_node("sent a malformed reply (" +
              (r.what == detail::reply::kind::malformed ? r.error : "unexpected: " + line) + ")");
    return false;
  }
  progress = steady::now();
  if (r.what == detail::reply::kind::ready) {
    ready = true;
    return true;
  }
  auto p = pending.find(r.id);
  if (p == pending.end()) {
    fail_node("sent a reply to no request (id " + std::to_string(r.id) + ")");
    return false;
  }
  in_flight f = std::move(p->second);
  pending.erase(p);
  f.done(r.ok ? outcome{true, std::move(r.value_json), {}}
              : outcome{false, {}, format_error(r.error, f.expr)});
  return true;
}

void evaluator::state::fail_node(const std::string& why, const std::string* head_error) {
  std::string status = detail::stop_node(node, err_tail);
  std::string message = "the JavaScript evaluator (node) " + why + " (it " + status + ")";
  std::string detail_line = detail::stderr_summary(err_tail);
  if (err_tail.find("heap out of memory") != std::string::npos)
    message += ": out of memory (limit " + std::to_string(cfg.memory_mb) + " MiB)";
  else if (!detail_line.empty())
    message += ": " + detail_line;
  auto failed = std::move(pending);
  pending.clear();
  out_buf.clear();
  in_buf.clear();
  err_tail.clear();
  ready = false;
  bool first = true;
  for (auto& [id, f] : failed) {
    const std::string& text = first && head_error ? *head_error : message;
    first = false;
    f.done(outcome{false, {}, format_error(text, f.expr)});
  }
}

int evaluator::state::poll_timeout_ms() const {
  if (!node.running() || (ready && pending.empty()))
    return -1;
  steady::time_point deadline =
    !ready ? started + startup_limit
           : std::max(pending.begin()->second.sent, progress) + pending.begin()->second.timeout +
               watchdog_grace;
  auto left = std::chrono::duration_cast<milliseconds>(deadline - steady::now()).count() + 1;
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

bool evaluator::state::check_deadlines() {
  if (!node.running() || (ready && pending.empty()))
    return true;
  auto now = steady::now();
  if (!ready) {
    if (now >= started + startup_limit) {
      fail_node("did not start within " + std::to_string(startup_limit.count()) + " s");
      return false;
    }
    return true;
  }
  const in_flight& head = pending.begin()->second;
  if (now < std::max(head.sent, progress) + head.timeout + watchdog_grace)
    return true;
  // Stuck where vm's timeout cannot interrupt it: kill and restart node.
  std::string head_error = "expression timed out after " + std::to_string(head.timeout.count()) +
                           " ms (the evaluator did not respond and was restarted)";
  fail_node("was restarted: another expression did not finish in time", &head_error);
  return false;
}

void evaluator::state::run() {
  for (;;) {
    std::deque<request> batch;
    bool stop;
    {
      std::lock_guard<std::mutex> lock(mutex);
      batch.swap(queue);
      stop = stopping;
    }
    if (stop) {
      std::string ignored;
      detail::stop_node(node, ignored);
      for (auto& [id, f] : pending)
        f.done(outcome{false, {}, format_error("the expression evaluator was stopped", f.expr)});
      pending.clear();
      for (auto& r : batch)
        r.done(outcome{false, {}, format_error("the expression evaluator was stopped", r.expr)});
      return;
    }
    for (auto& r : batch)
      submit(r);
    if (node.running() && !flush())
      continue;
    if (!check_deadlines())
      continue;

    pollfd fds[4];
    nfds_t n = 0;
    fds[n++] = {wake.get(), POLLIN, 0};
    if (node.running()) {
      fds[n++] = {node.out.get(), POLLIN, 0};
      if (node.err)
        fds[n++] = {node.err.get(), POLLIN, 0};
      if (!out_buf.empty())
        fds[n++] = {node.in.get(), POLLOUT, 0};
    }
    int rc = ::poll(fds, n, poll_timeout_ms());
    if (rc < 0 && errno != EINTR)
      throw std::runtime_error("expression evaluator: " + sandbox::detail::sys_error("poll"));
    if (rc <= 0)
      continue;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0)
        continue;
      if (fds[i].fd == wake.get()) {
        uint64_t count;
        [[maybe_unused]] auto r = ::read(wake.get(), &count, sizeof(count));
      } else if (!node.running()) {
        break; // node was failed by an earlier descriptor of this round
      } else if (fds[i].fd == node.out.get()) {
        read_stdout();
      } else if (node.err && fds[i].fd == node.err.get()) {
        read_stderr();
      } else if (fds[i].fd == node.in.get()) {
        flush();
      }
    }
  }
}

} // namespace millrace::expr
