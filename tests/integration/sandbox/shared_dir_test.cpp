// A plan's shared folder (launch_plan::shared_dir, the ./shared of a
// same_worker flow's steps): what one job writes there the next one reads, it
// belongs to the job's user, a job without it sees none, it is never a
// standby's, and a path that is not a folder is refused.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_harness.hpp"

using namespace millrace::sandbox;
using namespace millrace::sandbox::testing;

namespace {

namespace fs = std::filesystem;

class SandboxSharedDir : public ::testing::Test {
protected:
  // Not made here: the launcher makes the root (0711) and the folder.
  std::string root = "/tmp/millrace-shared-test-" + std::to_string(::getpid()) + "-"
                     + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string dir = root + "/00000000-0000-7000-8000-000000000001";

  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  static std::string run(launcher& l, launch_plan plan) {
    job_record rec;
    std::string error;
    auto p = l.start(plan, {}, rec.events(), error);
    if (!p)
      return "start failed: " + error;
    if (!rec.wait())
      return "did not end";
    return rec.out() + rec.err();
  }
};

TEST_F(SandboxSharedDir, WhatOneJobWritesTheNextReads) {
  auto l = make_bwrap_launcher(test_config());
  auto a = bash("echo from-a > /job/shared/note && echo written");
  a.shared_dir = dir;
  EXPECT_EQ(run(*l, a), "written\n");
  auto b = bash("cat ./shared/note");
  b.shared_dir = dir;
  EXPECT_EQ(run(*l, b), "from-a\n");

  struct stat st{};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir + "/note").c_str(), &st), 0);
  if (::geteuid() == 0) {
    EXPECT_NE(st.st_uid, 0u) << "written by the job's user, not root";
  }
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0711u) << "others may pass through the root, not list it";
}

TEST_F(SandboxSharedDir, AJobWithoutItSeesNoSharedFolder) {
  auto l = make_bwrap_launcher(test_config());
  auto a = bash("echo x > /job/shared/note");
  a.shared_dir = dir;
  run(*l, a);
  EXPECT_EQ(run(*l, bash("ls /job/shared 2>/dev/null || echo none")), "none\n");
}

TEST_F(SandboxSharedDir, AJobWithItNeverGoesToAStandby) {
  auto cfg = test_config();
  cfg.standby = 2;
  auto l = make_bwrap_launcher(cfg);
  auto plan = bash("ls -d /job/shared");
  l->prepare(bash("true"), {}); // standbys of the same shape, bar the folder
  plan.shared_dir = dir;
  auto before = l->stats().from_standby;
  EXPECT_EQ(run(*l, plan), "/job/shared\n");
  EXPECT_EQ(run(*l, plan), "/job/shared\n");
  EXPECT_EQ(l->stats().from_standby, before);
}

TEST_F(SandboxSharedDir, APathThatIsNotAFolderIsRefused) {
  auto l = make_bwrap_launcher(test_config());
  fs::create_directories(root);
  std::ofstream{root + "/file"} << "x";
  fs::create_symlink("/etc", root + "/link");
  for (auto bad : {root + "/file", root + "/link"}) {
    auto plan = bash("true");
    plan.shared_dir = bad;
    job_record rec;
    std::string error;
    EXPECT_FALSE(l->start(plan, {}, rec.events(), error)) << bad;
    EXPECT_NE(error.find("is not a folder"), std::string::npos) << error;
  }
  auto relative = bash("true");
  relative.shared_dir = "var/shared/x";
  job_record rec;
  std::string error;
  EXPECT_FALSE(l->start(relative, {}, rec.events(), error));
  EXPECT_NE(error.find("shared_dir 'var/shared/x' is not a clean absolute path"), std::string::npos)
    << error;
  auto clash = bash("true");
  clash.shared_dir = dir;
  clash.files.push_back({"/job/shared/x", "y", false});
  EXPECT_FALSE(l->start(clash, {}, rec.events(), error));
  EXPECT_NE(error.find("inside the shared folder"), std::string::npos) << error;
}

} // namespace
