#include "storage/reader_pool.hpp"

#include <spdlog/spdlog.h>

namespace millrace::storage {

reader_pool::reader_pool(reader_config cfg, const statement_registry& reg)
  : cfg_(std::move(cfg)), reg_(reg) {
  // nop
}

reader_pool::~reader_pool() {
  stop();
}

void reader_pool::start() {
  std::lock_guard<std::mutex> guard{mu_};
  if (!threads_.empty())
    return;
  live_threads_ = std::max<size_t>(1, cfg_.connections);
  for (size_t i = 0; i < live_threads_; ++i)
    threads_.emplace_back([this, i] { run(i); });
}

void reader_pool::stop() {
  stop_async(nullptr);
  // As in batch_writer::stop: the last reader thread's stop callback may
  // destroy the pool; that thread is let go instead of joining itself.
  for (auto& t : threads_) {
    if (!t.joinable())
      continue;
    if (t.get_id() == std::this_thread::get_id())
      t.detach();
    else
      t.join();
  }
  threads_.clear();
}

void reader_pool::stop_async(std::function<void()> stopped) {
  std::deque<item> dropped;
  bool run_now = false;
  {
    std::lock_guard<std::mutex> guard{mu_};
    stopping_ = true;
    dropped.swap(queue_);
    if (stopped) {
      if (live_threads_ == 0)
        run_now = true;
      else
        on_stopped_ = std::move(stopped);
    }
  }
  cv_.notify_all();
  for (auto& it : dropped)
    if (it.reply)
      it.reply(op_result::failure(storage_errc::shutting_down, "the reader pool is stopping"));
  if (run_now)
    stopped();
}

std::optional<op_result> reader_pool::submit(read_request req, clock::time_point deadline,
                                             reply_fn reply) {
  auto* st = reg_.find(req.statement);
  if (st == nullptr)
    return op_result::failure(storage_errc::unknown_statement,
                              "no statement named '" + req.statement + "'");
  if (st->mode != statement_mode::single)
    return op_result::failure(storage_errc::invalid_input,
                              "statement '" + st->name + "' is a bulk write, not a read");
  if (req.params.size() != static_cast<size_t>(st->param_count))
    return op_result::failure(storage_errc::invalid_input,
                              "statement '" + st->name + "' takes "
                                + std::to_string(st->param_count) + " parameters, got "
                                + std::to_string(req.params.size()));
  {
    std::lock_guard<std::mutex> guard{mu_};
    if (stopping_)
      return op_result::failure(storage_errc::shutting_down, "the reader pool is stopping");
    queue_.push_back(item{std::move(reply), std::move(req), deadline});
  }
  cv_.notify_one();
  return std::nullopt;
}

size_t reader_pool::pending() const {
  std::lock_guard<std::mutex> guard{mu_};
  return queue_.size() + running_;
}

bool reader_pool::connect(pg::connection& conn) {
  try {
    pg::connection c{cfg_.connect};
    c.exec("SET jit = off; SET default_transaction_read_only = on; SET statement_timeout = "
           + std::to_string(cfg_.query_timeout.count()));
    for (auto& def : reg_.all())
      if (def.mode == statement_mode::single)
        c.prepare(def.name, def.sql);
    conn = std::move(c);
    return true;
  } catch (const pg::error& e) {
    if (cfg_.log)
      cfg_.log->warn("storage reader cannot connect: {}", e.what());
    return false;
  }
}

op_result reader_pool::execute(pg::connection& conn, const item& it) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!conn.connected() && !connect(conn))
      return op_result::failure(storage_errc::unavailable, "the database cannot be reached");
    try {
      op_result r;
      r.rows = conn.query_prepared(it.req.statement, it.req.params);
      return r;
    } catch (const pg::error& e) {
      if (!e.connection_lost())
        return op_result::failure(errc_from_sqlstate(e.sqlstate()), e.what());
      conn.close(); // and retry once on a fresh connection
    }
  }
  return op_result::failure(storage_errc::unavailable, "the database connection broke twice");
}

void reader_pool::run(size_t) {
  pg::connection conn;
  connect(conn);
  std::unique_lock<std::mutex> lk{mu_};
  for (;;) {
    cv_.wait(lk, [this] { return !queue_.empty() || stopping_; });
    if (stopping_)
      break;
    auto it = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lk.unlock();
    op_result r;
    if (clock::now() >= it.deadline)
      r = op_result::failure(storage_errc::timeout, "the read waited past its deadline");
    else
      r = execute(conn, it);
    if (it.reply)
      it.reply(std::move(r));
    lk.lock();
    --running_;
  }
  std::function<void()> stopped;
  if (--live_threads_ == 0)
    stopped = std::move(on_stopped_);
  lk.unlock();
  if (stopped)
    stopped();
}

} // namespace millrace::storage
