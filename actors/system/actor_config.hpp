// The actor-system configuration every millrace process uses: our type-ID
// block and error categories registered, scheduler threads and policy set.

#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "caf/actor_system_config.hpp"

namespace millrace::actors {

/// How CAF's scheduler threads find work (the `actors.scheduler` setting).
enum class scheduler_policy {
  /// One queue for all threads; an idle thread sleeps on it and is woken by
  /// the next enqueue. The default: an actor that becomes ready runs on the
  /// first free thread at once, and idle threads use no CPU.
  sharing,
  /// CAF's default: a queue per thread, idle threads poll and steal from
  /// the others. Scales to more cores, but a thread that sleeps between
  /// polls leaves work queued behind a busy one (see actor_config.cpp).
  stealing,
};

/// "sharing" or "stealing"; nullopt for anything else.
std::optional<scheduler_policy> parse_scheduler_policy(const std::string& text);

/// Scheduler threads when `actors.threads` is 0: one less than the cores,
/// at least one.
size_t default_scheduler_threads(unsigned cores);

class millrace_config : public caf::actor_system_config {
public:
  /// `threads` = 0: default_scheduler_threads() of this machine's cores.
  explicit millrace_config(size_t threads = 0, scheduler_policy policy = scheduler_policy::sharing);
};

} // namespace millrace::actors
