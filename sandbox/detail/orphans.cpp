#include "sandbox/detail/orphans.hpp"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail {

namespace {

std::vector<pid_t> numbers_in(const std::string& text) {
  std::vector<pid_t> out;
  const char* p = text.c_str();
  for (;;) {
    char* end = nullptr;
    long v = std::strtol(p, &end, 10);
    if (end == p)
      return out;
    if (v > 0)
      out.push_back(static_cast<pid_t>(v));
    p = end;
  }
}

template <class F>
void for_each_number_entry(const char* dir, F&& f) {
  DIR* d = ::opendir(dir);
  if (d == nullptr)
    return;
  while (auto* e = ::readdir(d)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && v > 0)
      f(static_cast<pid_t>(v));
  }
  ::closedir(d);
}

/// Our children: an orphan goes to one of our threads, and each thread
/// lists its own children (/proc/self/task/<tid>/children). Without that
/// file (CONFIG_PROC_CHILDREN off), every process whose parent is us.
std::vector<pid_t> our_children() {
  std::vector<pid_t> out;
  bool listed = false;
  for_each_number_entry("/proc/self/task", [&](pid_t tid) {
    std::string text;
    if (read_file("/proc/self/task/" + std::to_string(tid) + "/children", text)) {
      listed = true;
      for (auto pid : numbers_in(text))
        out.push_back(pid);
    }
  });
  if (listed)
    return out;
  const pid_t self = ::getpid();
  for_each_number_entry("/proc", [&](pid_t pid) {
    if (parent_pid(pid) == self)
      out.push_back(pid);
  });
  return out;
}

} // namespace

void reap_orphaned_inits(std::chrono::milliseconds bound) {
  if (!orphans_come_to_us())
    return;
  constexpr auto p_pidfd = static_cast<idtype_t>(3); // P_PIDFD, not in glibc 2.36
  const auto deadline = std::chrono::steady_clock::now() + bound;
  const pid_t self = ::getpid();
  for (auto pid : our_children()) {
    // Checked after opening the pidfd, so the answer names the process the
    // pidfd holds, never a later one that reused the pid.
    unique_fd fd{open_pidfd(pid)};
    if (!fd || parent_pid(pid) != self || !is_namespace_init(pid))
      continue;
    signal_pidfd(fd.get(), SIGKILL);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0))) < 0 && errno == EINTR) {
    }
    siginfo_t info{};
    ::waitid(p_pidfd, static_cast<id_t>(fd.get()), &info, WEXITED | WNOHANG);
  }
}

} // namespace millrace::sandbox::detail
