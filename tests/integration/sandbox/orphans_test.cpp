// reap_orphaned_inits: a sandbox init whose bwrap outer process died before
// anyone learnt its pid is killed and reaped when orphans come to us, and
// no other child of ours is touched.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "sandbox/detail/orphans.hpp"
#include "sandbox/detail/sys.hpp"
#include "tests/integration/sandbox/sandbox_harness.hpp"

extern char** environ;

using namespace millrace::sandbox;
using namespace millrace::sandbox::detail;
using namespace millrace::sandbox::testing;

namespace {

pid_t spawn(std::vector<std::string> argv, int info_fd = -1) {
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (info_fd >= 0)
    posix_spawn_file_actions_adddup2(&actions, info_fd, 3);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

TEST(SandboxOrphans, AnInitWhoseOuterProcessDiedIsKilledAndReapedAndNoOtherChildIs) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  // An outer process without --die-with-parent: its init outlives it, the
  // worst case (with the flag the init is already dying when we look).
  int info[2];
  ASSERT_EQ(::pipe2(info, O_CLOEXEC), 0);
  pid_t outer = spawn({test_config().bwrap, "--unshare-pid", "--dev-bind", "/", "/", "--info-fd", "3",
                       "/usr/bin/sleep", "600"},
                      info[1]);
  ::close(info[1]);
  ASSERT_GT(outer, 0);
  std::string text; // {"child-pid": N}, written once the init exists
  char buf[256];
  for (ssize_t n; (n = ::read(info[0], buf, sizeof(buf))) > 0;) {
    text.append(buf, static_cast<size_t>(n));
    if (text.find('}') != std::string::npos)
      break;
  }
  ::close(info[0]);
  auto colon = text.find(':');
  ASSERT_NE(colon, std::string::npos) << text;
  auto init = static_cast<pid_t>(std::stol(text.substr(colon + 1)));
  pid_t other = spawn({"/usr/bin/sleep", "600"});
  ASSERT_GT(other, 0);

  ASSERT_EQ(::kill(outer, SIGKILL), 0);
  ASSERT_EQ(::waitpid(outer, nullptr, 0), outer);
  ASSERT_EQ(parent_pid(init), ::getpid()) << "the init did not come to us";
  ASSERT_TRUE(is_namespace_init(init));

  reap_orphaned_inits(std::chrono::seconds(10));

  siginfo_t si{};
  errno = 0;
  EXPECT_EQ(::waitid(P_PID, static_cast<id_t>(init), &si, WEXITED | WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD) << "the init is still our child";
  EXPECT_EQ(::waitpid(other, nullptr, WNOHANG), 0) << "a child that is no init was touched";
  ::kill(other, SIGKILL);
  EXPECT_EQ(::waitpid(other, nullptr, 0), other);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/// Zombie pid namespace inits that pid 1 holds and that were born at or
/// after `since`: sandboxes whose init nobody but pid 1 would reap.
std::vector<pid_t> zombie_inits_of_pid1(unsigned long long since) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator{"/proc", ec}) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    auto pid = static_cast<pid_t>(std::stol(name));
    std::string stat;
    if (!read_file("/proc/" + name + "/stat", stat))
      continue;
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'Z')
      continue;
    if (parent_pid(pid) == 1 && is_namespace_init(pid) && process_start_time(pid) >= since)
      out.push_back(pid);
  }
  return out;
}

TEST(SandboxOrphans, TheLauncherReapsTheInitsItsSandboxesLeaveBehind) {
  // bwrap's outer process exits without reaping its init. Left to pid 1,
  // such zombies piled up on this VM (its pid 1 reaps lazily) and, in the
  // no-cgroup fallback, counted against RLIMIT_NPROC until new sandboxes
  // failed. The launcher makes this process a subreaper, so they come here
  // and are reaped as their jobs end.
  ::prctl(PR_SET_CHILD_SUBREAPER, 0); // as a process that never asked
  auto since = process_start_time(::getpid());
  {
    auto l = make_bwrap_launcher(test_config());
    int on = 0;
    ASSERT_EQ(::prctl(PR_GET_CHILD_SUBREAPER, &on), 0);
    EXPECT_EQ(on, 1);
    std::vector<job_record> recs(10);
    for (auto& rec : recs) {
      std::string error;
      ASSERT_TRUE(l->start(bash("true"), {}, rec.events(), error)) << error;
      ASSERT_TRUE(rec.wait());
      EXPECT_EQ(rec.info().exit_code, 0);
    }
  }
  auto left = zombie_inits_of_pid1(since);
  EXPECT_TRUE(left.empty()) << left.size() << " zombie sandbox inits wait for pid 1, e.g. "
                            << (left.empty() ? 0 : left[0]);
  siginfo_t info{};
  EXPECT_TRUE(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
    << "a zombie child of ours: " << info.si_pid;
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

} // namespace
