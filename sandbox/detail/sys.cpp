#include "sandbox/detail/sys.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace millrace::sandbox::detail {

std::string sys_error(std::string_view what, int err) {
  std::string out{what};
  out += ": ";
  out += std::strerror(err);
  return out;
}

bool make_pipe(unique_fd& read_end, unique_fd& write_end, std::string& error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error = sys_error("pipe2");
    return false;
  }
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  if (::fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
    error = sys_error("fcntl(O_NONBLOCK)");
    return false;
  }
  return true;
}

unique_fd sealed_memfd(const char* name, std::string_view data, std::string& error) {
  unique_fd fd{::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  if (!fd) {
    error = sys_error("memfd_create");
    return {};
  }
  size_t done = 0;
  while (done < data.size()) {
    auto n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = sys_error("write to memfd");
      return {};
    }
    done += static_cast<size_t>(n);
  }
  // bwrap and the job read through descriptors sharing this offset.
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    error = sys_error("lseek on memfd");
    return {};
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    error = sys_error("sealing memfd");
    return {};
  }
  return fd;
}

bool read_file(const std::string& path, std::string& out) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd)
    return false;
  out.clear();
  char buf[4096];
  for (;;) {
    auto n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    if (n == 0)
      return true;
    out.append(buf, static_cast<size_t>(n));
  }
}

bool write_file(const std::string& path, std::string_view data, std::string& error) {
  unique_fd fd{::open(path.c_str(), O_WRONLY | O_CLOEXEC)};
  if (!fd) {
    error = sys_error("open " + path);
    return false;
  }
  auto n = ::write(fd.get(), data.data(), data.size());
  if (n != static_cast<ssize_t>(data.size())) {
    error = sys_error("write " + path, n < 0 ? errno : EIO);
    return false;
  }
  return true;
}

int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int signal_pidfd(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

namespace {

/// The fields of /proc/<pid>/stat after the command, which may contain
/// spaces and parentheses: field 3 (state) is element 0.
std::vector<std::string> stat_fields(pid_t pid) {
  std::string stat;
  std::vector<std::string> out;
  if (!read_file("/proc/" + std::to_string(pid) + "/stat", stat))
    return out;
  auto paren = stat.rfind(')');
  if (paren == std::string::npos)
    return out;
  size_t pos = paren + 1;
  while (pos < stat.size()) {
    while (pos < stat.size() && stat[pos] == ' ')
      ++pos;
    size_t end = stat.find(' ', pos);
    if (end == std::string::npos)
      end = stat.size();
    if (end > pos)
      out.push_back(stat.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

} // namespace

unsigned long long process_start_time(pid_t pid) {
  auto f = stat_fields(pid);
  return f.size() > 19 ? std::strtoull(f[19].c_str(), nullptr, 10) : 0;
}

pid_t parent_pid(pid_t pid) {
  auto f = stat_fields(pid);
  return f.size() > 1 ? static_cast<pid_t>(std::strtol(f[1].c_str(), nullptr, 10)) : 0;
}

bool is_namespace_init(pid_t pid) {
  std::string status;
  if (!read_file("/proc/" + std::to_string(pid) + "/status", status))
    return false;
  auto pos = status.find("\nNSpid:");
  if (pos == std::string::npos)
    return false;
  auto end = status.find('\n', pos + 1);
  std::string_view line{status.data() + pos + 7, (end == std::string::npos ? status.size() : end) - pos - 7};
  // "NSpid:\t4242\t1": at least two levels, and pid 1 in the innermost.
  auto last = line.find_last_of(" \t");
  auto first = line.find_first_not_of(" \t");
  return last != std::string_view::npos && first != std::string_view::npos && first < last
         && line.substr(last + 1) == "1";
}

bool orphans_come_to_us() {
  int on = 0;
  return ::getpid() == 1 || (::prctl(PR_GET_CHILD_SUBREAPER, &on) == 0 && on != 0);
}

bool find_number(std::string_view text, std::string_view key, unsigned long long& value) {
  for (size_t pos = text.find(key); pos != std::string_view::npos; pos = text.find(key, pos + 1)) {
    // Whole-word match at the start of a line ("max 3" in pids.events).
    if (pos != 0 && text[pos - 1] != '\n')
      continue;
    size_t i = pos + key.size();
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t'))
      ++i;
    if (i >= text.size() || text[i] < '0' || text[i] > '9')
      continue;
    unsigned long long v = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      v = v * 10 + static_cast<unsigned long long>(text[i++] - '0');
    value = v;
    return true;
  }
  return false;
}

} // namespace millrace::sandbox::detail
