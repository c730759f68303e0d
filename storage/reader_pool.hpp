// A small pool of read-only connections, each owned by its own thread, that
// runs named read statements. Reads never go through the batch writer, so a
// slow commit never delays a read and vice versa.
//
// Reader connections set default_transaction_read_only, so a read statement
// can never write. A read whose connection breaks is retried once on a new
// connection (reads have no side effects). Each read's reply callback runs on
// a reader thread.

#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "storage/pg/connection.hpp"
#include "storage/statements.hpp"
#include "storage/values.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace millrace::storage {

struct reader_config {
  pg::connect_options connect;
  /// Number of reader connections (and threads).
  size_t connections = 2;
  /// Server-side statement_timeout of a read.
  std::chrono::milliseconds query_timeout{30000};
  std::shared_ptr<spdlog::logger> log;
};

class reader_pool {
public:
  using clock = std::chrono::steady_clock;
  using reply_fn = std::function<void(op_result&&)>;

  reader_pool(reader_config cfg, const statement_registry& reg);
  ~reader_pool();

  reader_pool(const reader_pool&) = delete;
  reader_pool& operator=(const reader_pool&) = delete;

  void start();
  /// Answers queued reads with shutting_down, waits for running ones, joins.
  void stop();

  /// Like stop(), but returns at once; `stopped` runs (on a pool thread, or
  /// here if there are none) once every thread has finished its last read.
  void stop_async(std::function<void()> stopped);

  /// Queues a read; returns an error right away for an unknown statement or a
  /// wrong parameter count.
  std::optional<op_result> submit(read_request req, clock::time_point deadline, reply_fn reply);

  size_t pending() const;

private:
  struct item {
    reply_fn reply;
    read_request req;
    clock::time_point deadline;
  };

  void run(size_t index);
  op_result execute(pg::connection& conn, const item& it);
  bool connect(pg::connection& conn);

  reader_config cfg_;
  const statement_registry& reg_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<item> queue_;
  size_t running_ = 0;
  size_t live_threads_ = 0;
  bool stopping_ = false;
  std::function<void()> on_stopped_;
  std::vector<std::thread> threads_;
};

} // namespace millrace::storage
