// millrace-sandbox-stub: waits inside a standby sandbox for its job.
//
// bwrap runs it as the sandbox's program (pid 2, in /job, as the job's
// user, every namespace, mount, cgroup and rlimit already in place). It
// arrives through descriptor 7 (bwrap execs /proc/self/fd/7), so it needs no
// bind mount of its own. Descriptor 6 is a unix socket to the launcher.
// The stub:
//   1. closes 7, marks 6 close-on-exec, writes the ready byte on 6
//      (MILLRACE_STANDBY_READY: the sandbox is up), and blocks until one message comes
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
// Like the exec helper: plain C, libc only, no allocation beyond two small
// arrays, linked statically against musl when it is installed (its start-up
// is on every standby's path; see exec_helper.c).

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/detail/standby_abi.h"

enum { fd_control = MILLRACE_STANDBY_FD_CONTROL };

static _Noreturn void fail(const char* what, const char* detail, int err) {
  char line[1024];
  int n = err != 0 ? snprintf(line, sizeof(line), "millrace-sandbox-stub: %s%s: %s\n", what,
                              detail, strerror(err))
                   : snprintf(line, sizeof(line), "millrace-sandbox-stub: %s%s\n", what, detail);
  if (n < 0)
    _exit(127);
  size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
  // Both may fail (the launcher is gone, stderr closed); nothing else to do.
  ssize_t ignored = send(fd_control, line, len, MSG_NOSIGNAL);
  ignored = write(2, line, len);
  (void)ignored;
  _exit(127);
}

/// A cursor over the mapped request; every read is bounds-checked.
struct reader {
  const char* p;
  const char* end;
};

static uint32_t read_u32(struct reader* r) {
  if (r->end - r->p < 4)
    fail("truncated job request", "", 0);
  uint32_t v;
  memcpy(&v, r->p, 4);
  r->p += 4;
  return v;
}

/// A NUL-terminated string in place; `len` (may be NULL) gets its length.
static const char* read_str(struct reader* r, size_t* len) {
  uint32_t n = read_u32(r);
  if ((size_t)(r->end - r->p) < (size_t)n + 1 || r->p[n] != '\0')
    fail("malformed string in job request", "", 0);
  const char* s = r->p;
  r->p += (size_t)n + 1;
  if (len != NULL)
    *len = n;
  return s;
}

/// `n` strings in place, as a NULL-terminated array (argv, envp).
static const char** read_strs(struct reader* r, uint32_t n) {
  const char** out = calloc((size_t)n + 1, sizeof(char*));
  if (out == NULL)
    fail("out of memory", "", ENOMEM);
  for (uint32_t i = 0; i < n; ++i)
    out[i] = read_str(r, NULL);
  return out;
}

/// Receives the request memfd (and the stdin memfd, when sent).
static bool receive(int* request, int* stdin_fd) {
  char byte = 0;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(2 * sizeof(int))];
  } control;
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof(control.bytes);
  ssize_t n;
  do {
    n = recvmsg(fd_control, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n == 0)
    return false; // retired
  if (n < 0)
    fail("cannot receive the job", "", errno);
  *request = *stdin_fd = -1;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int fds[2] = {-1, -1};
    memcpy(fds, CMSG_DATA(c), (count < 2 ? count : 2) * sizeof(int));
    *request = fds[0];
    *stdin_fd = count > 1 ? fds[1] : -1;
  }
  if (*request < 0 || (msg.msg_flags & MSG_CTRUNC) != 0)
    fail("the job request came without its descriptors", "", 0);
  return true;
}

static void make_parents(const char* path) {
  char dir[4096];
  size_t len = strlen(path);
  if (len >= sizeof(dir))
    fail("job file path too long: ", path, 0);
  memcpy(dir, path, len + 1);
  for (char* slash = strchr(dir + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
      fail("cannot create folder ", dir, errno);
    *slash = '/';
  }
}

static void write_file(const char* path, uint32_t mode, const char* data, size_t len) {
  make_parents(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    fail("cannot create job file ", path, errno);
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      fail("cannot write job file ", path, n < 0 ? errno : ENOSPC);
    data += n;
    len -= (size_t)n;
  }
  // Exactly the mode asked for, whatever the umask.
  if (fchmod(fd, (mode_t)(mode & 0777)) != 0 || close(fd) != 0)
    fail("cannot finish job file ", path, errno);
}

int main(void) {
  close(MILLRACE_STANDBY_FD_STUB);
  if (fcntl(fd_control, F_SETFD, FD_CLOEXEC) != 0)
    fail("no control socket", "", errno);
  const char ready = MILLRACE_STANDBY_READY;
  if (send(fd_control, &ready, 1, MSG_NOSIGNAL) != 1)
    _exit(0); // the launcher is gone (or retired this standby already)

  int request = -1, stdin_fd = -1;
  if (!receive(&request, &stdin_fd))
    _exit(0);

  struct stat st;
  if (fstat(request, &st) != 0 || st.st_size < 12)
    fail("empty job request", "", errno);
  size_t size = (size_t)st.st_size;
  void* map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, request, 0);
  if (map == MAP_FAILED)
    fail("cannot map the job request", "", errno);
  close(request);
  struct reader r = {(const char*)map, (const char*)map + size};
  if (memcmp(r.p, MILLRACE_STANDBY_MAGIC, 4) != 0)
    fail("not a job request", "", 0);
  r.p += 4;
  if (read_u32(&r) != MILLRACE_STANDBY_VERSION)
    fail("job request of another version", "", 0);
  uint32_t flags = read_u32(&r);

  uint32_t argc = read_u32(&r);
  if (argc == 0 || argc > size)
    fail("job request without a program", "", 0);
  const char** argv = read_strs(&r, argc);
  uint32_t envc = read_u32(&r);
  if (envc > size)
    fail("malformed environment in job request", "", 0);
  const char** envp = read_strs(&r, envc);
  uint32_t files = read_u32(&r);
  for (uint32_t i = 0; i < files; ++i) {
    uint32_t mode = read_u32(&r);
    const char* path = read_str(&r, NULL);
    size_t len = 0;
    const char* data = read_str(&r, &len);
    write_file(path, mode, data, len);
  }

  if (stdin_fd >= 0) {
    if (dup2(stdin_fd, 0) != 0)
      fail("cannot set up stdin", "", errno);
    close(stdin_fd);
  }
  if ((flags & MILLRACE_STANDBY_FLAG_RESULT) == 0)
    close(3);

  execve(argv[0], (char* const*)argv, (char* const*)envp);
  fail("cannot execute ", argv[0], errno);
}
