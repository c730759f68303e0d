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
  {"log.format", "human", "human or json (one JSON object per line)"},
  {"log.level", "info", "trace, debug, info, warn, error or off"},
  {"actors.threads", "0", "scheduler threads; 0 = one per core (0-256)"},
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

int parse_int(const std::string& key, const std::string& text, int min, int max) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used == text.size() && v >= min && v <= max)
      return static_cast<int>(v);
  } catch (...) {
    // fall through to the error below
  }
  throw config_error(key + ": expected an integer from " + std::to_string(min) + " to "
                     + std::to_string(max) + ", got '" + text + "'");
}

std::chrono::milliseconds parse_duration(const std::string& key, const std::string& text) {
  size_t i = 0;
  while (i < text.size() && isdigit(static_cast<unsigned char>(text[i])))
    ++i;
  auto fail = [&]() -> std::chrono::milliseconds {
    throw config_error(key + ": expected a duration such as 500ms, 10s, 2m or 1h, got '" + text
                       + "'");
  };
  if (i == 0 || i > 9)
    return fail();
  long long n = std::stoll(text.substr(0, i));
  auto unit = text.substr(i);
  if (unit == "ms")
    return std::chrono::milliseconds{n};
  if (unit == "s")
    return std::chrono::seconds{n};
  if (unit == "m")
    return std::chrono::minutes{n};
  if (unit == "h")
    return std::chrono::hours{n};
  return fail();
}

std::string parse_choice(const std::string& key, const std::string& text,
                         const std::vector<std::string>& choices) {
  for (auto& c : choices)
    if (c == text)
      return text;
  std::string list;
  for (auto& c : choices)
    list += (list.empty() ? "" : ", ") + c;
  throw config_error(key + ": expected one of " + list + ", got '" + text + "'");
}

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
  out.log_format = parse_choice("log.format", v["log.format"], {"human", "json"});
  out.log_level = parse_choice("log.level", v["log.level"],
                               {"trace", "debug", "info", "warn", "error", "off"});
  out.threads = parse_int("actors.threads", v["actors.threads"], 0, 256);
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
    for (size_t i = flag.size(); i < 35; ++i)
      out << ' ';
    out << k.help;
    if (*k.fallback)
      out << " [" << k.fallback << "]";
    out << "\n";
  }
  out << "  environment: MILLRACE_DATABASE_URL sets database.url\n";
  return out.str();
}

} // namespace millrace::api
