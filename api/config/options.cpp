#include "api/config/options.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <boost/program_options.hpp>

namespace millrace::api {

namespace po = boost::program_options;

namespace {

// Every key, its default as text, and what it means. configs/millrace.conf
// documents the same keys; a test checks that the two agree.
struct key_doc {
  const char* key;
  const char* fallback;
  const char* help;
};

const key_doc keys[] = {
  {"database.url", "", "PostgreSQL conninfo or URI; empty runs the embedded cluster"},
  {"database.embedded_dir", "var/pg", "directory of the embedded cluster"},
  {"database.readers", "2", "read-only connections in the reader pool (1-64)"},
  {"database.connect_timeout", "5s", "give up one connection attempt after this long"},
  {"storage.writer_connections", "2", "connections the writer spreads writes over, by key (1-16)"},
  {"storage.batch_max", "5000", "most writes in one transaction (1-100000)"},
  {"storage.queue_max", "100000", "most writes queued before 'overloaded' (1-10000000)"},
  {"storage.write_timeout", "10s", "a write not committed by then fails"},
  {"storage.read_timeout", "10s", "a read not answered by then fails"},
  {"storage.retention_days", "30", "days completed jobs, logs and events are kept (0 = forever)"},
  {"storage.partitions_ahead_days", "7", "daily partitions created ahead of time (1-90)"},
  {"api.bind", "127.0.0.1", "address the HTTP API listens on"},
  {"api.port", "8000", "port of the HTTP API (0: any free port; -1: no HTTP API)"},
  {"api.io_threads", "2", "HTTP io threads (1-64)"},
  {"api.body_limit", "4M", "largest request body"},
  {"api.max_wait", "60s", "longest run_wait_result wait before it answers 504"},
  {"api.page_max", "1000", "largest page of list routes (1-100000)"},
  {"api.admin_token_file", "var/admin-token", "where the first admin token is written (mode 0600)"},
  {"dispatcher.lease", "30s", "lease of a running attempt; renewed every third of it"},
  {"dispatcher.flow_lease", "10m", "lease of a flow run's attempt (flows run in the server); renewed every third of it"},
  {"dispatcher.restart_limit", "3", "attempts a job may lose to dead workers before it fails as poison (0-100)"},
  {"dispatcher.default_timeout", "15m", "timeout of a job that sets none"},
  {"dispatcher.max_timeout", "24h", "largest timeout a job may set"},
  {"dispatcher.max_unfinished_per_workspace", "100000", "unfinished jobs per workspace before submissions get 'overloaded' (1-100000000)"},
  {"dispatcher.max_args_size", "1M", "largest args document of a job"},
  {"dispatcher.tag_limits", "", "most jobs of a tag running at once across the cluster, e.g. gpu:4,bigmem:2 (tags not listed: no limit)"},
  {"dispatcher.prefetch", "1", "jobs without a process sent ahead to a slot running one (0-64)"},
  {"worker.slots", "4", "worker slots in this process (jobs run at once); 0: none (0-1024)"},
  {"worker.tags", "bash,python3,noop", "tags the slots serve, comma-separated"},
  {"flows.slots", "64", "top-level flow runs at once in this process, not counting runs waiting for an approval or a sleep, nor sub-flows; 0: no flow engine (0-10000)"},
  {"flows.expr_memory", "64M", "memory limit of the JavaScript expression evaluator (node)"},
  {"worker.kill_grace", "5s", "between SIGTERM and SIGKILL when a job times out or is canceled"},
  {"worker.log_max", "10M", "log bytes stored per job; the rest is dropped, with a marker"},
  {"worker.result_max", "10M", "largest result a job may return"},
  {"worker.log_flush_interval", "100ms", "log chunks are written at least this often"},
  {"sandbox.network_tags", "", "tags whose jobs may use the network, comma-separated; others run without"},
  {"sandbox.memory", "512M", "memory limit of a job (cgroup)"},
  {"sandbox.pids", "256", "processes and threads a job may have (cgroup pids.max; 1-100000)"},
  {"sandbox.cpu_seconds", "0", "CPU seconds per job process (RLIMIT_CPU); 0: none"},
  {"sandbox.open_files", "1024", "open files per job process (RLIMIT_NOFILE)"},
  {"sandbox.file_size", "256M", "largest file a job may write (RLIMIT_FSIZE)"},
  {"sandbox.job_dir_size", "256M", "size of a job's private folder (/job and /tmp)"},
  {"sandbox.run_as", "nobody", "OS user jobs run as when millrace runs as root"},
  {"sandbox.cgroups", "true", "use cgroups (v1 memory, pids) for limits and OOM detection"},
  {"sandbox.reuse", "true", "reuse a finished job's cgroups and network namespace for later jobs (false: new ones per job)"},
  {"sandbox.standby", "2", "standby sandboxes kept ready per job shape (0-64; 0: every job starts cold)"},
  {"sandbox.shared_dir", "var/shared", "where a worker node keeps the ./shared folders of same_worker flows"},
  {"cluster.listen", "127.0.0.1:7700", "server: HOST:PORT of the cluster endpoint workers join (port 0: any free port)"},
  {"cluster.servers", "", "worker: server cluster endpoints, HOST:PORT[,HOST:PORT...] (active, then standbys)"},
  {"cluster.secret_file", "", "file holding the shared cluster secret (mode 0600); empty: MILLRACE_CLUSTER_SECRET"},
  {"cluster.node", "", "worker: node name, unique in the cluster (empty: the host name)"},
  {"cluster.heartbeat", "250ms", "heartbeat interval between nodes"},
  {"cluster.timeout", "1s", "a node silent this long is lost (its jobs get new attempts elsewhere)"},
  {"cluster.tls", "false", "encrypt and authenticate traffic between nodes with TLS (needs the three tls_* files)"},
  {"cluster.tls_certificate", "", "this node's certificate (PEM)"},
  {"cluster.tls_key", "", "this node's private key (PEM)"},
  {"cluster.tls_cafile", "", "CA certificate(s) (PEM) that peers' certificates must be signed by"},
  {"cluster.drain_grace", "60s", "worker: on SIGTERM, how long running jobs may finish before they are handed back"},
  {"log.format", "human", "human or json (one JSON object per line)"},
  {"log.level", "info", "trace, debug, info, warn, error or off"},
  {"actors.threads", "0", "scheduler threads; 0 = one less than the cores, at least 1 (0-256)"},
  {"actors.scheduler", "sharing", "sharing (one queue, idle threads sleep) or stealing (a queue per thread)"},
  {"actors.shutdown_timeout", "60s", "longest clean shutdown before a forced exit"},
};

po::options_description file_keys() {
  po::options_description d;
  for (auto& k : keys)
    d.add_options()(k.key, po::value<std::string>());
  return d;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::string suggest(const std::string& unknown) {
  std::string best;
  size_t best_d = 4;
  for (auto& k : keys) {
    auto d = edit_distance(unknown, k.key);
    if (d < best_d) {
      best_d = d;
      best = k.key;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

// "--storage.x=1" -> "storage.x"
std::string strip_dashes(std::string s) {
  while (!s.empty() && s.front() == '-')
    s.erase(s.begin());
  auto eq = s.find('=');
  if (eq != std::string::npos)
    s.resize(eq);
  return s;
}

} // namespace

options load_options(const std::vector<std::string>& args) {
  po::options_description cli;
  cli.add_options()("config", po::value<std::string>(), "config file");
  cli.add(file_keys());
  po::variables_map from_cli;
  try {
    po::store(po::command_line_parser(args).options(cli).run(), from_cli);
  } catch (const po::unknown_option& e) {
    auto name = strip_dashes(e.get_option_name());
    throw config_error("unknown option '--" + name + "'" + suggest(name));
  } catch (const po::error& e) {
    throw config_error(std::string("command line: ") + e.what());
  }

  options out;
  po::variables_map from_file;
  if (from_cli.count("config")) {
    out.config_file = from_cli["config"].as<std::string>();
    std::ifstream in{out.config_file};
    if (!in)
      throw config_error("cannot read config file '" + out.config_file + "'");
    try {
      po::store(po::parse_config_file(in, file_keys(), false), from_file);
    } catch (const po::unknown_option& e) {
      auto name = strip_dashes(e.get_option_name());
      throw config_error(out.config_file + ": unknown key '" + name + "'" + suggest(name));
    } catch (const po::error& e) {
      throw config_error(out.config_file + ": " + e.what());
    }
  }

  // flag > environment > file > default
  std::map<std::string, std::string> v;
  for (auto& k : keys) {
    if (from_cli.count(k.key))
      v[k.key] = from_cli[k.key].as<std::string>();
    else if (std::string(k.key) == "database.url" && std::getenv("MILLRACE_DATABASE_URL"))
      v[k.key] = std::getenv("MILLRACE_DATABASE_URL");
    else if (from_file.count(k.key))
      v[k.key] = from_file[k.key].as<std::string>();
    else
      v[k.key] = k.fallback;
  }

  out.database_url = v["database.url"];
  out.embedded_dir = v["database.embedded_dir"];
  if (out.embedded_dir.empty())
    throw config_error("database.embedded_dir: expected a directory, got an empty value");
  out.readers = parse_int("database.readers", v["database.readers"], 1, 64);
  out.connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(
    parse_duration("database.connect_timeout", v["database.connect_timeout"]));
  if (out.connect_timeout.count() < 1)
    throw config_error("database.connect_timeout: expected at least 1s, got '"
                       + v["database.connect_timeout"] + "'");
  out.writer_connections =
    parse_int("storage.writer_connections", v["storage.writer_connections"], 1, 16);
  out.batch_max = parse_int("storage.batch_max", v["storage.batch_max"], 1, 100000);
  out.queue_max = parse_int("storage.queue_max", v["storage.queue_max"], 1, 10000000);
  out.write_timeout = parse_duration("storage.write_timeout", v["storage.write_timeout"]);
  out.read_timeout = parse_duration("storage.read_timeout", v["storage.read_timeout"]);
  for (auto* k : {"storage.write_timeout", "storage.read_timeout"})
    if (parse_duration(k, v[k]).count() < 10)
      throw config_error(std::string(k) + ": expected at least 10ms, got '" + v[k] + "'");
  out.retention_days = parse_int("storage.retention_days", v["storage.retention_days"], 0, 36500);
  out.partitions_ahead_days =
    parse_int("storage.partitions_ahead_days", v["storage.partitions_ahead_days"], 1, 90);
  out.api_bind = v["api.bind"];
  if (out.api_bind.empty())
    throw config_error("api.bind: expected an address, got an empty value");
  out.api_port = parse_int("api.port", v["api.port"], -1, 65535);
  out.api_io_threads = parse_int("api.io_threads", v["api.io_threads"], 1, 64);
  out.api_body_limit = parse_size("api.body_limit", v["api.body_limit"]);
  if (out.api_body_limit < 1024)
    throw config_error("api.body_limit: expected at least 1K, got '" + v["api.body_limit"] + "'");
  out.api_max_wait = std::chrono::duration_cast<std::chrono::seconds>(
    parse_duration("api.max_wait", v["api.max_wait"]));
  if (out.api_max_wait.count() < 1)
    throw config_error("api.max_wait: expected at least 1s, got '" + v["api.max_wait"] + "'");
  out.api_page_max = parse_int("api.page_max", v["api.page_max"], 1, 100000);
  out.admin_token_file = v["api.admin_token_file"];
  auto secs = [&](const char* k) {
    return std::chrono::duration_cast<std::chrono::seconds>(parse_duration(k, v[k]));
  };
  out.lease = parse_duration("dispatcher.lease", v["dispatcher.lease"]);
  if (out.lease < std::chrono::seconds{1})
    throw config_error("dispatcher.lease: expected at least 1s, got '" + v["dispatcher.lease"] + "'");
  out.flow_lease = parse_duration("dispatcher.flow_lease", v["dispatcher.flow_lease"]);
  if (out.flow_lease < std::chrono::seconds{1} || out.flow_lease > std::chrono::hours{24})
    throw config_error("dispatcher.flow_lease: expected from 1s to 24h, got '"
                       + v["dispatcher.flow_lease"] + "'");
  out.restart_limit = parse_int("dispatcher.restart_limit", v["dispatcher.restart_limit"], 0, 100);
  out.default_timeout = secs("dispatcher.default_timeout");
  out.max_timeout = secs("dispatcher.max_timeout");
  if (out.default_timeout.count() < 1 || out.default_timeout > out.max_timeout)
    throw config_error("dispatcher.default_timeout: expected from 1s to dispatcher.max_timeout ("
                       + v["dispatcher.max_timeout"] + "), got '" + v["dispatcher.default_timeout"]
                       + "'");
  out.max_unfinished_per_workspace =
    parse_int("dispatcher.max_unfinished_per_workspace", v["dispatcher.max_unfinished_per_workspace"],
              1, 100000000);
  out.max_args_bytes = parse_size("dispatcher.max_args_size", v["dispatcher.max_args_size"]);
  out.prefetch = parse_int("dispatcher.prefetch", v["dispatcher.prefetch"], 0, 64);
  for (auto& item : parse_list("dispatcher.tag_limits", v["dispatcher.tag_limits"])) {
    auto colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw config_error("dispatcher.tag_limits: expected TAG:N, got '" + item + "'");
    out.tag_limits[item.substr(0, colon)] =
      parse_int("dispatcher.tag_limits", item.substr(colon + 1), 1, 1000000);
  }
  out.worker_slots = parse_int("worker.slots", v["worker.slots"], 0, 1024);
  out.worker_tags = parse_list("worker.tags", v["worker.tags"]);
  if (out.worker_slots > 0 && out.worker_tags.empty())
    throw config_error("worker.tags: expected at least one tag when worker.slots > 0");
  out.flow_slots = parse_int("flows.slots", v["flows.slots"], 0, 10000);
  out.expr_memory_bytes = parse_size("flows.expr_memory", v["flows.expr_memory"]);
  if (out.expr_memory_bytes < (16u << 20))
    throw config_error("flows.expr_memory: expected at least 16M, got '" + v["flows.expr_memory"]
                       + "'");
  out.kill_grace = parse_duration("worker.kill_grace", v["worker.kill_grace"]);
  out.log_max_bytes = parse_size("worker.log_max", v["worker.log_max"]);
  out.result_max_bytes = parse_size("worker.result_max", v["worker.result_max"]);
  out.log_flush_interval = parse_duration("worker.log_flush_interval", v["worker.log_flush_interval"]);
  if (out.log_flush_interval.count() < 1)
    throw config_error("worker.log_flush_interval: expected at least 1ms");
  out.network_tags = parse_list("sandbox.network_tags", v["sandbox.network_tags"]);
  out.memory_bytes = parse_size("sandbox.memory", v["sandbox.memory"]);
  if (out.memory_bytes < (16ull << 20))
    throw config_error("sandbox.memory: expected at least 16M, got '" + v["sandbox.memory"] + "'");
  out.pids = parse_int("sandbox.pids", v["sandbox.pids"], 1, 100000);
  out.cpu_seconds = parse_int("sandbox.cpu_seconds", v["sandbox.cpu_seconds"], 0, 10000000);
  out.open_files = parse_int("sandbox.open_files", v["sandbox.open_files"], 16, 1048576);
  out.file_size_bytes = parse_size("sandbox.file_size", v["sandbox.file_size"]);
  out.job_dir_bytes = parse_size("sandbox.job_dir_size", v["sandbox.job_dir_size"]);
  out.run_as = v["sandbox.run_as"];
  if (out.run_as.empty())
    throw config_error("sandbox.run_as: expected a user name");
  out.cgroups = parse_bool("sandbox.cgroups", v["sandbox.cgroups"]);
  out.reuse = parse_bool("sandbox.reuse", v["sandbox.reuse"]);
  out.standby = parse_int("sandbox.standby", v["sandbox.standby"], 0, 64);
  out.shared_dir = v["sandbox.shared_dir"];
  if (out.shared_dir.empty())
    throw config_error("sandbox.shared_dir: expected a directory, got an empty value");
  out.cluster_listen = v["cluster.listen"];
  out.cluster_servers = v["cluster.servers"];
  out.cluster_secret_file = v["cluster.secret_file"];
  out.cluster_node = v["cluster.node"];
  out.cluster_heartbeat = parse_duration("cluster.heartbeat", v["cluster.heartbeat"]);
  out.cluster_timeout = parse_duration("cluster.timeout", v["cluster.timeout"]);
  if (out.cluster_heartbeat.count() < 10 || out.cluster_timeout < 2 * out.cluster_heartbeat)
    throw config_error("cluster.timeout: expected at least twice cluster.heartbeat (itself at "
                       "least 10ms), got heartbeat '" + v["cluster.heartbeat"] + "' and timeout '"
                       + v["cluster.timeout"] + "'");
  out.cluster_tls = parse_bool("cluster.tls", v["cluster.tls"]);
  out.tls_certificate = v["cluster.tls_certificate"];
  out.tls_key = v["cluster.tls_key"];
  out.tls_cafile = v["cluster.tls_cafile"];
  if (out.cluster_tls)
    for (auto* k : {"cluster.tls_certificate", "cluster.tls_key", "cluster.tls_cafile"}) {
      if (v[k].empty())
        throw config_error(std::string(k) + ": required when cluster.tls is true");
      if (std::ifstream probe{v[k]}; !probe)
        throw config_error(std::string(k) + ": cannot read '" + v[k] + "'");
    }
  out.drain_grace = std::chrono::duration_cast<std::chrono::seconds>(
    parse_duration("cluster.drain_grace", v["cluster.drain_grace"]));
  out.log_format = parse_choice("log.format", v["log.format"], {"human", "json"});
  out.log_level = parse_choice("log.level", v["log.level"],
                               {"trace", "debug", "info", "warn", "error", "off"});
  out.threads = parse_int("actors.threads", v["actors.threads"], 0, 256);
  out.scheduler = parse_choice("actors.scheduler", v["actors.scheduler"], {"sharing", "stealing"});
  out.shutdown_timeout = std::chrono::duration_cast<std::chrono::seconds>(
    parse_duration("actors.shutdown_timeout", v["actors.shutdown_timeout"]));
  return out;
}

std::string options_help() {
  std::ostringstream out;
  out << "  --config FILE                      read settings from FILE (see configs/millrace.conf)\n";
  for (auto& k : keys) {
    std::string flag = std::string("--") + k.key + "=V";
    out << "  " << flag;
    out << (flag.size() < 35 ? std::string(35 - flag.size(), ' ') : std::string("\n") + std::string(37, ' '));
    out << k.help;
    if (*k.fallback)
      out << " [" << k.fallback << "]";
    out << "\n";
  }
  out << "  environment: MILLRACE_DATABASE_URL sets database.url\n";
  return out.str();
}

} // namespace millrace::api
