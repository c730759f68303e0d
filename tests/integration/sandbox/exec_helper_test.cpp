// The exec helper on its own: privileges dropped for good, rlimits applied,
// and one clear line with exit status 127 for every failure.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include <gtest/gtest.h>

#include "sandbox/detail/netns_pool.hpp"
#include "tests/integration/sandbox/sandbox_harness.hpp"

namespace {

struct outcome {
  int status = -1;
  std::string output; // stdout and stderr
};

outcome run_helper(const std::string& args) {
  outcome o;
  std::string cmd = std::string{MILLRACE_SANDBOX_EXEC} + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr)
    return o;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    o.output.append(buf.data(), n);
  int st = ::pclose(p);
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

TEST(SandboxExecHelper, DropsPrivilegesAndAppliesRlimits) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root";
  auto o = run_helper("--rlimit NOFILE=99 --rlimit CORE=0 --uid 65534 --gid 65534 -- /bin/bash -c "
                      "'echo $(id -u) $(id -g) $(id -G) $(ulimit -n) $(ulimit -Hn) $(ulimit -c)'");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(o.output, "65534 65534 65534 99 99 0\n");
}

TEST(SandboxExecHelper, JoinsTheNetworkNamespaceItIsGivenAndClosesItsDescriptor) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root";
  std::string error;
  auto ns = millrace::sandbox::detail::make_netns(error);
  ASSERT_TRUE(ns) << error;
  // dup: without O_CLOEXEC, so popen's shell and the helper inherit it.
  int fd = ::dup(ns->ns.get());
  ASSERT_GE(fd, 0);
  char link[64] = {};
  ASSERT_GT(::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof(link) - 1), 0);
  auto fd_text = std::to_string(fd);
  auto o = run_helper("--netns " + fd_text + " -- /bin/bash -c 'readlink /proc/self/ns/net; "
                      "test -e /proc/self/fd/" + fd_text + " && echo inherited || echo closed'");
  ::close(fd);
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(o.output, std::string{link} + "\nclosed\n");
  char own[64] = {};
  ASSERT_GT(::readlink("/proc/self/ns/net", own, sizeof(own) - 1), 0);
  EXPECT_STRNE(link, own);
}

TEST(SandboxExecHelper, FailuresAreOneLineAndExit127) {
  for (auto* args : {"--bogus x -- /bin/true", "--rlimit NOPE=1 -- /bin/true", "--rlimit NOFILE=abc -- /bin/true",
                     "-- relative/program", "--uid 1 -- /bin/true", "--cgroup /nonexistent-millrace -- /bin/true",
                     "--netns 999 -- /bin/true",
                     "-- /nonexistent/program"}) {
    auto o = run_helper(args);
    EXPECT_EQ(o.status, 127) << args;
    EXPECT_EQ(o.output.rfind("millrace-sandbox-exec: ", 0), 0u) << args << ": " << o.output;
    EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << args << ": " << o.output;
  }
}

} // namespace
