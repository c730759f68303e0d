// The sandbox's /etc: a private copy of chosen host files plus the synthetic
// accounts, bound with one mount, refreshed when a source changes, kept
// while a job holds it, and cleaned up after a crashed owner.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "sandbox/detail/etc_snapshot.hpp"
#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::detail;
using namespace millrace::sandbox::testing;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const std::string& path, const std::string& text) {
  std::ofstream{path} << text;
}

mode_t mode_of(const std::string& path) {
  struct stat st{};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

/// A host-side "/etc" of our own, and a folder for the copies.
class EtcSnapshot : public ::testing::Test {
protected:
  EtcSnapshot() {
    char tmpl[] = "/tmp/millrace-etctest-XXXXXX";
    base_ = ::mkdtemp(tmpl);
    src_ = base_ + "/etc";
    out_ = base_ + "/copies";
    fs::create_directories(src_ + "/d/sub");
    fs::create_directories(src_ + "/ssl");
    fs::create_directories(out_);
    put(src_ + "/a", "alpha\n");
    ::chmod((src_ + "/a").c_str(), 0640);
    put(src_ + "/d/f", "in a folder\n");
    put(src_ + "/d/sub/g", "deeper\n");
    put(src_ + "/ssl/cnf", "ssl\n");
    fs::create_symlink("/usr/share/zoneinfo/Etc/UTC", src_ + "/l");
  }
  ~EtcSnapshot() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  std::unique_ptr<etc_snapshots> make(std::chrono::milliseconds check_every = std::chrono::milliseconds(0)) {
    return std::make_unique<etc_snapshots>(src_, std::vector<std::string>{"a", "d", "l", "ssl/cnf", "missing"},
                                           "root:x:0:0::/:/bin/sh\n", "root:x:0:\n", out_, check_every);
  }

  size_t copies() const {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(out_))
      n += e.path().filename().string().rfind("millrace-etc-", 0) == 0;
    return n;
  }

  std::string base_, src_, out_;
};

TEST_F(EtcSnapshot, CopiesFilesLinksAndFoldersWithTheAccounts) {
  auto snaps = make();
  auto snap = snaps->current();
  const auto& d = snap->dir();
  EXPECT_EQ(d.rfind(out_ + "/millrace-etc-", 0), 0u) << d;
  EXPECT_EQ(mode_of(d), 0755u);
  EXPECT_EQ(slurp(d + "/a"), "alpha\n");
  EXPECT_EQ(mode_of(d + "/a"), 0640u);
  EXPECT_EQ(slurp(d + "/d/f"), "in a folder\n");
  EXPECT_EQ(slurp(d + "/d/sub/g"), "deeper\n");
  EXPECT_EQ(slurp(d + "/ssl/cnf"), "ssl\n");
  EXPECT_EQ(fs::read_symlink(d + "/l"), "/usr/share/zoneinfo/Etc/UTC");
  EXPECT_FALSE(fs::exists(d + "/missing"));
  EXPECT_EQ(slurp(d + "/passwd"), "root:x:0:0::/:/bin/sh\n");
  EXPECT_EQ(slurp(d + "/group"), "root:x:0:\n");
  EXPECT_EQ(mode_of(d + "/passwd"), 0644u);
  EXPECT_EQ(slurp(d + "/nsswitch.conf").rfind("passwd: files\ngroup: files\n", 0), 0u);
  EXPECT_TRUE(fs::is_regular_file(d + "/resolv.conf"));
  EXPECT_EQ(fs::file_size(d + "/resolv.conf"), 0u);
}

TEST_F(EtcSnapshot, AnUnchangedHostKeepsTheSameCopy) {
  auto snaps = make();
  auto first = snaps->current();
  EXPECT_EQ(snaps->current(), first);
  EXPECT_EQ(copies(), 1u);
}

