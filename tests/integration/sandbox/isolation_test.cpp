// What a job can see and touch: only its own environment, a read-only
// minimal root without the host's secrets, a private /job, no network unless
// allowed, and no root privileges.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::testing;

namespace {

/// Param: through a standby sandbox (Warm) or cold.
class SandboxIsolation : public ::testing::TestWithParam<bool> {
protected:
  std::unique_ptr<launcher> launcher_ = make_bwrap_launcher(test_config());

  job_record run(const launch_plan& plan, const limits& lim = {}) {
    job_record rec;
    auto proc = start_job(*launcher_, rec, plan, lim, GetParam());
    if (proc) {
      EXPECT_TRUE(rec.wait());
    }
    return rec;
  }
};

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    out.insert(line);
  return out;
}

/// A TCP listener on 127.0.0.1 of the host's network namespace.
struct listener {
  int fd = -1;
  int port = 0;

  listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 && ::listen(fd, 16) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
  }

  ~listener() {
    ::close(fd);
  }

  /// A connection that already reached the backlog, without waiting.
  bool has_connection() const {
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0)
      ::close(c);
    return c >= 0;
  }
};

std::string connect_script(int port) {
  return "cat /proc/net/dev | awk -F: 'NR>2 {gsub(/ /, \"\", $1); print \"if=\" $1}'; "
         "if exec 5<>/dev/tcp/127.0.0.1/"
         + std::to_string(port) + "; then echo connected; else echo refused; fi";
}

TEST_P(SandboxIsolation, EnvironmentIsExactlyThePlansPlusDefaults) {
  ::setenv("MILLRACE_HOST_CANARY", "must-not-leak", 1);
  launch_plan plan;
  plan.argv = {"/usr/bin/env"};
  plan.env = {{"FOO", "bar baz"}, {"EMPTY", ""}};
  auto rec = run(plan);
  // PWD comes from bwrap's --chdir.
  EXPECT_EQ(lines(rec.out()), (std::set<std::string>{"FOO=bar baz", "EMPTY=", "PATH=/usr/local/bin:/usr/bin:/bin",
                                                     "HOME=/job", "LANG=C.UTF-8", "PWD=/job"}));
  EXPECT_EQ(rec.info().exit_code, 0);

  plan.env = {{"PATH", "/usr/bin"}, {"HOME", "/job/home"}, {"LANG", "C"}};
  auto own = run(plan);
  EXPECT_EQ(lines(own.out()), (std::set<std::string>{"PATH=/usr/bin", "HOME=/job/home", "LANG=C", "PWD=/job"}));
}

TEST_P(SandboxIsolation, HostSecretsAndFilesAreOutOfReach) {
  auto rec = run(bash(std::string{R"sh(
    cat /etc/shadow >/dev/null 2>&1 && echo shadow-readable || echo shadow-unreadable
    [ -e /etc/shadow ] && echo shadow-exists || echo shadow-absent
    ls /root >/dev/null 2>&1 && echo root-home-visible || echo root-home-hidden
    [ -e )sh"} + MILLRACE_SOURCE_DIR + R"sh( ] && echo repo-visible || echo repo-hidden
    touch /usr/x 2>/dev/null && echo usr-writable || echo usr-readonly
    touch /x 2>/dev/null && echo rootfs-writable || echo rootfs-readonly
    touch /etc/x 2>/dev/null && echo etc-writable || echo etc-readonly
    touch /dev/x 2>/dev/null && echo dev-writable || echo dev-readonly
    echo x > /dev/null && touch /dev/shm/x && echo devices-and-shm-usable
    touch /job/x && echo job-writable
    touch /tmp/x && [ -e /job/tmp/x ] && echo tmp-is-in-job
    cat /proc/1/environ >/dev/null 2>&1 && echo init-environ-readable || echo init-environ-unreadable
    echo "uid=$(id -u) gid=$(id -g)"
    cut -d: -f1 /etc/passwd | tr '\n' ' '; echo
  )sh"));
  auto out = lines(rec.out());
  for (auto* want : {"shadow-unreadable", "shadow-absent", "root-home-hidden", "repo-hidden", "usr-readonly",
                     "rootfs-readonly", "etc-readonly", "dev-readonly", "devices-and-shm-usable", "job-writable",
                     "tmp-is-in-job"})
    EXPECT_TRUE(out.count(want)) << want << " missing from:\n" << rec.out() << rec.err();
  if (::geteuid() == 0) {
    EXPECT_TRUE(out.count("uid=65534 gid=65534")) << rec.out();
    EXPECT_TRUE(out.count("root nobody ")) << rec.out();
  }
}

TEST_P(SandboxIsolation, JobHasNoCapabilities) {
  auto rec = run(bash("grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status; unshare -U true 2>/dev/null && echo "
                      "nested-userns || echo no-nested-userns"));
  EXPECT_EQ(rec.out(), "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"
                       "no-nested-userns\n");
}

TEST_P(SandboxIsolation, JobFolderIsPrivate) {
  auto secret = unique_token("secret");
  job_record first;
  std::string error;
  auto holder = launcher_->start(
    bash("echo " + secret + " > /job/marker; echo " + secret + " > /tmp/marker; echo ready; exec sleep 600"), {},
    first.events(), error);
  ASSERT_TRUE(holder) << error;
  ASSERT_TRUE(first.wait_for(stream::out, "ready"));

  auto second = run(bash("ls -A /job /job/tmp | grep -c marker; cat /job/marker /tmp/marker 2>/dev/null; echo checked"));
  EXPECT_EQ(second.out(), "0\nchecked\n");
  EXPECT_EQ(second.out().find(secret), std::string::npos) << second.out();

  holder->kill();
  ASSERT_TRUE(first.wait());
}

TEST_P(SandboxIsolation, NetworkIsDeniedByDefault) {
  listener l;
  ASSERT_GT(l.port, 0);
  auto rec = run(bash(connect_script(l.port)));
  EXPECT_EQ(rec.out(), "if=lo\nrefused\n") << rec.err();
  EXPECT_FALSE(l.has_connection());
}

TEST_P(SandboxIsolation, NetworkCanBeAllowed) {
  listener l;
  ASSERT_GT(l.port, 0);
  auto plan = bash(connect_script(l.port));
  plan.network = true;
  auto rec = run(plan);
  EXPECT_NE(rec.out().find("connected"), std::string::npos) << rec.out() << rec.err();
  EXPECT_TRUE(l.has_connection());
}

TEST_P(SandboxIsolation, JobFolderHasItsSizeLimit) {
  limits lim;
  lim.job_dir_bytes = 1u << 20;
  auto rec = run(bash("head -c 2000000 /dev/zero > /job/big; echo rc=$?; head -c 2000000 /dev/zero > /tmp/big; "
                      "echo rc=$?"),
                 lim);
  EXPECT_EQ(rec.out(), "rc=1\nrc=1\n");
  EXPECT_NE(rec.err().find("No space left on device"), std::string::npos) << rec.err();
}

TEST_P(SandboxIsolation, ExtraReadOnlyBinds) {
  // Any host folder will do: the sandbox sources, with the contract header.
  auto plan = bash("head -c 2 /opt/runtime/launcher.hpp; echo; touch /opt/runtime/x 2>/dev/null || echo read-only");
  plan.ro_binds = {{std::string{MILLRACE_SOURCE_DIR} + "/sandbox", "/opt/runtime"}};
  auto bound = run(plan);
  EXPECT_EQ(bound.out(), "//\nread-only\n") << bound.err();
}

INSTANTIATE_TEST_SUITE_P(Standby, SandboxIsolation, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "Warm" : "Cold";
                         });

} // namespace
