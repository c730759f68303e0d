// reap_orphaned_inits: a sandbox init whose bwrap outer process died before
// anyone learnt its pid is killed and reaped when orphans come to us, and
// no other child of ours is touched.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
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

} // namespace