TEST_F(EtcSnapshot, AChangedSourceGivesTheNextJobAFreshCopyAndTheOldOneLivesWhileHeld) {
  auto snaps = make();
  auto old = snaps->current();
  // A new entry in a copied folder (as update-alternatives would make).
  put(src_ + "/d/new", "new\n");
  auto fresh = snaps->current();
  ASSERT_NE(fresh, old);
  EXPECT_EQ(slurp(fresh->dir() + "/d/new"), "new\n");
  EXPECT_FALSE(fs::exists(old->dir() + "/d/new"));
  // A file rewritten in place, with another size.
  put(src_ + "/a", "alpha, longer\n");
  auto third = snaps->current();
  ASSERT_NE(third, fresh);
  EXPECT_EQ(slurp(third->dir() + "/a"), "alpha, longer\n");
  // The jobs started with the older copies still see them.
  auto old_dir = old->dir();
  EXPECT_EQ(slurp(old_dir + "/a"), "alpha\n");
  old.reset();
  EXPECT_FALSE(fs::exists(old_dir));
  fresh.reset();
  EXPECT_EQ(copies(), 1u);
}

TEST_F(EtcSnapshot, ChangesWaitForTheCheckInterval) {
  auto snaps = make(std::chrono::hours(1));
  auto first = snaps->current();
  put(src_ + "/d/new", "new\n");
  EXPECT_EQ(snaps->current(), first);
}

TEST_F(EtcSnapshot, ACopyRemovedFromDiskIsMadeAgain) {
  auto snaps = make();
  auto first = snaps->current();
  auto dir = first->dir();
  fs::remove_all(dir); // a /tmp cleaner
  auto again = snaps->current();
  ASSERT_NE(again, first);
  EXPECT_EQ(slurp(again->dir() + "/a"), "alpha\n");
}

TEST_F(EtcSnapshot, CopiesOfADeadOwnerAreRemovedAndALiveOwnersKept) {
  // pid 4194303 with start time 1 is no process (pid_max is at most 2^22).
  auto dead = out_ + "/millrace-etc-4194303-1-abcdef";
  fs::create_directories(dead + "/ssl");
  auto other_name = out_ + "/not-ours";
  fs::create_directories(other_name);
  auto live_owner = make(); // its own copy is live
  auto kept = live_owner->current()->dir();
  auto second = make();
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(other_name));
  EXPECT_TRUE(fs::exists(kept));
}

TEST_F(EtcSnapshot, NamesOutsideTheRootAreRefused) {
  for (auto* bad : {"/etc/passwd", "../shadow", "ssl/../../x", ".."}) {
    EXPECT_THROW(etc_snapshots(src_, {bad}, "", "", out_), std::invalid_argument) << bad;
  }
}

TEST(SandboxEtc, JobsSeeTheCopyAndTheHostResolverOnlyWithNetwork) {
  auto l = make_bwrap_launcher(test_config());
  auto run = [&](bool network) {
    auto plan = bash("cat /etc/resolv.conf; echo --; [ -s /etc/ld.so.cache ] && echo cache; "
                     "readlink /etc/localtime >/dev/null && echo tz; ls /etc/ssl/certs | grep -c . ; "
                     "getent passwd nobody >/dev/null && echo accounts; cut -d: -f1 /etc/passwd | tr '\\n' ' '");
    plan.network = network;
    job_record rec;
    std::string error;
    auto proc = l->start(plan, {}, rec.events(), error);
    EXPECT_TRUE(proc) << error;
    if (proc) {
      EXPECT_TRUE(rec.wait());
    }
    return rec.out();
  };
  auto without = run(false);
  EXPECT_EQ(without.rfind("--\n", 0), 0u) << without;
  EXPECT_NE(without.find("cache\n"), std::string::npos) << without;
  EXPECT_NE(without.find("accounts\n"), std::string::npos) << without;
  if (fs::is_symlink("/etc/localtime")) {
    EXPECT_NE(without.find("tz\n"), std::string::npos) << without;
  }
  EXPECT_EQ(without.find("\n0\n"), std::string::npos) << "no CA certificates: " << without;
  if (::geteuid() == 0) {
    EXPECT_NE(without.find("root nobody "), std::string::npos) << without;
  }
  if (fs::exists("/etc/resolv.conf")) {
    auto with = run(true);
    EXPECT_EQ(with.substr(0, with.find("--\n")), slurp("/etc/resolv.conf")) << with;
  }
}

} // namespace
