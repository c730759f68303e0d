// Active-passive servers: the active `millrace server` holds a PostgreSQL
// advisory lock on a connection of its own for as long as it runs. A second
// server against the same database waits for that lock (standby) and starts
// when it gets it: the active server died, its connection closed, and the
// database released the lock. The database is not polled: the lock request
// is one query whose answer arrives when the lock is free (the wait checks
// its socket and the shutdown signals every 100 ms).

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace millrace::api {

class server_lock {
public:
  /// Connects and takes the lock, waiting (and logging that it waits) while
  /// another server holds it. Returns false if a shutdown signal (SIGINT,
  /// SIGTERM; blocked, see shutdown.hpp) arrived while waiting. Throws
  /// std::runtime_error when the database cannot be reached.
  bool acquire(const std::string& conninfo, std::chrono::seconds connect_timeout);

  /// From then on, a thread watches the lock's connection; if it breaks,
  /// `on_lost` runs on that thread (this server must stop: a standby may
  /// take over).
  void watch(std::function<void()> on_lost);

  server_lock();
  ~server_lock();
  server_lock(const server_lock&) = delete;
  server_lock& operator=(const server_lock&) = delete;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace millrace::api
