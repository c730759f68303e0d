// Counters and gauges of the dispatcher, for status, metrics and benchmarks.

#pragma once

#include <cstdint>
#include <map>
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
  std::map<std::string, uint64_t> queued_by_tag;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dispatcher_stats& x) {
  return f(x.submitted, x.rejected, x.started, x.completed, x.requeued, x.poisoned, x.fenced,
           x.queued, x.delayed, x.running, x.slots, x.idle_slots, x.recovering,
           x.queued_by_tag);
}

} // namespace millrace::actors
