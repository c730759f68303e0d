// Finding the database at start-up: the configured URL, or the embedded
// cluster; then the schema migrations.

#pragma once

#include <memory>
#include <string>

#include "api/config/options.hpp"
#include "storage/embedded_cluster.hpp"

namespace millrace::api {

struct database_handle {
  /// Conninfo every component connects with.
  std::string conninfo;
  /// Set when millrace runs the embedded cluster (stopped by its destructor).
  std::unique_ptr<storage::embedded_cluster> embedded;
};

/// Starts the embedded cluster when no URL is configured, then applies
/// migrations (retrying the first connection for up to 30 s). Throws
/// std::runtime_error with a message for the user.
database_handle open_database(const options& opts);

} // namespace millrace::api
