#include "sandbox/detail/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <cstring>

#include "sandbox/detail/sys.hpp"
#include "sandbox/detail/unique_fd.hpp"

namespace millrace::sandbox::detail {

namespace {

/// Frees posix_spawn's attribute objects on every path out.
struct spawn_state {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  bool have_actions = false;
  bool have_attr = false;

  ~spawn_state() {
    if (have_actions)
      posix_spawn_file_actions_destroy(&actions);
    if (have_attr)
      posix_spawnattr_destroy(&attr);
  }
};

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

} // namespace

pid_t spawn_process(const spawn_request& req, std::string& error) {
  const int target_count = static_cast<int>(req.fds.size());
  // Move every source above the target range first, so that no dup2 onto a
  // low target can clobber a source that is still to be mapped. The copies
  // are close-on-exec and are closed again by the closefrom action below.
  std::vector<unique_fd> high(req.fds.size());
  for (size_t i = 0; i < req.fds.size(); ++i) {
    if (req.fds[i] < 0)
      continue;
    high[i].reset(::fcntl(req.fds[i], F_DUPFD_CLOEXEC, target_count));
    if (!high[i]) {
      error = sys_error("fcntl(F_DUPFD_CLOEXEC)");
      return -1;
    }
  }

  spawn_state st;
  if (int rc = posix_spawn_file_actions_init(&st.actions); rc != 0) {
    error = sys_error("posix_spawn_file_actions_init", rc);
    return -1;
  }
  st.have_actions = true;
  for (int i = 0; i < target_count; ++i) {
    int rc = high[static_cast<size_t>(i)]
               ? posix_spawn_file_actions_adddup2(&st.actions, high[static_cast<size_t>(i)].get(), i)
               : posix_spawn_file_actions_addclose(&st.actions, i);
    if (rc != 0) {
      error = sys_error("posix_spawn_file_actions", rc);
      return -1;
    }
  }
  // Whatever else the server has open (libraries that forget O_CLOEXEC,
  // another job's pipes in flight on another thread) stays out of the child.
  if (int rc = posix_spawn_file_actions_addclosefrom_np(&st.actions, target_count); rc != 0) {
    error = sys_error("posix_spawn_file_actions_addclosefrom_np", rc);
    return -1;
  }

  if (int rc = posix_spawnattr_init(&st.attr); rc != 0) {
    error = sys_error("posix_spawnattr_init", rc);
    return -1;
  }
  st.have_attr = true;
  // The server blocks SIGINT/SIGTERM in all threads and may ignore SIGPIPE;
  // a job must start with the defaults. Its own process group keeps a
  // terminal's Ctrl-C (sent to the server's group) away from the sandbox.
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD,
                  SIGTSTP, SIGTTIN, SIGTTOU, SIGXCPU, SIGXFSZ})
    sigaddset(&defaults, sig);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP;
  int rc = posix_spawnattr_setflags(&st.attr, flags);
  if (rc == 0)
    rc = posix_spawnattr_setsigmask(&st.attr, &empty);
  if (rc == 0)
    rc = posix_spawnattr_setsigdefault(&st.attr, &defaults);
  if (rc == 0)
    rc = posix_spawnattr_setpgroup(&st.attr, 0);
  if (rc != 0) {
    error = sys_error("posix_spawnattr", rc);
    return -1;
  }

  auto argv = c_strings(req.argv);
  auto envp = c_strings(req.env);
  pid_t pid = -1;
  rc = ::posix_spawn(&pid, req.program.c_str(), &st.actions, &st.attr, argv.data(), envp.data());
  if (rc != 0) {
    error = sys_error("posix_spawn " + req.program, rc);
    return -1;
  }
  return pid;
}

spawn_thread::spawn_thread() : thread_([this] { run(); }) {
  // nop
}

spawn_thread::~spawn_thread() {
  stop();
}

void spawn_thread::stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    thread_.join();
}

pid_t spawn_thread::spawn(const spawn_request& req, std::string& error) {
  pid_t pid = -1;
  bool done = false;
  std::string why;
  auto work = [&] {
    pid = spawn_process(req, why);
    std::lock_guard<std::mutex> guard{mutex_};
    done = true;
    cv_.notify_all();
  };
  std::unique_lock<std::mutex> lock{mutex_};
  if (stopping_) {
    error = "the launcher is shutting down";
    return -1;
  }
  queue_.emplace_back(std::move(work));
  cv_.notify_all();
  cv_.wait(lock, [&done] { return done; });
  if (pid < 0)
    error = why;
  return pid;
}

bool spawn_thread::post(std::function<void()> work) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (stopping_)
    return false;
  queue_.emplace_back(std::move(work));
  cv_.notify_all();
  return true;
}

void spawn_thread::run() {
  std::unique_lock<std::mutex> lock{mutex_};
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty())
      return; // stopping, nothing left
    auto work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    work();
    lock.lock();
  }
}

} // namespace millrace::sandbox::detail
