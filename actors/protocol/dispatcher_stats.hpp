// Counters and gauges of the dispatcher, for status, metrics and benchmarks.

#pragma once

#include <cstdint>
#include <map>
#include <vector>
#include <string>

namespace millrace::actors {

struct dispatcher_stats {
  uint64_t submitted = 0;
  uint64_t rejected = 0;        // refused at admission (overloaded, invalid)
  uint64_t started = 0;         // attempts started on a slot
  uint64_t completed = 0;       // terminal states recorded
  uint64_t requeued = 0;        // attempts given back (slot lost, lease expired, recovery)
  uint64_t poisoned = 0;        // failed after too many lost attempts
  uint64_t fenced = 0;          // completions/renewals rejected as stale
  uint64_t queued = 0;          // gauge: runnable now
  uint64_t delayed = 0;         // gauge: scheduled for later
  uint64_t running = 0;         // gauge
  uint64_t slots = 0;           // gauge: registered slots
  uint64_t idle_slots = 0;      // gauge
  bool recovering = false;      // the live queue is still being read at start-up
  /// gauge: entries in the idle-slot lists (all tags and lanes), stale ones
  /// included; bounded by a small multiple of the slots.
  uint64_t idle_entries = 0;
  std::map<std::string, uint64_t> queued_by_tag;
  /// Terminal states recorded, by status.
  std::map<std::string, uint64_t> completed_by_status;
  /// Dispatch latency (runnable -> handed to a slot): cumulative counts of
  /// attempts at or under each bound of dispatch_bounds_micros, and the sum.
  std::vector<uint64_t> dispatch_buckets = std::vector<uint64_t>(12, 0);
  uint64_t dispatch_micros_sum = 0;
};

/// Upper bounds of dispatcher_stats::dispatch_buckets (the last is +Inf).
inline const std::vector<uint64_t>& dispatch_bounds_micros() {
  static const std::vector<uint64_t> b = {100,   250,    500,     1000,    2500,    5000,
                                          10000, 100000, 1000000, 10000000, 60000000, UINT64_MAX};
  return b;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dispatcher_stats& x) {
  return f(x.submitted, x.rejected, x.started, x.completed, x.requeued, x.poisoned, x.fenced,
           x.queued, x.delayed, x.running, x.slots, x.idle_slots, x.recovering, x.idle_entries,
           x.queued_by_tag, x.completed_by_status, x.dispatch_buckets, x.dispatch_micros_sum);
}

} // namespace millrace::actors
