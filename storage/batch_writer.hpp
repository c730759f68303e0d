// Group commit: the one component that writes to PostgreSQL.
//
// Callers submit writes from any thread; a dedicated thread owns the
// connection and turns everything queued into one transaction (libpq pipeline
// mode, prepared statements, bulk statements covering many writes). The next
// batch is whatever queued up while the previous one committed, so there is no
// fixed wait: one write at low load costs one round trip and one fsync, and
// batches grow by themselves under load, up to `batch_max`.
//
// Guarantees:
// - A write's result reports success only after its transaction committed.
// - If the connection breaks, the batch is sent again on a new connection.
//   This is safe because statements declare themselves idempotent; writes of
//   a non-idempotent statement whose commit outcome is unknown are answered
//   with storage_errc::outcome_unknown instead.
// - A write that cannot be committed before its deadline is answered with
//   `unavailable` (never sent), `outcome_unknown` (sent, fate unknown) or
//   `timeout`.
// - If one write is rejected by the database (a constraint, a bad value), the
//   batch is re-run one write per transaction so only that write fails.
//
// Each write's reply callback runs on the writer thread once its batch is
// settled (committed or failed); it must be cheap and must not block.

#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/pg/connection.hpp"
#include "storage/pg/pipeline.hpp"
#include "storage/statements.hpp"
#include "storage/values.hpp"
#include "storage/writer_stats.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace millrace::storage {

struct writer_config {
  pg::connect_options connect;
  /// Most writes in one transaction.
  size_t batch_max = 5000;
  /// Longest wait for the server to answer one batch before the connection
  /// is considered broken.
  std::chrono::milliseconds exec_timeout{30000};
  /// Reconnect backoff: starts at min, doubles up to max, with +-50% jitter.
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{5000};
  /// Logs reconnects and isolation runs. May be null.
  std::shared_ptr<spdlog::logger> log;
};

class batch_writer {
public:
  using clock = std::chrono::steady_clock;
  using reply_fn = std::function<void(op_result&&)>;

  batch_writer(writer_config cfg, const statement_registry& reg);
  ~batch_writer();

  batch_writer(const batch_writer&) = delete;
  batch_writer& operator=(const batch_writer&) = delete;

  /// Starts the writer thread. It connects lazily, on the first batch, and
  /// immediately when `connect_now` is set.
  void start(bool connect_now = true);

  /// Stops accepting writes, commits what is queued (giving up on writes
  /// whose deadline passes), answers the rest with shutting_down and joins.
  void stop();

  /// Like stop(), but returns at once; `stopped` runs on the writer thread
  /// after the last write was answered. The destructor joins the thread.
  void stop_async(std::function<void()> stopped);

  /// Queues a write. Never blocks on the database. Returns an error result
  /// right away (and does not call `reply`) for an unknown statement, a wrong
  /// parameter count or a stopping writer; otherwise `reply` is called once,
  /// on the writer thread, when the write's batch is settled.
  std::optional<op_result> submit(write_request req, clock::time_point deadline, reply_fn reply);

  /// Number of writes queued or in flight.
  size_t pending() const;

  writer_stats stats() const;

  /// Backend pid of the current connection (0 when disconnected). For tests
  /// that terminate the backend.
  int backend_pid() const { return backend_pid_.load(); }

private:
  using completion = std::pair<reply_fn, op_result>;

  struct item {
    reply_fn reply;
    write_request req;
    clock::time_point deadline;
    const statement_def* stmt;
    bool maybe_sent = false; // was in a batch whose commit outcome is unknown
  };

  void run();
  void process(std::vector<item>& batch);
  bool ensure_connected();
  void backoff_sleep();
  // Runs the batch as one transaction. Returns true when every item got a
  // result in `out` (committed, or failed for its own reasons).
  enum class attempt_outcome { done, retry, isolate };
  attempt_outcome attempt_batch(std::vector<item>& batch, std::vector<completion>& out);
  attempt_outcome attempt_isolated(std::vector<item>& batch, std::vector<completion>& out);
  static const statement_def* effective(const item& it, bool isolating);
  pg::pipeline_query make_query(const statement_def* st, const std::vector<item>& batch,
                                const std::vector<size_t>& writes) const;
  void expire(std::vector<item>& batch, std::vector<completion>& out, bool all, storage_errc why);
  void log_warn(const std::string& msg);

  writer_config cfg_;
  const statement_registry& reg_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<item> queue_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  bool started_ = false;
  bool exited_ = false;
  std::function<void()> on_stopped_;
  std::thread thread_;

  pg::connection conn_;
  /// Per statement: element type OID of each bulk parameter that is sent as
  /// a binary array, 0 for those sent as text. Filled at connect time.
  std::unordered_map<const statement_def*, std::vector<uint32_t>> binary_types_;
  std::atomic<int> backend_pid_{0};
  bool connected_once_ = false;
  std::chrono::milliseconds backoff_;
  std::mt19937_64 rng_;

  mutable std::mutex stats_mu_;
  writer_stats stats_;
};

} // namespace millrace::storage
