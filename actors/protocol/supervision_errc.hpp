// Error codes of the supervision layer. Registered with CAF in errors.hpp.

#pragma once

#include <cstdint>
#include <string>

namespace millrace::actors {

enum class supervision_errc : uint8_t {
  none = 0,
  /// Indicates that more than `intensity` restarts happened within `period`;
  /// the supervisor stopped its children and exited, escalating to its parent.
  restart_intensity_exceeded = 1,
  /// Indicates that a child's start function returned no actor.
  child_start_failed = 2,
};

/// @relates supervision_errc
std::string to_string(supervision_errc x);

} // namespace millrace::actors
