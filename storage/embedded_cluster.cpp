#include "storage/embedded_cluster.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/pg/connection.hpp"

extern char** environ;

namespace millrace::storage {

namespace fs = std::filesystem;

namespace {

int version_of(const fs::path& p) {
  try {
    return std::stoi(p.filename().string());
  } catch (...) {
    return -1;
  }
}

} // namespace

std::string find_postgres_bin_dir() {
  std::error_code ec;
  fs::path best;
  int best_v = -1;
  for (auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    auto v = version_of(e.path());
    if (v > best_v && fs::exists(e.path() / "bin" / "pg_ctl")) {
      best_v = v;
      best = e.path() / "bin";
    }
  }
  return best.string();
}

embedded_cluster::embedded_cluster(embedded_config cfg) : cfg_(std::move(cfg)) {
  root_ = fs::absolute(cfg_.dir).lexically_normal().string();
  if (!root_.empty() && root_.back() == '/')
    root_.pop_back();
  data_ = root_ + "/data";
  run_dir_ = root_ + "/run";
  log_dir_ = root_ + "/log";
  bin_ = cfg_.bin_dir.empty() ? find_postgres_bin_dir() : cfg_.bin_dir;
  if (::geteuid() == 0)
    owner_ = cfg_.root_os_user;
}

embedded_cluster::~embedded_cluster() {
  stop();
}

int embedded_cluster::run(const std::vector<std::string>& argv) {
  std::vector<std::string> full;
  if (!owner_.empty()) {
    full = {"/usr/sbin/runuser", "-u", owner_, "--"};
    if (!fs::exists(full[0]))
      full[0] = "/sbin/runuser";
  }
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (auto& a : full)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  auto ctl_log = log_dir_ + "/ctl.log";
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, ctl_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own session: terminal signals (Ctrl-C) must not reach the postmaster.
  // Reset the signal mask: millrace blocks SIGINT/SIGTERM in all its threads.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK
                                    | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void embedded_cluster::take_lock() {
  auto path = root_ + "/millrace.lock";
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    throw embedded_error("cannot create " + path + ": " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw embedded_error("another millrace process is using the embedded database in " + root_
                         + "; stop it first, or set database.url to use a different database");
  }
}

void embedded_cluster::clear_stale_pid_file() {
  auto pidfile = data_ + "/postmaster.pid";
  std::ifstream in{pidfile};
  long pid = 0;
  if (!(in >> pid) || pid <= 0)
    return;
  bool alive = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  if (alive) {
    // Alive, but is it a postgres server? A pid reused by an unrelated
    // process after a crash must not block the start.
    std::error_code ec;
    auto exe = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).filename().string();
    if (ec || exe.find("postgres") != std::string::npos)
      return;
  }
  if (cfg_.log)
    cfg_.log->warn("removing stale {} (pid {} is not a running postgres)", pidfile, pid);
  fs::remove(pidfile);
}

void embedded_cluster::wait_ready() {
  auto deadline = std::chrono::steady_clock::now() + cfg_.start_timeout;
  std::string last;
  auto admin = "host=" + run_dir_ + " port=5432 dbname=postgres user=postgres";
  for (;;) {
    try {
      pg::connection c{pg::connect_options{admin, std::chrono::seconds{2}, "millrace-embedded"}};
      auto rs = c.query("SELECT 1 FROM pg_database WHERE datname = $1", {cfg_.database});
      if (rs.empty())
        c.exec("CREATE DATABASE \"" + cfg_.database + "\"");
      return;
    } catch (const pg::error& e) {
      last = e.what();
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw embedded_error("the embedded PostgreSQL did not accept connections within "
                           + std::to_string(cfg_.start_timeout.count()) + " s: " + last
                           + " (server log: " + log_dir_ + "/postgresql.log)");
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

std::string embedded_cluster::start() {
  if (started_)
    return conninfo_;
  if (bin_.empty() || !fs::exists(bin_ + "/initdb") || !fs::exists(bin_ + "/pg_ctl"))
    throw embedded_error("no PostgreSQL server binaries found (looked in "
                         + (bin_.empty() ? std::string("/usr/lib/postgresql/*/bin") : bin_)
                         + "); install postgresql, or set database.url");
  std::error_code ec;
  for (auto& d : {root_, run_dir_, log_dir_}) {
    fs::create_directories(d, ec);
    if (ec)
      throw embedded_error("cannot create " + d + ": " + ec.message());
  }
  take_lock();
  if (!owner_.empty()) {
    auto* pw = ::getpwnam(owner_.c_str());
    if (pw == nullptr)
      throw embedded_error("millrace runs as root, and the embedded PostgreSQL must run as an "
                           "unprivileged OS user, but user '" + owner_
                           + "' does not exist (install postgresql, which creates it)");
    for (auto& d : {root_, run_dir_, log_dir_})
      if (::chown(d.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw embedded_error("cannot hand " + d + " to user " + owner_ + ": "
                             + std::strerror(errno));
    ::chmod(run_dir_.c_str(), 0700); // the socket is reachable by its owner (and root) only
    if (fs::exists(log_dir_ + "/ctl.log"))
      ::chown((log_dir_ + "/ctl.log").c_str(), pw->pw_uid, pw->pw_gid);
    if (run({"/usr/bin/test", "-w", root_}) != 0)
      throw embedded_error("user " + owner_ + " cannot write to " + root_
                           + " (a parent directory is not searchable by it); move the checkout, "
                             "or set database.embedded_dir to a directory it can use");
  } else {
    ::chmod(run_dir_.c_str(), 0700);
  }

  if (!fs::exists(data_ + "/PG_VERSION")) {
    if (fs::exists(data_) && !fs::is_empty(data_, ec))
      throw embedded_error(data_ + " exists but holds no PostgreSQL cluster; remove it or set "
                                   "database.embedded_dir elsewhere");
    if (cfg_.log)
      cfg_.log->info("creating the embedded PostgreSQL cluster in {}", data_);
    if (run({bin_ + "/initdb", "-D", data_, "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--no-locale", "--no-instructions"})
        != 0)
      throw embedded_error("initdb failed; see " + log_dir_ + "/ctl.log");
  }

  int status = run({bin_ + "/pg_ctl", "status", "-D", data_});
  if (status == 0) {
    if (cfg_.log)
      cfg_.log->info("adopting the embedded PostgreSQL that is already running in {}", data_);
  } else {
    clear_stale_pid_file();
    std::vector<std::string> start_cmd = {
      bin_ + "/pg_ctl", "start", "-w", "-t", std::to_string(cfg_.start_timeout.count()), "-D",
      data_, "-l", log_dir_ + "/postgresql.log", "-o",
      "-k " + run_dir_ + " -c listen_addresses='' -p 5432"};
    if (run(start_cmd) != 0)
      throw embedded_error("the embedded PostgreSQL failed to start; see " + log_dir_
                           + "/postgresql.log and " + log_dir_ + "/ctl.log");
    if (cfg_.log)
      cfg_.log->info("embedded PostgreSQL started (socket in {})", run_dir_);
  }
  started_ = true;
  wait_ready();
  conninfo_ = "host=" + run_dir_ + " port=5432 dbname=" + cfg_.database + " user=postgres";
  return conninfo_;
}

void embedded_cluster::stop() {
  if (started_) {
    started_ = false;
    if (run({bin_ + "/pg_ctl", "stop", "-D", data_, "-m", "fast", "-w", "-t", "60"}) != 0) {
      if (cfg_.log)
        cfg_.log->error("pg_ctl stop failed; see {}/ctl.log", log_dir_);
    } else if (cfg_.log) {
      cfg_.log->info("embedded PostgreSQL stopped");
    }
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

std::string embedded_cluster::running_conninfo(const embedded_config& cfg) {
  auto run = fs::absolute(cfg.dir).lexically_normal().string() + "/run";
  std::error_code ec;
  if (!fs::exists(run + "/.s.PGSQL.5432", ec))
    return {};
  return "host=" + run + " port=5432 dbname=" + cfg.database + " user=postgres";
}

} // namespace millrace::storage
