// OTP-style supervision on top of CAF 0.17 monitors and exit messages. Terms
// follow Erlang's supervisor module on purpose, so its documentation applies:
// child specs with restart types, one_for_one / one_for_all / rest_for_one,
// restart intensity over a period, ordered start and reverse-ordered stop with
// per-child shutdown timeouts.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"
#include "caf/timespan.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace millrace::actors {

class registry;

/// When a terminated child is started again.
enum class restart_type : uint8_t {
  /// Always restarted. For services that must exist: storage, dispatcher.
  permanent = 0,
  /// Restarted only after an abnormal exit, i.e. any exit reason other than
  /// `normal` or `user_shutdown`.
  transient = 1,
  /// Never restarted. For one-shot helpers.
  temporary = 2,
};

/// Which children restart together when one of them fails.
enum class restart_strategy : uint8_t {
  one_for_one = 0,  ///< Only the failed child.
  one_for_all = 1,  ///< All children; they share state and cannot run apart.
  rest_for_one = 2, ///< The failed child and all children started after it.
};

/// What a child's start function gets.
struct child_context {
  caf::actor_system& sys;
  /// The child's registry path, e.g. /millrace/storage/writer.
  std::string path;
  std::shared_ptr<registry> reg;
};

/// One supervised child. Children start in list order and stop in reverse.
struct child_spec {
  /// Unique per supervisor; the last component of the child's path.
  std::string id;
  /// Shown in the registry and the REPL, e.g. "storage_writer".
  std::string kind;
  /// Spawns the child. Must not link to anything: the supervisor monitors the
  /// returned handle and decides what a termination means.
  std::function<caf::actor(const child_context&)> start;
  restart_type restart = restart_type::permanent;
  /// Time between the polite exit request (user_shutdown) and the forced
  /// `kill`. `caf::timespan::max()` waits forever: give it to child
  /// supervisors so their subtree stops in order.
  caf::timespan shutdown = std::chrono::seconds{5};
};

/// Restart budget. More than `intensity` restarts within `period` make the
/// supervisor stop all children and exit with
/// supervision_errc::restart_intensity_exceeded, handing the decision to its
/// own supervisor. Defaults match OTP: 1 restart per 5 seconds.
struct supervisor_flags {
  restart_strategy strategy = restart_strategy::one_for_one;
  uint32_t intensity = 1;
  caf::timespan period = std::chrono::seconds{5};
};

struct supervisor_config {
  /// Registry path of the supervisor itself.
  std::string path;
  supervisor_flags flags;
  std::vector<child_spec> children;
  std::shared_ptr<registry> reg;
  /// Supervisor reports (crashes, restarts, escalations). May be null.
  std::shared_ptr<spdlog::logger> log;
};

/// Spawns a supervisor, which starts `cfg.children` in order and registers
/// each. The supervisor itself is registered by its parent (or, for a root,
/// by spawn_root_supervisor).
///
/// A restarted child gets a new handle. Code that talks to a supervised actor
/// resolves it through the registry for each conversation.
///
/// Stopping: send it an exit message (user_shutdown). It stops its children
/// one by one in reverse start order, each within its shutdown timeout (then
/// `kill`), and exits with the same reason.
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg);

/// Spawns a supervisor and registers it at `cfg.path` with no parent.
caf::actor spawn_root_supervisor(caf::actor_system& sys, supervisor_config cfg);

/// A child spec for a nested supervisor (kind "supervisor", infinite shutdown).
child_spec supervisor_spec(std::string id, supervisor_flags flags,
                           std::vector<child_spec> children,
                           std::shared_ptr<spdlog::logger> log = nullptr,
                           restart_type restart = restart_type::permanent);

/// @relates restart_type
std::string to_string(restart_type x);

/// @relates restart_strategy
std::string to_string(restart_strategy x);

} // namespace millrace::actors
