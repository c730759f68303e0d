// `millrace run FILE.py|FILE.sh [--arg name=value]... [--tag T] [--timeout S]`
// runs one script as a job: on a running server when one answers (--url,
// MILLRACE_URL, or the local standalone; submitted as a preview job over the
// HTTP API), else on an embedded millrace (the same tree as standalone:
// storage, dispatcher, worker slots, on the embedded PostgreSQL unless a
// database URL is configured). The log streams to stderr as the
// job prints it; the result goes to stdout as JSON. Exit status: 0 success,
// 1 the job failed (or timed out, or was canceled), 2 bad usage or arguments.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/actor_config.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/root.hpp"
#include "api/cli/commands.hpp"
#include "api/cli/database.hpp"
#include "api/cli/http_client.hpp"
#include "api/cli/remote.hpp"
#include "api/cli/root_config.hpp"
#include "api/cli/shutdown.hpp"
#include "runtime/runtime.hpp"
#include "runtime/schema.hpp"

namespace millrace::api {

namespace {

struct run_args {
  std::string file;
  std::vector<std::pair<std::string, std::string>> args;
  std::string tag;
  int timeout_s = 0;
  int priority = 0;
  std::vector<std::string> rest; // settings for load_options
  std::vector<std::string> connection; // --url/--token/--workspace and values
  bool embedded = false;               // --embedded: never use a running server
};

const char* run_usage =
  "usage: millrace run FILE.py|FILE.sh [--arg name=value]... [--tag T] [--timeout SECONDS]\n"
  "                    [--priority N] [--url http://HOST:PORT] [--token T] [--workspace W]\n"
  "                    [--embedded] [--config FILE] [--section.key=value]...\n"
  "  Runs on the server at --url (or MILLRACE_URL, or the local standalone when it\n"
  "  answers); otherwise, or with --embedded, on an embedded millrace.\n";

run_args parse_run_args(const std::vector<std::string>& argv) {
  run_args out;
  for (size_t i = 0; i < argv.size(); ++i) {
    auto a = argv[i];
    auto value = [&](const std::string& flag) -> std::string {
      auto eq = a.find('=');
      if (eq != std::string::npos)
        return a.substr(eq + 1);
      if (i + 1 >= argv.size())
        throw config_error(flag + " needs a value");
      return argv[++i];
    };
    if (a == "--arg" || a.rfind("--arg=", 0) == 0) {
      auto kv = value("--arg");
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw config_error("--arg: expected name=value, got '" + kv + "'");
      out.args.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (a == "--tag" || a.rfind("--tag=", 0) == 0) {
      out.tag = value("--tag");
    } else if (a == "--timeout" || a.rfind("--timeout=", 0) == 0) {
      out.timeout_s = parse_int("--timeout", value("--timeout"), 1, 86400 * 7);
    } else if (a == "--priority" || a.rfind("--priority=", 0) == 0) {
      out.priority = parse_int("--priority", value("--priority"), -32768, 32767);
    } else if (a == "--embedded") {
      out.embedded = true;
    } else if (a == "--url" || a == "--token" || a == "--workspace") {
      out.connection.push_back(a);
      out.connection.push_back(value(a));
    } else if (a == "--config") {
      out.rest.push_back(a);
      if (i + 1 < argv.size())
        out.rest.push_back(argv[++i]);
    } else if (a.rfind("--", 0) == 0) {
      out.rest.push_back(a);
    } else if (out.file.empty()) {
      out.file = a;
    } else {
      throw config_error("unexpected argument '" + a + "'");
    }
  }
  if (out.file.empty())
    throw config_error("no script file given");
  return out;
}

// Prints a job's log to `out` as it arrives (an argument CAF 0.17.6 also
// needs: it mishandles actor functions with none, see actors/README.md).
actors::job_watcher_actor::behavior_type log_printer(actors::job_watcher_actor::pointer,
                                                     std::FILE* out) {
  return {
    [out](actors::log_atom, actors::log_chunk& c) {
      std::fwrite(c.text.data(), 1, c.text.size(), out);
      std::fflush(out);
    },
  };
}

int run_remote(const api_endpoint& ep, const run_args& ra, const std::string& language,
               const std::string& code, const std::string& args_json) {
  std::string body = "{\"language\":\"" + language + "\",\"content\":";
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  body += std::string{sb.GetString(), sb.GetSize()} + ",\"args\":" + args_json + "}";
  std::string query;
  auto add = [&](const char* k, const std::string& v) {
    query += (query.empty() ? "?" : "&") + std::string{k} + "=" + url_encode(v);
  };
  if (!ra.tag.empty())
    add("tag", ra.tag);
  if (ra.timeout_s > 0)
    add("timeout", std::to_string(ra.timeout_s));
  if (ra.priority != 0)
    add("priority", std::to_string(ra.priority));
  try {
    auto r = http_call(ep, "POST", "/api/w/" + url_encode(ep.workspace) + "/jobs/run/preview" + query,
                       body);
    if (r.status != 201) {
      print_api_error("run", r);
      return r.status == 400 ? 2 : 1;
    }
    return follow_job(ep, r.body);
  } catch (const http_error& e) {
    std::cerr << "millrace run: " << e.what() << "\n";
    return 1;
  }
}

} // namespace

int cmd_run(const std::vector<std::string>& argv) {
  run_args ra;
  options opts;
  try {
    ra = parse_run_args(argv);
    opts = load_options(ra.rest);
  } catch (const config_error& e) {
    std::cerr << "millrace run: " << e.what() << "\n" << run_usage;
    return 2;
  }
  auto* lang = runtime::language_of_file(ra.file);
  if (!lang) {
    std::cerr << "millrace run: " << ra.file
              << ": unknown language (expected a .py or .sh file)\n";
    return 2;
  }
  std::ifstream in{ra.file};
  if (!in) {
    std::cerr << "millrace run: cannot read " << ra.file << "\n";
    return 2;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  auto code = buf.str();
  // Quiet by default: the job's log is the output that matters here.
  actors::setup_logging({opts.log_format == "json" ? actors::log_format::json
                                                   : actors::log_format::human,
                         opts.log_level == "info" ? "warn" : opts.log_level});
  block_shutdown_signals();
  std::string args_json;
  try {
    runtime::install_support_files();
    auto* rt = runtime::find_runtime(lang->name);
    auto schema = rt->infer_schema(code);
    args_json = runtime::args_from_pairs(schema, ra.args);
    if (auto err = runtime::validate_args(schema, args_json)) {
      std::cerr << "millrace run: " << err->message << "\n";
      return 2;
    }
  } catch (const std::invalid_argument& e) {
    std::cerr << "millrace run: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "millrace run: " << e.what() << "\n";
    return 1;
  }
  // A running server (the local standalone, or --url / MILLRACE_URL) takes
  // the job; otherwise it runs on an embedded millrace.
  if (!ra.embedded) {
    try {
      auto ep = find_endpoint(ra.connection, opts);
      bool asked_for_server = !ra.connection.empty() || std::getenv("MILLRACE_URL");
      if (asked_for_server || server_answers(ep, std::chrono::milliseconds{300}))
        return run_remote(ep, ra, lang->name, code, args_json);
    } catch (const std::exception& e) {
      std::cerr << "millrace run: " << e.what() << "\n";
      return 1;
    }
  }
  if (opts.worker_slots == 0)
    opts.worker_slots = 1; // an embedded run needs a slot to run on
  opts.api_port = -1;      // and no HTTP API of its own
  database_handle db;
  std::shared_ptr<sandbox::launcher> launcher;
  try {
    launcher = make_launcher(opts);
    db = open_database(opts);
  } catch (const std::exception& e) {
    std::cerr << "millrace run: cannot start: " << e.what() << "\n";
    return 1;
  }
  int rc = 1;
  {
    actors::millrace_config cfg{static_cast<size_t>(opts.threads), *actors::parse_scheduler_policy(opts.scheduler)};
    caf::actor_system sys{cfg};
    auto reg = std::make_shared<actors::registry>();
    auto root = actors::spawn_root(sys, reg, make_root_config(opts, db.conninfo, launcher));
    {
      caf::scoped_actor self{sys, true};
      actors::dispatcher_actor disp;
      for (int i = 0; i < 500 && !disp; ++i) {
        disp = reg->resolve_as<actors::dispatcher_actor>(actors::paths::dispatcher);
        if (!disp)
          self->receive(caf::after(std::chrono::milliseconds{10}) >> [] {});
      }
      actors::job_spec spec;
      spec.kind = actors::job_kind::preview;
      spec.language = lang->name;
      spec.code = code;
      spec.args = args_json;
      spec.tag = ra.tag;
      spec.timeout_s = ra.timeout_s;
      spec.priority = ra.priority;
      spec.script_path = ra.file;
      spec.created_by = "cli";
      auto printer = sys.spawn(log_printer, stderr);
      std::string job_id;
      self->request(disp, std::chrono::seconds{60}, actors::submit_atom_v, spec, printer)
        .receive([&](actors::submit_reply& r) { job_id = r.job_id; },
                 [&](caf::error& e) {
                   std::cerr << "millrace run: submission failed: " << actors::describe(e) << "\n";
                 });
      if (!job_id.empty()) {
        self->request(disp, caf::infinite, actors::wait_atom_v, job_id)
          .receive(
            [&](actors::job_result& r) {
              std::cout << r.result << std::endl;
              if (r.status != actors::job_status::success)
                std::cerr << "millrace run: job " << job_id << " ended: " << r.status << "\n";
              rc = r.status == actors::job_status::success ? 0 : 1;
            },
            [&](caf::error& e) {
              std::cerr << "millrace run: " << actors::describe(e) << "\n";
            });
      }
      self->send_exit(printer, caf::exit_reason::user_shutdown);
      self->monitor(root);
      self->send_exit(root, caf::exit_reason::user_shutdown);
      self->receive([](caf::down_msg&) {});
    }
  }
  launcher.reset();
  if (db.embedded)
    db.embedded->stop();
  return rc;
}

} // namespace millrace::api
