#include "storage/migrations.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "storage/embedded_file.hpp"
#include "storage/pg/connection.hpp"

namespace millrace::storage {

namespace {

// "millrace" as a 64-bit number; shared by every process of the cluster.
constexpr const char* lock_key = "7883933935478669669";

std::string fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

const char* create_table = "CREATE TABLE IF NOT EXISTS millrace_migration ("
                           " version integer PRIMARY KEY,"
                           " name text NOT NULL,"
                           " checksum text NOT NULL,"
                           " applied_at timestamptz NOT NULL DEFAULT now())";

} // namespace

std::vector<migration> builtin_migrations() {
  std::vector<migration> out;
  for (auto& f : migration_files()) {
    std::string name = f.name;
    size_t digits = 0;
    while (digits < name.size() && isdigit(static_cast<unsigned char>(name[digits])))
      ++digits;
    if (digits == 0 || digits >= name.size() || name[digits] != '_')
      throw std::invalid_argument("migration file '" + name
                                  + "' must be named NNNN_description.sql");
    migration m;
    m.version = std::stoi(name.substr(0, digits));
    m.name = name;
    m.sql = f.text;
    m.checksum = fnv1a(m.sql);
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const migration& a, const migration& b) { return a.version < b.version; });
  for (size_t i = 1; i < out.size(); ++i)
    if (out[i].version == out[i - 1].version)
      throw std::invalid_argument("migrations '" + out[i - 1].name + "' and '" + out[i].name
                                  + "' share version " + std::to_string(out[i].version));
  return out;
}

int latest_schema_version() {
  static const int v = [] {
    auto ms = builtin_migrations();
    return ms.empty() ? 0 : ms.back().version;
  }();
  return v;
}

int current_schema_version(pg::connection& conn) {
  auto exists = conn.query("SELECT to_regclass('millrace_migration') IS NOT NULL");
  if (exists.rows.at(0).at(0).text != "t")
    return 0;
  auto rs = conn.query("SELECT COALESCE(max(version), 0) FROM millrace_migration");
  return std::stoi(rs.rows.at(0).at(0).text);
}

migrate_report apply_migrations(pg::connection& conn, const std::vector<migration>& ms) {
  migrate_report report;
  int latest = ms.empty() ? 0 : ms.back().version;
  conn.exec("BEGIN");
  try {
    conn.exec(std::string("SELECT pg_advisory_xact_lock(") + lock_key + ")");
    conn.exec(create_table);
    auto rs = conn.query("SELECT version, name, checksum FROM millrace_migration ORDER BY version");
    std::map<int, std::pair<std::string, std::string>> applied;
    for (auto& row : rs.rows)
      applied[std::stoi(row[0].text)] = {row[1].text, row[2].text};
    report.from_version = applied.empty() ? 0 : applied.rbegin()->first;
    if (report.from_version > latest)
      throw migration_error(storage_errc::schema_too_new,
                            "the database schema is at version "
                              + std::to_string(report.from_version)
                              + ", newer than this binary's version " + std::to_string(latest)
                              + " (" + applied.rbegin()->second.first
                              + "); run a newer millrace or restore a matching database");
    for (auto& m : ms) {
      auto i = applied.find(m.version);
      if (i != applied.end()) {
        if (i->second.second != m.checksum)
          throw migration_error(storage_errc::database_error,
                                "migration " + m.name + " was changed after it was applied "
                                  "(recorded as " + i->second.first
                                  + "); migrations are immutable, add a new one instead");
        continue;
      }
      try {
        conn.exec(m.sql);
      } catch (const pg::error& e) {
        throw migration_error(storage_errc::database_error,
                              "migration " + m.name + " failed: " + e.what());
      }
      conn.query("INSERT INTO millrace_migration (version, name, checksum) VALUES ($1, $2, $3)",
                 {std::to_string(m.version), m.name, m.checksum});
      report.applied.push_back(m.name);
    }
    conn.exec("COMMIT");
  } catch (...) {
    try {
      conn.exec("ROLLBACK");
    } catch (...) {
      // the connection is gone; the server rolls back by itself
    }
    throw;
  }
  report.to_version = std::max(report.from_version, latest);
  return report;
}

} // namespace millrace::storage
