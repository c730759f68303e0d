// Millrace's settings: one documented file (configs/millrace.conf), overridden
// by command-line flags (--section.key=value), with MILLRACE_DATABASE_URL for
// the database. Precedence: flag > environment > file > default.
//
// An unknown key or an invalid value stops start-up with a config_error that
// names the key and says what was expected.

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
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

  // [api]
  std::string api_bind = "127.0.0.1";
  int api_port = 8000;                  // 0: any free port; -1: no HTTP API
  int api_io_threads = 2;
  uint64_t api_body_limit = 4 << 20;
  std::chrono::seconds api_max_wait{60};
  int api_page_max = 1000;
  std::string admin_token_file = "var/admin-token"; // "" = not written

  // [dispatcher]
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds flow_lease{600000};
  int restart_limit = 3;
  std::chrono::seconds default_timeout{900};
  std::chrono::seconds max_timeout{86400};
  int max_unfinished_per_workspace = 100000;
  uint64_t max_args_bytes = 1 << 20;
  int prefetch = 1;
  std::map<std::string, int> tag_limits; // tag -> most running at once

  // [flows]
  int flow_slots = 64;                  // 0: no flow engine in this process
  uint64_t expr_memory_bytes = 64 << 20;

  // [worker]
  int worker_slots = 4;                 // 0: no worker in this process
  std::vector<std::string> worker_tags = {"bash", "python3", "noop"};
  std::chrono::milliseconds kill_grace{5000};
  uint64_t log_max_bytes = 10 << 20;
  uint64_t result_max_bytes = 10 << 20;
  std::chrono::milliseconds log_flush_interval{100};

  // [sandbox]
  std::vector<std::string> network_tags;
  uint64_t memory_bytes = 512ull << 20;
  int pids = 256;
  int cpu_seconds = 0;
  int open_files = 1024;
  uint64_t file_size_bytes = 256ull << 20;
  uint64_t job_dir_bytes = 256ull << 20;
  std::string run_as = "nobody";
  bool cgroups = true;
  bool reuse = true; // cgroups and network namespaces across jobs
  int standby = 2;
  std::string shared_dir = "var/shared"; // same_worker flows' ./shared folders

  // [cluster]
  std::string cluster_listen = "127.0.0.1:7700";
  std::string cluster_servers;
  std::string cluster_secret_file;
  std::string cluster_node;          // "" = host name
  std::chrono::milliseconds cluster_heartbeat{250};
  std::chrono::milliseconds cluster_timeout{1000};
  std::chrono::seconds drain_grace{60};
  bool cluster_tls = false;
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_cafile;

  // [log]
  std::string log_format = "human";  // human | json
  std::string log_level = "info";

  // [actors]
  int threads = 0;                   // 0 = one less than the cores, at least 1
  std::string scheduler = "sharing"; // sharing | stealing
  std::chrono::seconds shutdown_timeout{60};
};

/// Parses `args` (the arguments after the subcommand) plus the config file
/// they name with --config, and the environment. Throws config_error.
options load_options(const std::vector<std::string>& args);

/// Help text listing every flag.
std::string options_help();

// Value parsers, exposed for tests. Each throws config_error naming `key`.
int parse_int(const std::string& key, const std::string& text, int min, int max);
uint64_t parse_size(const std::string& key, const std::string& text);
bool parse_bool(const std::string& key, const std::string& text);
std::vector<std::string> parse_list(const std::string& key, const std::string& text);
std::chrono::milliseconds parse_duration(const std::string& key, const std::string& text);
std::string parse_choice(const std::string& key, const std::string& text,
                         const std::vector<std::string>& choices);

} // namespace millrace::api
