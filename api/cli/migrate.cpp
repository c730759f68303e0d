// `millrace migrate`: applies the schema migrations and exits.
// `millrace version`: prints versions.

#include <iostream>

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include "caf/config.hpp"

#include "actors/system/logging.hpp"
#include "api/cli/root_config.hpp"
#include "api/cli/commands.hpp"
#include "api/cli/database.hpp"
#include "api/cli/shutdown.hpp"
#include "storage/migrations.hpp"

namespace millrace::api {

int cmd_migrate(const std::vector<std::string>& args) {
  options opts;
  try {
    opts = load_options(args);
  } catch (const config_error& e) {
    std::cerr << "millrace: config error: " << e.what() << "\n";
    return 2;
  }
  setup_logging_of(opts);
  block_shutdown_signals();
  try {
    auto db = open_database(opts);
    std::cout << "schema version " << storage::latest_schema_version() << "\n";
    if (db.embedded)
      db.embedded->stop();
  } catch (const std::exception& e) {
    actors::logger_for("/millrace")->error("migration failed: {}", e.what());
    return 1;
  }
  return 0;
}

int cmd_version(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::cerr << "millrace version: takes no arguments\n";
    return 2;
  }
  auto pq = PQlibVersion();
  std::cout << "millrace " << MILLRACE_VERSION << "\n"
            << "schema " << storage::latest_schema_version() << "\n"
            << "CAF " << CAF_VERSION / 10000 << "." << (CAF_VERSION / 100) % 100 << "."
            << CAF_VERSION % 100 << "\n"
            << "libpq " << pq / 10000 << "." << pq % 10000 << "\n";
  return 0;
}

} // namespace millrace::api
