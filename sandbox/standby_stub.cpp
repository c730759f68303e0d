// millrace-sandbox-stub: waits inside a standby sandbox for its job.
//
// bwrap runs it as the sandbox's program (pid 2, in /job, as the job's
// user, every namespace, mount, cgroup and rlimit already in place). It
// arrives through descriptor 7 (bwrap execs /proc/self/fd/7), so it needs no
// bind mount of its own. Descriptor 6 is a unix socket to the launcher.
// The stub:
//   1. closes 7, marks 6 close-on-exec, and blocks until one message comes
//      on 6: a sealed memfd with the request (detail/standby_wire.hpp) and
//      optionally a sealed memfd for stdin. End of file instead: the
//      launcher retired this standby; exit 0 quietly.
//   2. writes the job files (creating their folders), puts the stdin memfd
//      on 0, closes 3 unless the job wants the result channel;
//   3. execve()s the program with exactly the request's environment.
// Any failure writes one line to the socket and to stderr and exits 127;
// the launcher reports that line as the job's sandbox error. A successful
// exec closes the socket, which tells the launcher the program runs.
//
// Like the exec helper: libc only, no allocation beyond two small arrays.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sandbox/detail/standby_wire.hpp"

namespace {

using namespace millrace::sandbox::detail;

constexpr int fd_control = standby_fd_control;

[[noreturn]] void fail(const char* what, const char* detail, int err) {
  char line[1024];
  int n = err != 0 ? std::snprintf(line, sizeof(line), "millrace-sandbox-stub: %s%s: %s\n", what, detail,
                                   std::strerror(err))
                   : std::snprintf(line, sizeof(line), "millrace-sandbox-stub: %s%s\n", what, detail);
  if (n < 0)
    _exit(127);
  size_t len = static_cast<size_t>(n) < sizeof(line) ? static_cast<size_t>(n) : sizeof(line) - 1;
  // Both may fail (the launcher is gone, stderr closed); nothing else to do.
  [[maybe_unused]] auto a = ::send(fd_control, line, len, MSG_NOSIGNAL);
  [[maybe_unused]] auto b = ::write(2, line, len);
  _exit(127);
}

/// A cursor over the mapped request; every read is bounds-checked.
struct reader {
  const char* p;
  const char* end;

  uint32_t u32() {
    if (end - p < 4)
      fail("truncated job request", "", 0);
    uint32_t v;
    std::memcpy(&v, p, 4);
    p += 4;
    return v;
  }

  /// A NUL-terminated string in place; `len` gets its length.
  const char* str(size_t* len = nullptr) {
    uint32_t n = u32();
    if (static_cast<size_t>(end - p) < static_cast<size_t>(n) + 1 || p[n] != '\0')
      fail("malformed string in job request", "", 0);
    const char* s = p;
    p += static_cast<size_t>(n) + 1;
    if (len != nullptr)
      *len = n;
    return s;
  }
};

/// Receives the request memfd (and the stdin memfd, when sent).
bool receive(int& request, int& stdin_fd) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(fd_control, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n == 0)
    return false; // retired
  if (n < 0)
    fail("cannot receive the job", "", errno);
  request = stdin_fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int fds[2] = {-1, -1};
    std::memcpy(fds, CMSG_DATA(c), (count < 2 ? count : 2) * sizeof(int));
    request = fds[0];
    stdin_fd = count > 1 ? fds[1] : -1;
  }
  if (request < 0 || (msg.msg_flags & MSG_CTRUNC) != 0)
    fail("the job request came without its descriptors", "", 0);
  return true;
}

void make_parents(const char* path) {
  char dir[4096];
  size_t len = std::strlen(path);
  if (len >= sizeof(dir))
    fail("job file path too long: ", path, 0);
  std::memcpy(dir, path, len + 1);
  for (char* slash = std::strchr(dir + 1, '/'); slash != nullptr; slash = std::strchr(slash + 1, '/')) {
    *slash = '\0';
    if (::mkdir(dir, 0755) != 0 && errno != EEXIST)
      fail("cannot create folder ", dir, errno);
    *slash = '/';
  }
}

void write_file(const char* path, uint32_t mode, const char* data, size_t len) {
  make_parents(path);
  int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    fail("cannot create job file ", path, errno);
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      fail("cannot write job file ", path, n < 0 ? errno : ENOSPC);
    data += n;
    len -= static_cast<size_t>(n);
  }
  // Exactly the mode asked for, whatever the umask.
  if (::fchmod(fd, static_cast<mode_t>(mode & 0777)) != 0 || ::close(fd) != 0)
    fail("cannot finish job file ", path, errno);
}

} // namespace

int main() {
  ::close(standby_fd_stub);
  if (::fcntl(fd_control, F_SETFD, FD_CLOEXEC) != 0)
    fail("no control socket", "", errno);

  int request = -1, stdin_fd = -1;
  if (!receive(request, stdin_fd))
    _exit(0);

  struct stat st {};
  if (::fstat(request, &st) != 0 || st.st_size < 12)
    fail("empty job request", "", errno);
  auto size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, request, 0);
  if (map == MAP_FAILED)
    fail("cannot map the job request", "", errno);
  ::close(request);
  reader r{static_cast<const char*>(map), static_cast<const char*>(map) + size};
  if (std::memcmp(r.p, standby_magic, 4) != 0)
    fail("not a job request", "", 0);
  r.p += 4;
  if (r.u32() != standby_version)
    fail("job request of another version", "", 0);
  uint32_t flags = r.u32();

  uint32_t argc = r.u32();
  if (argc == 0 || argc > size)
    fail("job request without a program", "", 0);
  auto argv = static_cast<const char**>(std::calloc(argc + 1, sizeof(char*)));
  if (argv == nullptr)
    fail("out of memory", "", ENOMEM);
  for (uint32_t i = 0; i < argc; ++i)
    argv[i] = r.str();
  uint32_t envc = r.u32();
  if (envc > size)
    fail("malformed environment in job request", "", 0);
  auto envp = static_cast<const char**>(std::calloc(envc + 1, sizeof(char*)));
  if (envp == nullptr)
    fail("out of memory", "", ENOMEM);
  for (uint32_t i = 0; i < envc; ++i)
    envp[i] = r.str();
  uint32_t files = r.u32();
  for (uint32_t i = 0; i < files; ++i) {
    uint32_t mode = r.u32();
    const char* path = r.str();
    size_t len = 0;
    const char* data = r.str(&len);
    write_file(path, mode, data, len);
  }

  if (stdin_fd >= 0) {
    if (::dup2(stdin_fd, 0) != 0)
      fail("cannot set up stdin", "", errno);
    ::close(stdin_fd);
  }
  if ((flags & standby_flag_result) == 0)
    ::close(3);

  ::execve(argv[0], const_cast<char* const*>(argv), const_cast<char* const*>(envp));
  fail("cannot execute ", argv[0], errno);
}
