#include "api/cli/shutdown.hpp"

#include <signal.h>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/system/logging.hpp"

namespace millrace::api {

namespace {

sigset_t shutdown_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

} // namespace

void block_shutdown_signals() {
  auto set = shutdown_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_shutdown(caf::actor_system& sys, const caf::actor& root,
                      std::chrono::seconds limit) {
  auto log = actors::logger_for("/millrace");
  auto set = shutdown_set();
  bool stopping = false;
  bool down = false;
  caf::error reason;
  auto deadline = std::chrono::steady_clock::time_point::max();
  {
    caf::scoped_actor self{sys, true};
    self->monitor(root);
    while (!down) {
      timespec ts{0, 100 * 1000 * 1000};
      int sig = sigtimedwait(&set, nullptr, &ts);
      if (sig > 0) {
        if (!stopping) {
          log->info("received {}; stopping (send it again to force the exit)",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
          stopping = true;
          deadline = std::chrono::steady_clock::now() + limit;
          caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
        } else {
          log->warn("received a second signal; exiting without a clean stop");
          spdlog::shutdown();
          std::_Exit(130);
        }
      }
      self->receive([&](caf::down_msg& dm) {
                      down = true;
                      reason = dm.reason;
                    },
                    caf::after(std::chrono::seconds{0}) >> [] {});
      if (!down && std::chrono::steady_clock::now() > deadline) {
        log->error("clean shutdown took longer than {} s; exiting", limit.count());
        spdlog::shutdown();
        std::_Exit(1);
      }
    }
  }
  if (stopping) {
    log->info("stopped cleanly");
    return 0;
  }
  log->error("the root supervisor stopped on its own: {}", actors::describe(reason));
  return 1;
}

} // namespace millrace::api
