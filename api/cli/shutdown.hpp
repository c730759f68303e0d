// Signal handling for long-running commands. SIGINT and SIGTERM are blocked in
// every thread (block_shutdown_signals must run before any thread starts) and
// taken synchronously by wait_for_shutdown: the first one stops the root
// supervisor, which stops its children in reverse order; a second one forces
// the exit at once.

#pragma once

#include <chrono>

#include "caf/fwd.hpp"

namespace millrace::api {

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it
/// starts afterwards.
void block_shutdown_signals();

/// Waits until `root` is down, stopping it on the first signal. Returns the
/// exit code: 0 after a clean stop, 1 if the root stopped on its own (an
/// escalated failure). Exits the process at once on a second signal (130) or
/// when the clean stop takes longer than `limit` (1).
int wait_for_shutdown(caf::actor_system& sys, const caf::actor& root,
                      std::chrono::seconds limit);

} // namespace millrace::api
