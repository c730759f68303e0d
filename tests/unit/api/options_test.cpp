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
  EXPECT_EQ(shipped.scheduler, defaults.scheduler);
  EXPECT_EQ(shipped.shutdown_timeout, defaults.shutdown_timeout);
  EXPECT_EQ(shipped.lease, defaults.lease);
  EXPECT_EQ(shipped.restart_limit, defaults.restart_limit);
  EXPECT_EQ(shipped.default_timeout, defaults.default_timeout);
  EXPECT_EQ(shipped.max_timeout, defaults.max_timeout);
  EXPECT_EQ(shipped.max_unfinished_per_workspace, defaults.max_unfinished_per_workspace);
  EXPECT_EQ(shipped.max_args_bytes, defaults.max_args_bytes);
  EXPECT_EQ(shipped.prefetch, defaults.prefetch);
  EXPECT_EQ(shipped.api_bind, defaults.api_bind);
  EXPECT_EQ(shipped.api_port, defaults.api_port);
  EXPECT_EQ(shipped.api_io_threads, defaults.api_io_threads);
  EXPECT_EQ(shipped.api_body_limit, defaults.api_body_limit);
  EXPECT_EQ(shipped.api_max_wait, defaults.api_max_wait);
  EXPECT_EQ(shipped.api_page_max, defaults.api_page_max);
  EXPECT_EQ(shipped.admin_token_file, defaults.admin_token_file);
  EXPECT_EQ(shipped.flow_slots, defaults.flow_slots);
  EXPECT_EQ(shipped.expr_memory_bytes, defaults.expr_memory_bytes);
  EXPECT_EQ(shipped.worker_slots, defaults.worker_slots);
  EXPECT_EQ(shipped.worker_tags, defaults.worker_tags);
  EXPECT_EQ(shipped.kill_grace, defaults.kill_grace);
  EXPECT_EQ(shipped.log_max_bytes, defaults.log_max_bytes);
  EXPECT_EQ(shipped.result_max_bytes, defaults.result_max_bytes);
  EXPECT_EQ(shipped.log_flush_interval, defaults.log_flush_interval);
  EXPECT_EQ(shipped.network_tags, defaults.network_tags);
  EXPECT_EQ(shipped.memory_bytes, defaults.memory_bytes);
  EXPECT_EQ(shipped.pids, defaults.pids);
  EXPECT_EQ(shipped.cpu_seconds, defaults.cpu_seconds);
  EXPECT_EQ(shipped.open_files, defaults.open_files);
  EXPECT_EQ(shipped.file_size_bytes, defaults.file_size_bytes);
  EXPECT_EQ(shipped.job_dir_bytes, defaults.job_dir_bytes);
  EXPECT_EQ(shipped.run_as, defaults.run_as);
  EXPECT_EQ(shipped.cgroups, defaults.cgroups);
  EXPECT_EQ(shipped.standby, defaults.standby);
  EXPECT_EQ(shipped.reuse, defaults.reuse);
  EXPECT_EQ(shipped.shared_dir, defaults.shared_dir);
  EXPECT_EQ(shipped.cluster_listen, defaults.cluster_listen);
  EXPECT_EQ(shipped.cluster_servers, defaults.cluster_servers);
  EXPECT_EQ(shipped.cluster_secret_file, defaults.cluster_secret_file);
  EXPECT_EQ(shipped.cluster_node, defaults.cluster_node);
  EXPECT_EQ(shipped.cluster_heartbeat, defaults.cluster_heartbeat);
  EXPECT_EQ(shipped.cluster_timeout, defaults.cluster_timeout);
  EXPECT_EQ(shipped.drain_grace, defaults.drain_grace);
  EXPECT_EQ(shipped.flow_lease, defaults.flow_lease);
  EXPECT_EQ(shipped.cluster_tls, defaults.cluster_tls);
  EXPECT_EQ(shipped.tag_limits, defaults.tag_limits);
  EXPECT_EQ(shipped.tls_certificate, defaults.tls_certificate);
  // Every key must appear in the shipped file: a file that sets only some keys
  // would still compare equal above, so count the assignments too.
  std::ifstream in{source_dir() + "/configs/millrace.conf"};
  std::string line;
  int assignments = 0;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#' && line[0] != '[' && line.find('=') != std::string::npos)
      ++assignments;
  EXPECT_EQ(assignments, 63);
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
  err = error_of({"--sandbox.standby=65"});
  EXPECT_EQ(err, "sandbox.standby: expected an integer from 0 to 64, got '65'");
  err = error_of({"--log.format=xml"});
  EXPECT_EQ(err, "log.format: expected one of human, json, got 'xml'");
  err = error_of({"--actors.scheduler=fifo"});
  EXPECT_EQ(err, "actors.scheduler: expected one of sharing, stealing, got 'fifo'");
  err = error_of({"--config", "/nonexistent/millrace.conf"});
  EXPECT_NE(err.find("cannot read config file"), std::string::npos) << err;
}

TEST(Options, SizesListsAndBooleans) {
  EXPECT_EQ(parse_size("k", "4096"), 4096u);
  EXPECT_EQ(parse_size("k", "64K"), 65536u);
  EXPECT_EQ(parse_size("k", "2G"), 2ull << 30);
  EXPECT_THROW(parse_size("k", "2GB"), config_error);
  EXPECT_EQ(parse_list("k", "a, b,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(parse_list("k", "").empty());
  EXPECT_THROW(parse_list("k", "a,,b"), config_error);
  EXPECT_TRUE(parse_bool("k", "yes"));
  EXPECT_THROW(parse_bool("k", "maybe"), config_error);
  auto err = error_of({"--worker.slots=-1"});
  EXPECT_NE(err.find("worker.slots: expected an integer from 0 to 1024"), std::string::npos) << err;
  err = error_of({"--sandbox.memory=lots"});
  EXPECT_NE(err.find("sandbox.memory: expected a size"), std::string::npos) << err;
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
