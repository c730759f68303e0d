#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "api/config/options.hpp"

using namespace millrace::api;

namespace {

std::string source_dir() {
  return MILLRACE_SOURCE_DIR;
}

std::string write_file(const std::string& text) {
  static int n = 0;
  auto path = "/tmp/millrace_options_test_" + std::to_string(::getpid()) + "_"
              + std::to_string(n++) + ".conf";
  std::ofstream{path} << text;
  return path;
}

std::string error_of(const std::vector<std::string>& args) {
  try {
    load_options(args);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(Options, DefaultsWithoutAFile) {
  ::unsetenv("MILLRACE_DATABASE_URL");
  auto o = load_options({});
  EXPECT_EQ(o.database_url, "");
  EXPECT_EQ(o.embedded_dir, "var/pg");
  EXPECT_EQ(o.batch_max, 5000);
  EXPECT_EQ(o.write_timeout, std::chrono::seconds{10});
  EXPECT_EQ(o.log_format, "human");
}

TEST(Options, TheShippedFileListsEveryKeyWithItsDefault) {
  ::unsetenv("MILLRACE_DATABASE_URL");
  auto defaults = load_options({});
  auto shipped = load_options({"--config", source_dir() + "/configs/millrace.conf"});
  EXPECT_EQ(shipped.database_url, defaults.database_url);
  EXPECT_EQ(shipped.embedded_dir, defaults.embedded_dir);
  EXPECT_EQ(shipped.readers, defaults.readers);
  EXPECT_EQ(shipped.connect_timeout, defaults.connect_timeout);
  EXPECT_EQ(shipped.writer_connections, defaults.writer_connections);
  EXPECT_EQ(shipped.batch_max, defaults.batch_max);
  EXPECT_EQ(shipped.queue_max, defaults.queue_max);
  EXPECT_EQ(shipped.write_timeout, defaults.write_timeout);
  EXPECT_EQ(shipped.read_timeout, defaults.read_timeout);
  EXPECT_EQ(shipped.retention_days, defaults.retention_days);
  EXPECT_EQ(shipped.partitions_ahead_days, defaults.partitions_ahead_days);
  EXPECT_EQ(shipped.log_format, defaults.log_format);
  EXPECT_EQ(shipped.log_level, defaults.log_level);
  EXPECT_EQ(shipped.threads, defaults.threads);
  EXPECT_EQ(shipped.shutdown_timeout, defaults.shutdown_timeout);
  // Every key must appear in the shipped file: a file that sets only some keys
  // would still compare equal above, so count the assignments too.
  std::ifstream in{source_dir() + "/configs/millrace.conf"};
  std::string line;
  int assignments = 0;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#' && line[0] != '[' && line.find('=') != std::string::npos)
      ++assignments;
  EXPECT_EQ(assignments, 15);
}

TEST(Options, FlagsOverrideTheFileAndTheEnvironmentOverridesTheFile) {
  auto path = write_file("[storage]\nbatch_max = 10\n[database]\nurl = host=fromfile\n");
  ::setenv("MILLRACE_DATABASE_URL", "host=fromenv", 1);
  auto o = load_options({"--config", path, "--storage.batch_max=20"});
  EXPECT_EQ(o.batch_max, 20);
  EXPECT_EQ(o.database_url, "host=fromenv");
  auto o2 = load_options({"--config", path, "--database.url=host=fromflag"});
  EXPECT_EQ(o2.database_url, "host=fromflag");
  ::unsetenv("MILLRACE_DATABASE_URL");
  EXPECT_EQ(load_options({"--config", path}).database_url, "host=fromfile");
}

TEST(Options, UnknownKeysAreNamedWithASuggestion) {
  auto path = write_file("[storage]\nbatchmax = 10\n");
  auto err = error_of({"--config", path});
  EXPECT_NE(err.find("unknown key 'storage.batchmax'"), std::string::npos) << err;
  EXPECT_NE(err.find("did you mean 'storage.batch_max'"), std::string::npos) << err;
  err = error_of({"--storage.batchmax=3"});
  EXPECT_NE(err.find("unknown option '--storage.batchmax'"), std::string::npos) << err;
}

TEST(Options, InvalidValuesNameTheKeyAndWhatWasExpected) {
  auto err = error_of({"--storage.batch_max=lots"});
  EXPECT_EQ(err, "storage.batch_max: expected an integer from 1 to 100000, got 'lots'");
  err = error_of({"--storage.batch_max=0"});
  EXPECT_NE(err.find("storage.batch_max"), std::string::npos) << err;
  err = error_of({"--storage.write_timeout=10"});
  EXPECT_EQ(err, "storage.write_timeout: expected a duration such as 500ms, 10s, 2m or 1h, got "
                 "'10'");
  err = error_of({"--log.format=xml"});
  EXPECT_EQ(err, "log.format: expected one of human, json, got 'xml'");
  err = error_of({"--config", "/nonexistent/millrace.conf"});
  EXPECT_NE(err.find("cannot read config file"), std::string::npos) << err;
}

TEST(Options, DurationUnits) {
  EXPECT_EQ(parse_duration("k", "250ms"), std::chrono::milliseconds{250});
  EXPECT_EQ(parse_duration("k", "3s"), std::chrono::seconds{3});
  EXPECT_EQ(parse_duration("k", "2m"), std::chrono::minutes{2});
  EXPECT_EQ(parse_duration("k", "1h"), std::chrono::hours{1});
  EXPECT_THROW(parse_duration("k", "s"), config_error);
  EXPECT_THROW(parse_duration("k", "-1s"), config_error);
  EXPECT_THROW(parse_duration("k", "1d"), config_error);
}

} // namespace
