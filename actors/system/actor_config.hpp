// The actor-system configuration every millrace process uses: our type-ID
// block and error categories registered, scheduler threads set.

#pragma once

#include <cstddef>

#include "caf/actor_system_config.hpp"

namespace millrace::actors {

class millrace_config : public caf::actor_system_config {
public:
  /// `threads` = 0 uses one scheduler thread per core.
  explicit millrace_config(size_t threads = 0);
};

} // namespace millrace::actors
