// millrace-sandbox-exec: the last step on the host side before bubblewrap.
//
//   millrace-sandbox-exec [--cgroup DIR]... [--netns FD] [--rlimit NAME=VALUE]...
//                         [--oom-score-adj N] [--sched-idle 1] [--uid N --gid N]
//                         -- PROGRAM ARGS...
//
// posix_spawn cannot run code between fork and exec, so everything that must
// happen inside the new process before bwrap starts happens here, in order:
// reset every signal disposition and the mask, join the job's cgroups (while still root, and before any child exists, so
// the whole tree is inside), with --netns join the network namespace open on
// FD and close FD (the launcher's pooled namespaces, netns_pool.hpp; root is
// needed, so before the drop), raise the OOM score, with --sched-idle switch to
// SCHED_IDLE (a standby sandbox is made with CPU nobody else wants; the
// launcher moves it back to SCHED_OTHER when it hands it a job), apply rlimits (soft = hard),
// drop supplementary groups and switch gid/uid (verifying root cannot be
// regained), then execv PROGRAM. Any failure prints one line to stderr and
// exits 127. The launcher maps only the descriptors bwrap needs; the helper
// opens nothing else that survives exec (all its own fds are O_CLOEXEC).
//
// Deliberately tiny and free of dependencies: plain C, no allocation, no
// libraries beyond libc. It runs once per sandbox, so its start-up counts:
// the build links it statically against musl when musl-gcc is installed
// (sandbox/CMakeLists.txt), which starts in about 0.1 ms of CPU here
// against about 0.55 ms for a dynamically linked glibc program (the
// loader's relocations, and glibc's CPU feature probing, whose CPUID
// instructions trap to the hypervisor in a VM).

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Noreturn void fail(const char* what, const char* detail, int err) {
  if (err != 0)
    fprintf(stderr, "millrace-sandbox-exec: %s%s: %s\n", what, detail, strerror(err));
  else
    fprintf(stderr, "millrace-sandbox-exec: %s%s\n", what, detail);
  fflush(stderr);
  _exit(127);
}

static bool parse_u64(const char* s, unsigned long long* out) {
  if (s == NULL || *s == '\0')
    return false;
  if (strcmp(s, "unlimited") == 0 || strcmp(s, "inf") == 0) {
    *out = RLIM_INFINITY;
    return true;
  }
  errno = 0;
  char* end = NULL;
  *out = strtoull(s, &end, 10);
  return errno == 0 && *end == '\0' && s[0] != '-';
}

struct rlimit_name {
  const char* name;
  int resource;
};

static const struct rlimit_name rlimit_names[] = {
  {"AS", RLIMIT_AS},         {"CORE", RLIMIT_CORE},       {"CPU", RLIMIT_CPU},
  {"DATA", RLIMIT_DATA},     {"FSIZE", RLIMIT_FSIZE},     {"MEMLOCK", RLIMIT_MEMLOCK},
  {"NOFILE", RLIMIT_NOFILE}, {"NPROC", RLIMIT_NPROC},     {"STACK", RLIMIT_STACK},
};

/// Every signal back to its default action and unblocked. posix_spawn's
/// SETSIGDEF cannot name glibc's internal signals (32, 33), and glibc's
/// spawn sets those to SIG_IGN in the child, an ignore that would otherwise
/// survive every exec down to the job. The raw syscall is not filtered; an
/// all-zero kernel sigaction is SIG_DFL with no flags on every architecture.
static void reset_signals(void) {
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP)
      continue;
    unsigned long act[4] = {0, 0, 0, 0};
    syscall(SYS_rt_sigaction, sig, act, NULL, 8);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static void join_cgroup(const char* dir) {
  // "0" written to the v1 `tasks` file moves the calling thread only. The
  // kernel then skips the global threadgroup lock that a write of a pid to
  // `cgroup.procs` takes, and whose RCU grace period made that write take
  // 8-21 ms in about a third of the jobs here (0.2 ms otherwise). The helper
  // has a single thread, so moving it moves the whole process, and every
  // child it starts is born inside.
  char path[4096];
  if (snprintf(path, sizeof(path), "%s/tasks", dir) >= (int)sizeof(path))
    fail("cgroup path too long: ", dir, 0);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    fail("cannot open ", path, errno);
  static const char self[] = "0\n";
  if (write(fd, self, sizeof(self) - 1) != (ssize_t)(sizeof(self) - 1))
    fail("cannot join cgroup ", dir, errno);
  close(fd);
}

#ifndef CLONE_NEWNET
#define CLONE_NEWNET 0x40000000
#endif

