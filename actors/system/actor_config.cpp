#include "actors/system/actor_config.hpp"

#include <thread>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/type_ids.hpp"

namespace millrace::actors {

std::optional<scheduler_policy> parse_scheduler_policy(const std::string& text) {
  if (text == "sharing")
    return scheduler_policy::sharing;
  if (text == "stealing")
    return scheduler_policy::stealing;
  return std::nullopt;
}

size_t default_scheduler_threads(unsigned cores) {
  // One core left to what works beside the actors: the storage writer and
  // readers, the sandbox reactor, the HTTP io threads and, embedded or on
  // the same host, PostgreSQL. The actors themselves need little CPU; an
  // extra scheduler thread mostly adds wake-ups. On this 2-core box one
  // thread against two (BENCHMARKS.md, stop 21): no-op drain 53.9k against
  // 48.5k jobs/s on average at 8.5-13.3 against 12.0-19.2 ms of own CPU per
  // 1,000 jobs, burst gap p99 0.18-0.24 against 0.42-1.36 ms.
  return cores > 1 ? cores - 1 : 1;
}

millrace_config::millrace_config(size_t threads, scheduler_policy policy) {
  add_message_types<caf::id_block::millrace>();
  add_message_types<caf::id_block::millrace_handles>();
  add_error_categories(*this);
  if (threads == 0)
    threads = default_scheduler_threads(std::thread::hardware_concurrency());
  set("scheduler.max-threads", threads);
  if (policy == scheduler_policy::sharing) {
    // One mutex-guarded queue and a condition variable (CAF's work_sharing
    // policy): every enqueue wakes a sleeping thread. With work stealing, a
    // message sent from a scheduler thread lands in that thread's own queue
    // and the other threads only find it when they next poll; an idle one
    // polls every relaxed-sleep-duration (below), so under load on 2 cores
    // the slots and the dispatcher stalled together in ~1 ms episodes
    // (BENCHMARKS.md: burst gap p99 2.5-3.7 ms stealing, 0.28-0.46 ms
    // sharing). Sharing also leaves an idle server asleep: 0.09 s of CPU in
    // 38 s against 1.74 s.
    set("scheduler.policy", caf::atom("sharing"));
    return;
  }
  // Idle workers: spin briefly, then wait on their condition variable, which
  // an enqueue from outside notifies at once. CAF's default middle phase
  // (500 polls with 50 us sleeps) adds up to a sleep quantum to every message
  // that arrives at low load, which is most of a sub-millisecond budget.
  set("work-stealing.aggressive-poll-attempts", 100);
  set("work-stealing.moderate-poll-attempts", 0);
  set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::milliseconds{1}});
}

} // namespace millrace::actors
