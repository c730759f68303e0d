// The private PostgreSQL cluster that `millrace standalone` runs when no
// database URL is configured. It lives under one directory (default var/pg):
//
//   var/pg/data/        PGDATA, created by initdb on first use
//   var/pg/run/         the unix socket (no TCP listener at all)
//   var/pg/log/         server log and the output of initdb/pg_ctl
//   var/pg/millrace.lock  held while a millrace process uses the cluster
//
// initdb refuses to run as root, so as root the cluster belongs to the
// `postgres` OS user and every server command runs through runuser. Server
// processes run in their own session, so a Ctrl-C at the terminal reaches
// millrace only; millrace then stops the cluster itself, after its actors.

#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace spdlog {
class logger;
} // namespace spdlog

namespace millrace::storage {

struct embedded_config {
  /// Root of the cluster's files.
  std::string dir = "var/pg";
  /// Directory holding initdb and pg_ctl; empty picks the newest
  /// /usr/lib/postgresql/<version>/bin.
  std::string bin_dir;
  /// OS user owning the cluster when millrace runs as root.
  std::string root_os_user = "postgres";
  /// Database created for millrace inside the cluster.
  std::string database = "millrace";
  std::chrono::seconds start_timeout{60};
  std::shared_ptr<spdlog::logger> log;
};

class embedded_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class embedded_cluster {
public:
  explicit embedded_cluster(embedded_config cfg);
  ~embedded_cluster();

  embedded_cluster(const embedded_cluster&) = delete;
  embedded_cluster& operator=(const embedded_cluster&) = delete;

  /// Creates the cluster on first use, starts it (or adopts one left running
  /// by a crashed millrace), waits until it accepts connections, creates the
  /// database and returns its conninfo. Throws embedded_error with a message
  /// a user can act on.
  std::string start();

  /// Stops the server (fast shutdown: sessions end, data is flushed) and
  /// releases the lock. Idempotent.
  void stop();

  const std::string& conninfo() const { return conninfo_; }

  /// The conninfo of the cluster under `cfg.dir` if a server of it is
  /// running now (its socket exists), e.g. for CLI commands while
  /// `millrace standalone` owns it; "" otherwise.
  static std::string running_conninfo(const embedded_config& cfg);
  /// Absolute path of the data directory.
  const std::string& data_dir() const { return data_; }

private:
  /// Runs a server command (as the cluster's owner), output appended to the
  /// ctl log. Returns the exit status, or -1 if it could not be started.
  int run(const std::vector<std::string>& argv);
  void take_lock();
  void clear_stale_pid_file();
  void wait_ready();

  embedded_config cfg_;
  std::string root_;
  std::string data_;
  std::string run_dir_;
  std::string log_dir_;
  std::string bin_;
  std::string owner_; // empty when running as ourselves
  std::string conninfo_;
  int lock_fd_ = -1;
  bool started_ = false;
};

/// The newest /usr/lib/postgresql/<version>/bin, or empty.
std::string find_postgres_bin_dir();

} // namespace millrace::storage
