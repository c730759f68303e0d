// Counters of the batch writer, in a header of their own so message
// definitions can carry them without pulling in the writer.

#pragma once

#include <cstdint>

namespace millrace::storage {

/// Counters since start. Read with batch_writer::stats().
/// Upper bounds of writer_stats::commit_buckets (the last is +Inf).
constexpr uint64_t commit_bounds_micros[9] = {250, 500, 1000, 2000, 5000, 10000, 25000, 100000,
                                              UINT64_MAX};

struct writer_stats {
  uint64_t batches = 0;
  uint64_t writes = 0;
  uint64_t executions = 0;   // statement executions sent
  uint64_t max_batch = 0;
  uint64_t reconnects = 0;
  uint64_t resent_batches = 0; // re-sent after a broken connection
  uint64_t isolations = 0;     // batches re-run one write per transaction
  uint64_t failed_writes = 0;
  uint64_t commit_micros = 0;  // total time from taking a batch to answering it
  uint64_t encode_micros = 0;  // building the statements of batches
  uint64_t server_micros = 0;  // waiting for the server (send, execute, commit)
  uint64_t decode_micros = 0;  // handing rows back to writes
  /// Batch sizes: [1], [2,4], [5,16], [17,64], [65,256], [257,1024], [1025,...]
  uint64_t size_buckets[7] = {0, 0, 0, 0, 0, 0, 0};
  /// Batch commit latency (taking a batch to answering it), cumulative
  /// counts of batches at or under each bound of commit_bounds_micros.
  uint64_t commit_buckets[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  bool connected = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, writer_stats& x) {
  return f(x.batches, x.writes, x.executions, x.max_batch, x.reconnects, x.resent_batches,
           x.isolations, x.failed_writes, x.commit_micros, x.encode_micros, x.server_micros,
           x.decode_micros, x.size_buckets, x.commit_buckets, x.connected);
}

} // namespace millrace::storage
