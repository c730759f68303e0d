#include "actors/system/actor_config.hpp"

#include <thread>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/type_ids.hpp"

namespace millrace::actors {

millrace_config::millrace_config(size_t threads) {
  add_message_types<caf::id_block::millrace>();
  add_message_types<caf::id_block::millrace_handles>();
  add_error_categories(*this);
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", threads);
  // Idle workers: spin briefly, then wait on their condition variable, which
  // an enqueue from outside notifies at once. CAF's default middle phase
  // (500 polls with 50 us sleeps) adds up to a sleep quantum to every message
  // that arrives at low load, which is most of a sub-millisecond budget.
  set("work-stealing.aggressive-poll-attempts", 100);
  set("work-stealing.moderate-poll-attempts", 0);
  set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::milliseconds{1}});
}

} // namespace millrace::actors
