#include "api/cli/database.hpp"

#include <thread>

#include <spdlog/spdlog.h>

#include "actors/system/logging.hpp"
#include "storage/migrations.hpp"
#include "storage/pg/connection.hpp"

namespace millrace::api {

database_handle open_database(const options& opts) {
  auto log = actors::logger_for("/millrace/database");
  database_handle db;
  if (opts.database_url.empty()) {
    storage::embedded_config ec;
    ec.dir = opts.embedded_dir;
    ec.log = log;
    db.embedded = std::make_unique<storage::embedded_cluster>(ec);
    db.conninfo = db.embedded->start();
  } else {
    db.conninfo = opts.database_url;
  }
  storage::pg::connect_options co{db.conninfo, opts.connect_timeout, "millrace-migrate"};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  storage::pg::connection conn;
  for (auto wait = std::chrono::milliseconds{200};; wait = std::min(wait * 2, std::chrono::milliseconds{5000})) {
    try {
      conn = storage::pg::connection{co};
      break;
    } catch (const storage::pg::error& e) {
      if (std::chrono::steady_clock::now() + wait > deadline)
        throw std::runtime_error(std::string(e.what()) + " (gave up after 30 s)");
      log->warn("{}; retrying in {} ms", e.what(), wait.count());
      std::this_thread::sleep_for(wait);
    }
  }
  auto report = storage::apply_migrations(conn, storage::builtin_migrations());
  if (report.applied.empty())
    log->info("database schema is at version {} ({})", report.to_version,
              storage::pg::redact_conninfo(db.conninfo));
  else
    for (auto& name : report.applied)
      log->info("applied migration {}", name);
  return db;
}

} // namespace millrace::api