static void join_netns(int fd) {
  // The raw call, like sched_setscheduler below: no dependence on how the
  // libc in use spells or guards setns().
  if (syscall(SYS_setns, fd, CLONE_NEWNET) != 0)
    fail("cannot join the network namespace", "", errno);
  close(fd); // bwrap and the job must not inherit it
}

static void set_oom_score_adj(const char* value) {
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    fail("cannot open ", "/proc/self/oom_score_adj", errno);
  size_t len = strlen(value);
  if (write(fd, value, len) != (ssize_t)len)
    fail("cannot set oom_score_adj to ", value, errno);
  close(fd);
}

static void apply_rlimit(const char* spec) {
  const char* eq = strchr(spec, '=');
  if (eq == NULL)
    fail("bad --rlimit (want NAME=VALUE): ", spec, 0);
  unsigned long long value = 0;
  if (!parse_u64(eq + 1, &value))
    fail("bad --rlimit value: ", spec, 0);
  for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); ++i) {
    const struct rlimit_name* r = &rlimit_names[i];
    if (strncmp(spec, r->name, (size_t)(eq - spec)) == 0 && r->name[eq - spec] == '\0') {
      struct rlimit lim = {(rlim_t)value, (rlim_t)value};
      if (setrlimit(r->resource, &lim) != 0)
        fail("cannot set rlimit ", spec, errno);
      return;
    }
  }
  fail("unknown rlimit: ", spec, 0);
}

static void drop_privileges(uid_t uid, gid_t gid) {
  if (setgroups(0, NULL) != 0)
    fail("setgroups", "", errno);
  if (setresgid(gid, gid, gid) != 0)
    fail("setresgid", "", errno);
  if (setresuid(uid, uid, uid) != 0)
    fail("setresuid", "", errno);
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid)
    fail("uid did not change", "", 0);
  if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid)
    fail("gid did not change", "", 0);
  if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
    fail("could regain root after dropping privileges", "", 0);
  if (gid != 0 && uid != 0 && setgid(0) == 0)
    fail("could regain gid 0 after dropping privileges", "", 0);
}

enum { max_items = 64 };

int main(int argc, char** argv) {
  const char* cgroups[max_items];
  const char* rlimits[max_items];
  int n_cgroups = 0, n_rlimits = 0;
  const char* oom_adj = NULL;
  bool idle = false;
  unsigned long long netns_fd = 0;
  bool have_netns = false;
  unsigned long long uid = 0, gid = 0;
  bool have_uid = false, have_gid = false;

  int i = 1;
  for (; i < argc; ++i) {
    const char* arg = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--") == 0) {
      ++i;
      break;
    }
    if (next == NULL)
      fail("option needs a value: ", arg, 0);
    if (strcmp(arg, "--cgroup") == 0 && n_cgroups < max_items)
      cgroups[n_cgroups++] = next;
    else if (strcmp(arg, "--rlimit") == 0 && n_rlimits < max_items)
      rlimits[n_rlimits++] = next;
    else if (strcmp(arg, "--netns") == 0 && parse_u64(next, &netns_fd) && netns_fd <= 1024)
      have_netns = true;
    else if (strcmp(arg, "--oom-score-adj") == 0)
      oom_adj = next;
    else if (strcmp(arg, "--sched-idle") == 0 && strcmp(next, "1") == 0)
      idle = true;
    else if (strcmp(arg, "--uid") == 0 && parse_u64(next, &uid))
      have_uid = true;
    else if (strcmp(arg, "--gid") == 0 && parse_u64(next, &gid))
      have_gid = true;
    else
      fail("bad option: ", arg, 0);
    ++i;
  }
  if (i >= argc || argv[i][0] != '/')
    fail("usage: millrace-sandbox-exec [options] -- /ABSOLUTE/PROGRAM ARGS...", "", 0);
  if (have_uid != have_gid)
    fail("--uid and --gid go together", "", 0);

  reset_signals();
  for (int c = 0; c < n_cgroups; ++c)
    join_cgroup(cgroups[c]);
  if (have_netns)
    join_netns((int)netns_fd);
  if (oom_adj != NULL)
    set_oom_score_adj(oom_adj);
  if (idle) {
    struct sched_param none = {0};
    // The raw call: musl's sched_setscheduler() always fails with ENOSYS.
    if (syscall(SYS_sched_setscheduler, 0, SCHED_IDLE, &none) != 0)
      fail("cannot switch to SCHED_IDLE", "", errno);
  }
  for (int r = 0; r < n_rlimits; ++r)
    apply_rlimit(rlimits[r]);
  if (have_uid)
    drop_privileges((uid_t)uid, (gid_t)gid);

  execv(argv[i], argv + i);
  fail("cannot execute ", argv[i], errno);
}
