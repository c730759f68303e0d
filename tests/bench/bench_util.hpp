// Small helpers shared by the benchmark programs: a scratch database on the
// server named by MILLRACE_TEST_DATABASE_URL (or --database-url), percentiles,
// CPU time.

#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "storage/migrations.hpp"
#include "storage/pg/connection.hpp"

namespace millrace::bench {

/// SCHEDULER=sharing|stealing (the actors.scheduler setting, default
/// sharing) for side-by-side runs; exits on anything else.
inline std::string scheduler_from_env() {
  const char* v = std::getenv("SCHEDULER");
  std::string s = v == nullptr || *v == '\0' ? "sharing" : v;
  if (s != "sharing" && s != "stealing") {
    std::fprintf(stderr, "SCHEDULER=%s: expected sharing or stealing\n", s.c_str());
    std::exit(2);
  }
  return s;
}

/// THREADS=N (the actors.threads setting, default 0: one less than the
/// cores, at least 1) for side-by-side runs; exits on anything but 0-256.
inline size_t threads_from_env() {
  const char* v = std::getenv("THREADS");
  if (v == nullptr || *v == '\0')
    return 0;
  char* end = nullptr;
  unsigned long n = std::strtoul(v, &end, 10);
  if (*end != '\0' || n > 256) {
    std::fprintf(stderr, "THREADS=%s: expected a number of scheduler threads, 0-256\n", v);
    std::exit(2);
  }
  return n;
}

/// `server` (key=value conninfo or a postgres:// URL) pointed at database
/// `db`.
inline std::string with_dbname(const std::string& server, const std::string& db) {
  for (const char* scheme : {"postgres://", "postgresql://"}) {
    std::string s{scheme};
    if (server.compare(0, s.size(), s) != 0)
      continue;
    auto q = server.find('?', s.size());
    auto slash = server.find('/', s.size());
    auto host_end = std::min(slash, q);
    auto rest = q == std::string::npos ? std::string{} : server.substr(q);
    return server.substr(0, host_end) + "/" + db + rest;
  }
  return server + " dbname=" + db;
}

/// Creates a fresh, migrated database for one benchmark run; drops it after.
class bench_database {
public:
  explicit bench_database(const std::string& server) : server_(server) {
    name_ = "millrace_bench_" + std::to_string(::getpid());
    storage::pg::connection admin{storage::pg::connect_options{server_}};
    admin.exec("DROP DATABASE IF EXISTS " + name_);
    admin.exec("CREATE DATABASE " + name_);
    conninfo_ = with_dbname(server_, name_);
    storage::pg::connection c{storage::pg::connect_options{conninfo_}};
    storage::apply_migrations(c, storage::builtin_migrations());
    c.exec("SELECT millrace_ensure_partitions(2)");
  }
  ~bench_database() {
    try {
      storage::pg::connection admin{storage::pg::connect_options{server_}};
      admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
  }
  const std::string& conninfo() const { return conninfo_; }

private:
  std::string server_, name_, conninfo_;
};

inline std::string server_from_env(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--database-url")
      return argv[i + 1];
  if (auto* u = std::getenv("MILLRACE_TEST_DATABASE_URL"))
    return u;
  if (auto* u = std::getenv("PGURL"))
    return u;
  std::fprintf(stderr, "no database: set MILLRACE_TEST_DATABASE_URL or pass --database-url "
                       "(make bench starts a throwaway PostgreSQL)\n");
  std::exit(2);
}

/// p in [0, 100]; `v` is sorted in place.
inline double percentile(std::vector<double>& v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

/// CPU seconds (user + system) used by this process so far.
inline double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

inline std::string uuid_for(uint64_t n, uint32_t run) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-0000-7000-8000-%012llx", run,
                static_cast<unsigned long long>(n));
  return buf;
}

} // namespace millrace::bench
