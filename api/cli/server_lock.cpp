#include "api/cli/server_lock.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/system/logging.hpp"

namespace millrace::api {

namespace {

/// "millrace" in ASCII: the advisory lock key of the active server.
constexpr const char* lock_key = "7883940425620840805";

std::string pq_error(PGconn* c) {
  std::string e = c ? PQerrorMessage(c) : "out of memory";
  while (!e.empty() && (e.back() == '\n' || e.back() == ' '))
    e.pop_back();
  return e;
}

} // namespace

struct server_lock::impl {
  PGconn* conn = nullptr;
  int stop_fd = -1;
  std::thread watcher;

  ~impl() {
    if (watcher.joinable()) {
      uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(stop_fd, &one, sizeof(one));
      watcher.join();
    }
    if (stop_fd >= 0)
      ::close(stop_fd);
    if (conn)
      PQfinish(conn); // releases the lock
  }
};

server_lock::server_lock() = default;
server_lock::~server_lock() = default;

bool server_lock::acquire(const std::string& conninfo, std::chrono::seconds connect_timeout) {
  auto log = actors::logger_for("/millrace");
  impl_ = std::make_unique<impl>();
  // conninfo may be key=value text or a postgresql:// URI: it goes in as
  // dbname with expand_dbname, and the settings here override it. TCP
  // keepalives notice a vanished database host within about 11 s, so a
  // server cut off from the database stops rather than run beside a standby
  // that took over.
  auto timeout = std::to_string(connect_timeout.count());
  // The server side gets the same keepalives: the database releases the
  // lock about 11 s after this machine vanishes, not after the OS default
  // of two hours.
  const char* keys[] = {"dbname",           "connect_timeout", "application_name",
                        "keepalives",       "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "options",         nullptr};
  const char* values[] = {conninfo.c_str(),
                          timeout.c_str(),
                          "millrace-server-lock",
                          "1",
                          "5",
                          "2",
                          "3",
                          "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
                          "-c tcp_keepalives_count=3",
                          nullptr};
  impl_->conn = PQconnectdbParams(keys, values, 1);
  auto* c = impl_->conn;
  if (!c || PQstatus(c) != CONNECTION_OK)
    throw std::runtime_error("cannot connect for the active-server lock: " + pq_error(c));
  auto one_bool = [&](const std::string& sql) -> int {
    PGresult* r = PQexec(c, sql.c_str());
    int out = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
      out = std::string(PQgetvalue(r, 0, 0)) == "t" ? 1 : 0;
    PQclear(r);
    return out;
  };
  auto got = one_bool(std::string("SELECT pg_try_advisory_lock(") + lock_key + ")");
  if (got < 0)
    throw std::runtime_error("cannot take the active-server lock: " + pq_error(c));
  if (got == 1)
    return true;
  log->info("standby: another millrace server is active on this database; waiting to take over");
  if (!PQsendQuery(c, (std::string("SELECT pg_advisory_lock(") + lock_key + ")").c_str()))
    throw std::runtime_error("cannot wait for the active-server lock: " + pq_error(c));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  for (;;) {
    pollfd p{PQsocket(c), POLLIN, 0};
    ::poll(&p, 1, 100);
    if (p.revents != 0) {
      if (!PQconsumeInput(c))
        throw std::runtime_error("lost the database while waiting as standby: " + pq_error(c));
      if (!PQisBusy(c)) {
        bool ok = true;
        while (PGresult* r = PQgetResult(c)) {
          ok = ok && PQresultStatus(r) == PGRES_TUPLES_OK;
          PQclear(r);
        }
        if (!ok)
          throw std::runtime_error("waiting for the active-server lock failed: " + pq_error(c));
        log->info("standby: the active server is gone; taking over");
        return true;
      }
    }
    timespec zero{0, 0};
    if (sigtimedwait(&set, nullptr, &zero) > 0) {
      log->info("standby: stopping");
      return false;
    }
  }
}

void server_lock::watch(std::function<void()> on_lost) {
  impl_->stop_fd = ::eventfd(0, EFD_CLOEXEC);
  impl_->watcher = std::thread([c = impl_->conn, stop = impl_->stop_fd, on_lost = std::move(on_lost)] {
    for (;;) {
      pollfd p[2] = {{PQsocket(c), POLLIN, 0}, {stop, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0)
        continue;
      if (p[1].revents != 0)
        return;
      if (p[0].revents != 0) {
        // Readable while idle: a notice, or the connection ending.
        if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
          actors::logger_for("/millrace")
            ->error("lost the database connection that holds the active-server lock ({}); "
                    "stopping so that a standby can take over",
                    pq_error(c));
          on_lost();
          return;
        }
        while (PGresult* r = PQgetResult(c))
          PQclear(r);
      }
    }
  });
}

} // namespace millrace::api
