// The embedded PostgreSQL cluster: created on first use, reused on the next
// start, recovering from a crash that left postmaster.pid behind, and guarded
// against two millrace processes sharing it.

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "storage/embedded_cluster.hpp"
#include "storage/pg/connection.hpp"

using namespace millrace::storage;
namespace fs = std::filesystem;

namespace {

class EmbeddedCluster : public ::testing::Test {
protected:
  std::string dir = "/tmp/millrace-embedded-test-" + std::to_string(::getpid());

  embedded_config cfg() {
    embedded_config c;
    c.dir = dir;
    return c;
  }

  void TearDown() override { fs::remove_all(dir); }

  static std::string ask(const std::string& conninfo, const std::string& sql) {
    pg::connection c{pg::connect_options{conninfo}};
    return c.query(sql).rows.at(0).at(0).text;
  }
};

TEST_F(EmbeddedCluster, CreatesStartsStopsAndReuses) {
  std::string conninfo;
  {
    embedded_cluster pg{cfg()};
    conninfo = pg.start();
    EXPECT_TRUE(fs::exists(dir + "/data/PG_VERSION"));
    EXPECT_EQ(ask(conninfo, "SELECT current_database()"), "millrace");
    EXPECT_EQ(ask(conninfo, "SHOW listen_addresses"), "") << "unix socket only, no TCP";
    pg::connection c{pg::connect_options{conninfo}};
    c.exec("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)");
    pg.stop();
    EXPECT_FALSE(fs::exists(dir + "/data/postmaster.pid")) << "stopped cleanly";
  }
  embedded_cluster again{cfg()};
  EXPECT_EQ(again.start(), conninfo);
  EXPECT_EQ(ask(conninfo, "SELECT x FROM kept"), "42") << "the second start reuses the cluster";
  again.stop();
}

TEST_F(EmbeddedCluster, RecoversFromACrashThatLeftItsPidFile) {
  embedded_cluster first{cfg()};
  auto conninfo = first.start();
  std::ifstream pidfile{dir + "/data/postmaster.pid"};
  pid_t pid = 0;
  ASSERT_TRUE(pidfile >> pid);
  ::kill(pid, SIGKILL); // the postmaster dies; postmaster.pid stays behind
  for (int i = 0; i < 500 && ::kill(pid, 0) == 0; ++i)
    ::usleep(10000);
  ASSERT_TRUE(fs::exists(dir + "/data/postmaster.pid"));
  // Orphaned backends may linger for a moment after their postmaster died.
  first.stop(); // pg_ctl stop fails (nothing running) but releases the lock
  embedded_cluster second{cfg()};
  EXPECT_EQ(second.start(), conninfo);
  EXPECT_EQ(ask(conninfo, "SELECT 1"), "1");
  second.stop();
}

TEST_F(EmbeddedCluster, ASecondProcessCannotUseTheSameCluster) {
  embedded_cluster first{cfg()};
  first.start();
  embedded_cluster second{cfg()};
  try {
    second.start();
    FAIL() << "expected embedded_error";
  } catch (const embedded_error& e) {
    EXPECT_NE(std::string(e.what()).find("another millrace process"), std::string::npos)
      << e.what();
  }
  first.stop();
}

} // namespace
