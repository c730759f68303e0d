// `millrace standalone` and `millrace server`: the API, dispatcher, flows and
// storage in one process, on the embedded PostgreSQL unless a database URL is
// configured. standalone also runs the worker slots; server publishes the
// cluster endpoint that worker nodes join (and runs local slots only if
// worker.slots says so), and takes the active-server lock first, so that a
// second server on the same database waits as a standby.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/cluster/gateway.hpp"
#include "actors/cluster/link.hpp"
#include "actors/cluster/node_config.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/actor_config.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/root.hpp"
#include "api/cli/commands.hpp"
#include "api/cli/database.hpp"
#include "api/cli/root_config.hpp"
#include "api/cli/server_lock.hpp"
#include "api/cli/shutdown.hpp"
#include "api/cli/tokens.hpp"
#include "storage/pg/connection.hpp"
#include "runtime/runtime.hpp"

namespace millrace::api {

namespace {

enum class role { standalone, server };

int run(const std::vector<std::string>& args, role r) {
  const char* name = r == role::server ? "server" : "standalone";
  options opts;
  std::string secret;
  std::pair<std::string, uint16_t> listen;
  try {
    opts = load_options(args);
    if (r == role::server) {
      try {
        listen = actors::parse_servers(opts.cluster_listen, true).at(0);
      } catch (const std::exception& e) {
        throw config_error(std::string("cluster.listen: ") + e.what());
      }
      secret = cluster_secret_of(opts);
    }
  } catch (const config_error& e) {
    std::cerr << "millrace: config error: " << e.what() << "\n";
    return 2;
  }
  setup_logging_of(opts);
  block_shutdown_signals();
  auto log = actors::logger_for(actors::paths::root);
  database_handle db;
  std::shared_ptr<sandbox::launcher> launcher;
  server_lock lock;
  try {
    if (opts.worker_slots > 0) {
      launcher = make_launcher(opts);
      log->info("sandbox: {}", launcher->describe());
    }
    // Also without local slots: the API infers script schemas with them.
    runtime::install_support_files();
    db = open_database(opts);
    if (r == role::server && !lock.acquire(db.conninfo, opts.connect_timeout)) {
      if (db.embedded)
        db.embedded->stop();
      return 0;
    }
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
  static std::atomic<bool> lock_lost{false};
  if (r == role::server)
    lock.watch([] {
      lock_lost.store(true);
      ::kill(::getpid(), SIGTERM);
    });
  int rc;
  {
    actors::millrace_config cfg{static_cast<size_t>(opts.threads), *actors::parse_scheduler_policy(opts.scheduler)};
    actors::cluster_tls tls{opts.tls_certificate, opts.tls_key, opts.tls_cafile};
    if (r == role::server)
      actors::enable_cluster(cfg, opts.cluster_heartbeat, opts.cluster_timeout,
                             opts.cluster_tls ? &tls : nullptr);
    caf::actor_system sys{cfg};
    auto reg = std::make_shared<actors::registry>();
    auto rc_cfg = make_root_config(opts, db.conninfo, launcher, r == role::server);
    if (r == role::server) {
      // Attempts running on worker nodes survive a restart of this server
      // (or a failover to a standby): their nodes rejoin and carry on.
      rc_cfg.dispatcher.adopt_remote = true;
      actors::gateway_config gc;
      gc.secret = secret;
      gc.bind = listen.first;
      gc.port = listen.second;
      gc.server_name = actors::this_node({}, {}, 0).name;
      rc_cfg.extra.insert(rc_cfg.extra.begin(), actors::gateway_spec(std::move(gc)));
    }
    auto root = actors::spawn_root(sys, reg, std::move(rc_cfg));
    log->info("millrace {} {} is running (Ctrl-C stops it)", MILLRACE_VERSION, name);
    rc = wait_for_shutdown(sys, root, opts.shutdown_timeout);
    if (lock_lost.load())
      rc = 1; // it did not choose to stop: say so to systemd and scripts
  }
  launcher.reset(); // kills and reaps anything the slots left behind
  if (db.embedded)
    db.embedded->stop();
  return rc;
}

} // namespace

int cmd_standalone(const std::vector<std::string>& args) {
  return run(args, role::standalone);
}

int cmd_server(const std::vector<std::string>& args) {
  return run(args, role::server);
}

} // namespace millrace::api
