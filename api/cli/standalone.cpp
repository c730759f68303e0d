// `millrace standalone`: everything in one process, on the embedded
// PostgreSQL unless a database URL is configured.

#include <iostream>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/paths.hpp"
#include "actors/system/actor_config.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/root.hpp"
#include "api/cli/commands.hpp"
#include "api/cli/database.hpp"
#include "api/cli/root_config.hpp"
#include "api/cli/shutdown.hpp"
#include "api/cli/tokens.hpp"
#include "storage/pg/connection.hpp"
#include "runtime/runtime.hpp"

namespace millrace::api {

int cmd_standalone(const std::vector<std::string>& args) {
  options opts;
  try {
    opts = load_options(args);
  } catch (const config_error& e) {
    std::cerr << "millrace: config error: " << e.what() << "\n";
    return 2;
  }
  actors::setup_logging({opts.log_format == "json" ? actors::log_format::json
                                                   : actors::log_format::human,
                         opts.log_level});
  block_shutdown_signals();
  auto log = actors::logger_for(actors::paths::root);
  database_handle db;
  std::shared_ptr<sandbox::launcher> launcher;
  try {
    if (opts.worker_slots > 0) {
      launcher = make_launcher(opts);
      log->info("sandbox: {}", launcher->describe());
      runtime::install_support_files();
    }
    db = open_database(opts);
    storage::pg::connection conn{storage::pg::connect_options{db.conninfo, opts.connect_timeout,
                                                             "millrace-setup"}};
    if (auto token = ensure_first_admin_token(conn, opts.admin_token_file); !token.empty()) {
      std::cerr << "\nFirst start: created an admin token. It is shown once:\n\n    " << token
                << "\n\n"
                << (opts.admin_token_file.empty()
                      ? std::string{}
                      : "It is also in " + opts.admin_token_file
                          + " (readable by this user only); the CLI reads it from there.\n\n");
    }
  } catch (const std::exception& e) {
    log->error("cannot start: {}", e.what());
    return 1;
  }
  int rc;
  {
    actors::millrace_config cfg{static_cast<size_t>(opts.threads)};
    caf::actor_system sys{cfg};
    auto reg = std::make_shared<actors::registry>();
    auto root = actors::spawn_root(sys, reg, make_root_config(opts, db.conninfo, launcher));
    log->info("millrace {} standalone is running (Ctrl-C stops it)", MILLRACE_VERSION);
    rc = wait_for_shutdown(sys, root, opts.shutdown_timeout);
  }
  launcher.reset(); // kills and reaps anything the slots left behind
  if (db.embedded)
    db.embedded->stop();
  return rc;
}

} // namespace millrace::api
