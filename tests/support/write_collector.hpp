// Collects batch_writer results for tests: each write's reply callback
// records its result under a token, and the test waits (on a condition
// variable, never a sleep) for the tokens it expects.

#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "storage/batch_writer.hpp"

namespace millrace::test {

/// A writer on the test database: short connect timeout and reconnect
/// back-off, so tests that break the connection do not wait long.
inline storage::writer_config writer_config_for(const std::string& conninfo) {
  using namespace std::chrono_literals;
  storage::writer_config cfg;
  cfg.connect =
    storage::pg::connect_options{conninfo, std::chrono::seconds{2}, "millrace-test-writer"};
  cfg.backoff_min = 10ms;
  cfg.backoff_max = 200ms;
  return cfg;
}

struct write_collector {
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, storage::op_result> results;

  /// The reply callback for the write known as `token`.
  storage::batch_writer::reply_fn reply(uint64_t token) {
    return [this, token](storage::op_result&& r) {
      std::lock_guard<std::mutex> guard{mu};
      results[token] = std::move(r);
      cv.notify_all();
    };
  }

  /// Waits until `n` results arrived; false on timeout.
  bool wait_for(size_t n, std::chrono::seconds limit = std::chrono::seconds{60}) {
    std::unique_lock<std::mutex> lk{mu};
    return cv.wait_for(lk, limit, [&] { return results.size() >= n; });
  }

  storage::op_result get(uint64_t token) {
    std::lock_guard<std::mutex> guard{mu};
    return results.at(token);
  }
};

/// A UUID made from a number: deterministic and unique within a test.
inline std::string test_uuid(uint64_t n, uint32_t salt = 0) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-0000-7000-8000-%012llx", salt,
                static_cast<unsigned long long>(n));
  return buf;
}

/// An enqueue_job write for a no-op job with id `id`.
inline storage::write_request enqueue_write(const std::string& id,
                                            const std::string& kind = "noop",
                                            const std::string& workspace = "admins") {
  auto null = storage::sql_value::null_value();
  return storage::write_request{
    "enqueue_job",
    {id, workspace, kind, null, null, null, null, "{}", "default", "0", null, null, null, null,
     "test", null, null, null},
    id};
}

} // namespace millrace::test
