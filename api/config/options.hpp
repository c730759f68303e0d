// Millrace's settings: one documented file (configs/millrace.conf), overridden
// by command-line flags (--section.key=value), with MILLRACE_DATABASE_URL for
// the database. Precedence: flag > environment > file > default.
//
// An unknown key or an invalid value stops start-up with a config_error that
// names the key and says what was expected.

#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace millrace::api {

class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct options {
  /// The file the settings came from ("" when none).
  std::string config_file;

  // [database]
  std::string database_url;          // "" = embedded cluster
  std::string embedded_dir = "var/pg";
  int readers = 2;
  std::chrono::seconds connect_timeout{5};

  // [storage]
  int writer_connections = 2;
  int batch_max = 5000;
  int queue_max = 100000;
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds read_timeout{10000};
  int retention_days = 30;
  int partitions_ahead_days = 7;

  // [log]
  std::string log_format = "human";  // human | json
  std::string log_level = "info";

  // [actors]
  int threads = 0;                   // 0 = one per core
  std::chrono::seconds shutdown_timeout{60};
};

/// Parses `args` (the arguments after the subcommand) plus the config file
/// they name with --config, and the environment. Throws config_error.
options load_options(const std::vector<std::string>& args);

/// Help text listing every flag.
std::string options_help();

// Value parsers, exposed for tests. Each throws config_error naming `key`.
int parse_int(const std::string& key, const std::string& text, int min, int max);
std::chrono::milliseconds parse_duration(const std::string& key, const std::string& text);
std::string parse_choice(const std::string& key, const std::string& text,
                         const std::vector<std::string>& choices);

} // namespace millrace::api
