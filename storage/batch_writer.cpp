// batch_writer: start and stop, the queue, the writer thread, connecting and
// backing off, expiring writes past their deadline. The commit path is in
// batch_commit.cpp.

#include "storage/batch_writer.hpp"

#include <spdlog/spdlog.h>

#include "storage/batch_plan.hpp"
#include "storage/pg/pipeline.hpp"
#include "storage/pg/binary_array.hpp"
#include "storage/pg/text_array.hpp"

namespace millrace::storage {

batch_writer::batch_writer(writer_config cfg, const statement_registry& reg)
  : cfg_(std::move(cfg)),
    reg_(reg),
    backoff_(cfg_.backoff_min),
    rng_(std::random_device{}()) {
  // nop
}

batch_writer::~batch_writer() {
  stop();
}

void batch_writer::start(bool connect_now) {
  std::lock_guard<std::mutex> guard{mu_};
  if (started_)
    return;
  started_ = true;
  thread_ = std::thread([this, connect_now] {
    if (connect_now)
      ensure_connected();
    run();
  });
}

void batch_writer::stop() {
  stop_async(nullptr);
  if (!thread_.joinable())
    return;
  // The writer thread itself can be the one destroying this object: its
  // last act, the stop callback, may drop the last reference to the actor
  // that owns it (the actor quit meanwhile). Joining itself would throw
  // ("Resource deadlock avoided"); the thread no longer uses this object
  // after that callback, so it is let go.
  if (thread_.get_id() == std::this_thread::get_id())
    thread_.detach();
  else
    thread_.join();
}

void batch_writer::stop_async(std::function<void()> stopped) {
  bool call_now = false;
  {
    std::lock_guard<std::mutex> guard{mu_};
    stopping_ = true;
    if (stopped) {
      if (started_ && !exited_)
        on_stopped_ = std::move(stopped);
      else
        call_now = true; // no writer thread to call it
    }
  }
  cv_.notify_all();
  if (call_now)
    stopped();
}

std::optional<op_result> batch_writer::submit(write_request req, clock::time_point deadline,
                                              reply_fn reply) {
  auto* st = reg_.find(req.statement);
  if (st == nullptr)
    return op_result::failure(storage_errc::unknown_statement,
                              "no statement named '" + req.statement + "'");
  if (req.params.size() != static_cast<size_t>(st->param_count))
    return op_result::failure(storage_errc::invalid_input,
                              "statement '" + st->name + "' takes "
                                + std::to_string(st->param_count) + " parameters, got "
                                + std::to_string(req.params.size()));
  {
    std::lock_guard<std::mutex> guard{mu_};
    if (stopping_)
      return op_result::failure(storage_errc::shutting_down, "the storage writer is stopping");
    queue_.push_back(item{std::move(reply), std::move(req), deadline, st, false});
  }
  cv_.notify_one();
  return std::nullopt;
}

size_t batch_writer::pending() const {
  std::lock_guard<std::mutex> guard{mu_};
  return queue_.size() + in_flight_;
}

writer_stats batch_writer::stats() const {
  std::lock_guard<std::mutex> guard{stats_mu_};
  return stats_;
}

void batch_writer::log_warn(const std::string& msg) {
  if (cfg_.log)
    cfg_.log->warn("{}", msg);
}

void batch_writer::run() {
  std::unique_lock<std::mutex> lk{mu_};
  for (;;) {
    cv_.wait(lk, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty())
      break; // stopping, and everything queued has been answered
    auto n = std::min(queue_.size(), cfg_.batch_max);
    std::vector<item> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    in_flight_ = n;
    lk.unlock();
    process(batch);
    lk.lock();
    in_flight_ = 0;
  }
  exited_ = true;
  auto stopped = std::move(on_stopped_);
  lk.unlock();
  conn_.close();
  backend_pid_ = 0;
  if (stopped)
    stopped();
}

bool batch_writer::ensure_connected() {
  if (conn_.connected())
    return true;
  {
    std::lock_guard<std::mutex> guard{stats_mu_};
    stats_.connected = false;
  }
  try {
    pg::connection c{cfg_.connect};
    // jit off: bulk statements look expensive to the planner (thousands of
    // unnested rows) and JIT compilation then costs more than the statement.
    //
    // Generic plans, index probes: every statement here joins its unnested
    // input to tables by key. Left to choose, PostgreSQL planned two or three
    // of a bash job's statements again at every call (a custom plan knows the
    // one-element array, so it always looks cheaper than the generic one):
    // 0.14-0.18 ms of planning against 0.09-0.12 ms of execution each, two
    // thirds of the statements' time in the bash benchmark (BENCHMARKS.md,
    // stop 22). A generic plan is made once per connection and kept until
    // the tables' statistics change; without hash joins, merge joins and
    // sequential scans it looks the keys up in their indexes, whatever size
    // the table had when it was planned (with them, the claim's plan, made
    // while the queue was small, scanned the whole queue). The price: a join
    // of two CTE scans (the careful twins' `IN (SELECT id FROM ins)`) is a
    // nested loop, quadratic in the batch; those run after a failure only.
    c.exec("SET jit = off; SET plan_cache_mode = force_generic_plan; SET enable_hashjoin = off; "
           "SET enable_mergejoin = off; SET enable_seqscan = off; SET statement_timeout = "
           + std::to_string(cfg_.exec_timeout.count()));
    binary_types_.clear();
    for (auto& def : reg_.all()) {
      c.prepare(def.name, def.sql);
      if (def.mode != statement_mode::bulk)
        continue;
      auto& types = binary_types_[&def];
      for (auto oid : c.describe_params(def.name))
        types.push_back(pg::binary_element_type(oid));
    }
    pg::enter_pipeline_mode(c);
    conn_ = std::move(c);
  } catch (const pg::error& e) {
    log_warn(std::string("storage writer cannot connect: ") + e.what());
    return false;
  }
  backend_pid_ = conn_.backend_pid();
  backoff_ = cfg_.backoff_min;
  std::lock_guard<std::mutex> guard{stats_mu_};
  stats_.connected = true;
  if (connected_once_)
    ++stats_.reconnects;
  connected_once_ = true;
  return true;
}

void batch_writer::backoff_sleep() {
  auto base = backoff_;
  backoff_ = std::min(cfg_.backoff_max, backoff_ * 2);
  std::uniform_int_distribution<long long> jitter(base.count() / 2, base.count() * 3 / 2);
  auto d = std::chrono::milliseconds{jitter(rng_)};
  std::unique_lock<std::mutex> lk{mu_};
  cv_.wait_for(lk, d, [this] { return stopping_; });
}

void batch_writer::expire(std::vector<item>& batch, std::vector<completion>& out, bool all,
                          storage_errc why) {
  auto now = clock::now();
  size_t keep = 0;
  for (size_t idx = 0; idx < batch.size(); ++idx) {
    auto& it = batch[idx];
    if (!all && now < it.deadline) {
      if (keep != idx)
        batch[keep] = std::move(it); // never self-move: it would empty the item
      ++keep;
      continue;
    }
    if (it.maybe_sent)
      out.emplace_back(std::move(it.reply),
                       op_result::failure(storage_errc::outcome_unknown,
                                          "the database connection broke after the commit was "
                                          "sent and it could not be confirmed in time; the "
                                          "write may or may not have been applied"));
    else if (why == storage_errc::timeout && !conn_.connected())
      out.emplace_back(std::move(it.reply), op_result::failure(storage_errc::unavailable,
                                                    "the database could not be reached before "
                                                    "the write's deadline; it was not applied"));
    else if (why == storage_errc::timeout)
      out.emplace_back(std::move(it.reply), op_result::failure(storage_errc::timeout,
                                                    "the write's deadline passed before it "
                                                    "could be sent; it was not applied"));
    else
      out.emplace_back(std::move(it.reply), op_result::failure(why, "the storage writer is stopping; the "
                                                         "write was not applied"));
  }
  batch.resize(keep);
}

} // namespace millrace::storage
