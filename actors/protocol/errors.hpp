// Registers every error-code enum of the project with CAF, so the codes travel
// inside caf::error (also across nodes) and render as text.
// Include this (not the enum headers) wherever a caf::error is built from them.

#pragma once

#include "caf/error.hpp"
#include "caf/message.hpp"
#include "caf/make_message.hpp"

#include "actors/protocol/cluster_errc.hpp"
#include "actors/protocol/dispatch_errc.hpp"
#include "actors/protocol/supervision_errc.hpp"
#include "storage/errors.hpp"

CAF_ERROR_CODE_ENUM(millrace::storage::storage_errc, "storage")
CAF_ERROR_CODE_ENUM(millrace::actors::supervision_errc, "supervise")
CAF_ERROR_CODE_ENUM(millrace::actors::dispatch_errc, "dispatch")
CAF_ERROR_CODE_ENUM(millrace::actors::cluster_errc, "cluster")

namespace caf {
class actor_system_config;
} // namespace caf

namespace millrace::actors {

/// Lets the actor system render our error codes (actor_system::render).
void add_error_categories(caf::actor_system_config& cfg);

/// "storage: overloaded (queue full)" style text for any caf::error.
std::string describe(const caf::error& err);

/// The human part of an error: its context text when it has one (what the
/// dispatcher said, e.g. "args: must be a JSON object"), else describe().
std::string message_of(const caf::error& err);

} // namespace millrace::actors
