// What a responder holds: the way back to its session. The first answer
// wins; dropping every copy of the responder unanswered answers 500 and
// logs the lost request. Internal.

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "api/http/detail/core.hpp"
#include "api/http/types.hpp"

namespace millrace::api::http::detail {

class session;

class responder_state {
public:
  responder_state(std::weak_ptr<session> s, std::shared_ptr<lifeline> life,
                  std::shared_ptr<spdlog::logger> log, metrics::counter* dropped, uint64_t seq,
                  std::string what);
  ~responder_state();

  responder_state(const responder_state&) = delete;
  responder_state& operator=(const responder_state&) = delete;

  /// Any thread. Later calls are ignored (logged at debug).
  void answer(response r);

private:
  void deliver(response r);

  std::weak_ptr<session> session_;
  std::shared_ptr<lifeline> life_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::counter* dropped_; // only touched inside life_->run()
  uint64_t seq_;
  std::string what_; // "GET /pattern", for logs
  std::atomic<bool> answered_{false};
};

/// Wraps a state into the std::function handlers receive.
responder make_responder(std::shared_ptr<responder_state> state);

} // namespace millrace::api::http::detail
