// The rules that turn a finished job's facts into exit_info, without
// processes: exit codes, signals (bash-style 128+n), sandbox failures.

#include <sys/wait.h>

#include <gtest/gtest.h>

#include "sandbox/detail/exit_report.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::detail;

namespace {

int exited(int code) {
  return W_EXITCODE(code, 0);
}

int signalled(int sig) {
  return W_EXITCODE(0, sig);
}

TEST(SandboxExitReport, BwrapsReportGivesExitCodeOrSignal) {
  exit_facts f;
  f.init_known = true;
  f.json_exit = 3;
  f.wait_status = exited(3);
  auto info = describe_exit(f);
  EXPECT_EQ(info.exit_code, 3);
  EXPECT_EQ(info.signal, 0);
  EXPECT_EQ(info.sandbox_error, "");

  f.json_exit = 137; // OOM killer or SIGKILL: bwrap reports 128+9
  f.wait_status = exited(137);
  info = describe_exit(f);
  EXPECT_EQ(info.exit_code, -1);
  EXPECT_EQ(info.signal, 9);

  f.json_exit = 128; // exit(128) is an exit code, 129..192 are signals
  EXPECT_EQ(describe_exit(f).exit_code, 128);
  f.json_exit = 255;
  EXPECT_EQ(describe_exit(f).exit_code, 255);
}

TEST(SandboxExitReport, KilledBwrapGivesTheSignal) {
  exit_facts f;
  f.init_known = true;
  f.killed = true;
  f.wait_status = signalled(9);
  auto info = describe_exit(f);
  EXPECT_EQ(info.signal, 9);
  EXPECT_EQ(info.exit_code, -1);
  EXPECT_TRUE(info.killed);
  EXPECT_EQ(info.sandbox_error, "");
}

TEST(SandboxExitReport, NoReportFromBwrapIsASandboxFailure) {
  exit_facts f;
  f.wait_status = exited(127);
  f.stderr_head = "millrace-sandbox-exec: cannot join cgroup /x: Permission denied\n";
  auto info = describe_exit(f);
  EXPECT_EQ(info.sandbox_error,
            "the exec helper failed (exit status 127): millrace-sandbox-exec: cannot join cgroup /x: Permission denied");
  EXPECT_EQ(info.exit_code, 127);

  f.init_known = true;
  f.wait_status = exited(1);
  f.stderr_head = "some job noise\nbwrap: execvp /usr/bin/nope: No such file or directory\n";
  EXPECT_EQ(describe_exit(f).sandbox_error, "bwrap could not set up the sandbox or execute the program "
                                            "(exit status 1): bwrap: execvp /usr/bin/nope: No such file or directory");

  f.terminated = true; // we ended it before it ran: not a sandbox failure
  EXPECT_EQ(describe_exit(f).sandbox_error, "");
}

TEST(SandboxExitReport, ShutdownLostStatusAndUsage) {
  exit_facts f;
  f.killed = true;
  f.shutdown = true;
  f.wait_status = signalled(9);
  EXPECT_NE(describe_exit(f).sandbox_error.find("shut down"), std::string::npos);

  exit_facts unwatched;
  unwatched.killed = true;
  unwatched.internal_error = "the launcher cannot watch the job (epoll_ctl): Cannot allocate memory";
  EXPECT_EQ(describe_exit(unwatched).sandbox_error, unwatched.internal_error);

  exit_facts lost;
  lost.status_lost = true;
  EXPECT_NE(describe_exit(lost).sandbox_error.find("lost"), std::string::npos);

  exit_facts r;
  r.json_exit = 0;
  auto info = describe_exit(r);
  EXPECT_DOUBLE_EQ(info.cpu_seconds, 0.0); // unknown without cgroups
  EXPECT_EQ(info.max_memory_bytes, 0u);
  r.usage.cpu_seconds = 0.25;
  r.usage.max_memory_bytes = 77;
  r.usage.out_of_memory = true;
  r.usage.pids_limit_hit = true;
  info = describe_exit(r);
  EXPECT_DOUBLE_EQ(info.cpu_seconds, 0.25);
  EXPECT_EQ(info.max_memory_bytes, 77u);
  EXPECT_TRUE(info.out_of_memory);
  EXPECT_TRUE(info.pids_limit_hit);
}

} // namespace
