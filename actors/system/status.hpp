// Builds an actor's answer to `status_atom`. Every supervised actor answers it,
// so the registry can show a one-line summary and the mailbox size of any path.

#pragma once

#include <string>
#include <utility>

#include "actors/protocol/status.hpp"

namespace millrace::actors {

/// `self` is any scheduled actor; call from inside its own handler only (the
/// mailbox may only be inspected by its owner).
template <class Self>
actor_status make_status(Self* self, std::string summary) {
  return actor_status{std::move(summary), static_cast<uint64_t>(self->mailbox().size())};
}

} // namespace millrace::actors
