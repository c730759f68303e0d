// The millrace binary from the outside: subcommands, exit codes, config
// errors, and a standalone that starts and stops cleanly on SIGINT, on an
// existing database and on its embedded cluster.

#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"
#include "tests/support/test_database.hpp"

using namespace millrace::test;
using namespace std::chrono_literals;

namespace {

const std::string bin = MILLRACE_BINARY;

TEST(Cli, UnknownCommandPrintsUsageAndExits2) {
  auto r = run_command({bin, "frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: millrace"), std::string::npos) << r.err;
  EXPECT_EQ(run_command({bin}).code, 2);
}

TEST(Cli, VersionPrintsVersions) {
  auto r = run_command({bin, "version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("millrace 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CAF 0.17.6"), std::string::npos) << r.out;
}

TEST(Cli, AnInvalidSettingStopsStartUpNamingTheKey) {
  auto r = run_command({bin, "standalone", "--storage.batch_max=many"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("storage.batch_max: expected an integer"), std::string::npos) << r.err;
  r = run_command({bin, "migrate", "--storage.colour=blue"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option '--storage.colour'"), std::string::npos) << r.err;
}

TEST(Cli, MigrateAppliesTheSchemaToAnExistingDatabase) {
  scratch_database db{false};
  auto r = run_command({bin, "migrate"}, {"MILLRACE_DATABASE_URL=" + db.conninfo()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("applied migration 0001_init.sql"), std::string::npos) << r.err;
  r = run_command({bin, "migrate"}, {"MILLRACE_DATABASE_URL=" + db.conninfo()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("database schema is at version"), std::string::npos) << r.err;
}

TEST(Cli, StandaloneOnAnExistingDatabaseStopsCleanlyOnSigint) {
  scratch_database db{false};
  child_process p{{bin, "standalone", "--database.url=" + db.conninfo(), "--log.format=json"}};
  ASSERT_TRUE(p.wait_for_stderr("standalone is running", 60s)) << p.err();
  p.signal(SIGINT);
  EXPECT_EQ(p.wait(60s), 0) << p.err();
  auto err = p.err();
  EXPECT_NE(err.find(R"("actor":"/millrace")"), std::string::npos) << "JSON lines name the actor";
  EXPECT_NE(err.find("stopped cleanly"), std::string::npos) << err;
}

TEST(Cli, StandaloneRunsItsEmbeddedClusterAndStopsIt) {
  auto dir = "/tmp/millrace-cli-embedded-" + std::to_string(::getpid());
  {
    child_process p{{bin, "standalone", "--database.embedded_dir=" + dir},
                    {"MILLRACE_DATABASE_URL="}};
    ASSERT_TRUE(p.wait_for_stderr("standalone is running", 120s)) << p.err();
    EXPECT_TRUE(std::filesystem::exists(dir + "/data/PG_VERSION"));
    p.signal(SIGTERM);
    EXPECT_EQ(p.wait(60s), 0) << p.err();
    EXPECT_NE(p.err().find("embedded PostgreSQL stopped"), std::string::npos) << p.err();
    EXPECT_FALSE(std::filesystem::exists(dir + "/data/postmaster.pid"));
  }
  std::filesystem::remove_all(dir);
}

} // namespace
