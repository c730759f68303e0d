#include "api/cli/remote.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/cli/commands.hpp"
#include "runtime/languages.hpp"
#include "runtime/schema.hpp"

namespace millrace::api {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (ch < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", ch);
          out += buf;
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}

std::string ws_prefix(const api_endpoint& ep) {
  return "/api/w/" + url_encode(ep.workspace) + "/";
}

int usage(const std::string& who, const std::string& msg, const char* text) {
  std::cerr << "millrace " << who << ": " << msg << "\n" << text;
  return 2;
}

namespace {

const char* script_usage =
  "usage: millrace script push FILE --path PATH [--summary TEXT]\n"
  "       millrace script run PATH [--arg name=value]... [--wait] [--tag T] [--timeout S] [--priority N]\n"
  "  common: [--url http://HOST:PORT] [--token TOKEN] [--workspace W] [--config FILE]\n";

const char* job_usage =
  "usage: millrace job get|logs|result ID\n"
  "       millrace job cancel ID [--reason TEXT]\n"
  "  common: [--url http://HOST:PORT] [--token TOKEN] [--workspace W] [--config FILE]\n";

} // namespace

flags parse_flags(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
                  const std::vector<std::string>& switches) {
  flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    auto& a = args[i];
    bool done = false;
    for (auto& name : with_value) {
      if (a == name) {
        if (i + 1 >= args.size())
          throw config_error(name + " needs a value");
        f.values.emplace_back(name, args[++i]);
        done = true;
      } else if (a.rfind(name + "=", 0) == 0) {
        f.values.emplace_back(name, a.substr(name.size() + 1));
        done = true;
      }
      if (done)
        break;
    }
    if (done)
      continue;
    if (std::find(switches.begin(), switches.end(), a) != switches.end()) {
      f.switches.push_back(a);
    } else if (a == "--config") {
      f.settings.push_back(a);
      if (i + 1 < args.size())
        f.settings.push_back(args[++i]);
    } else if (a.rfind("--", 0) == 0) {
      f.settings.push_back(a);
    } else {
      f.positional.push_back(a);
    }
  }
  return f;
}

std::string value_of(const flags& f, const std::string& name) {
  for (auto& [k, v] : f.values)
    if (k == name)
      return v;
  return {};
}

bool has(const flags& f, const std::string& sw) {
  return std::find(f.switches.begin(), f.switches.end(), sw) != f.switches.end();
}

// The server and token: --url/--token/--workspace, then the environment,
// then the config (--config FILE, --section.key=value).
api_endpoint endpoint_of(const flags& f) {
  auto opts = load_options(f.settings);
  std::vector<std::string> conn;
  for (auto& [k, v] : f.values)
    if (k == "--url" || k == "--token" || k == "--workspace") {
      conn.push_back(k);
      conn.push_back(v);
    }
  return find_endpoint(conn, opts);
}

namespace {

int script_push(const api_endpoint& ep, const flags& f) {
  if (f.positional.size() != 2)
    return usage("script", "push needs one FILE", script_usage);
  auto file = f.positional[1];
  auto path = value_of(f, "--path");
  if (path.empty())
    return usage("script", "push needs --path (e.g. f/folder/name)", script_usage);
  auto* lang = runtime::language_of_file(file);
  if (!lang)
    return usage("script", file + ": unknown language (expected .py or .sh)", script_usage);
  std::ifstream in{file};
  if (!in) {
    std::cerr << "millrace script: cannot read " << file << "\n";
    return 2;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string body = "{\"path\":" + json_string(path) + ",\"language\":" + json_string(lang->name)
                     + ",\"content\":" + json_string(buf.str()) + ",\"summary\":"
                     + json_string(value_of(f, "--summary")) + "}";
  auto r = http_call(ep, "POST", ws_prefix(ep) + "scripts/create", body);
  if (r.status != 201) {
    print_api_error("script push", r);
    return 1;
  }
  std::cout << r.body << "\n";
  return 0;
}

int script_run(const api_endpoint& ep, const flags& f) {
  if (f.positional.size() != 2)
    return usage("script", "run needs one script PATH", script_usage);
  auto path = f.positional[1];
  auto s = http_call(ep, "GET", ws_prefix(ep) + "scripts/get/p/" + url_encode(path, true));
  if (s.status != 200) {
    print_api_error("script run", s);
    return 1;
  }
  rapidjson::Document d;
  d.Parse(s.body.c_str());
  std::string schema = "{}";
  if (!d.HasParseError() && d.IsObject() && d.HasMember("schema") && d["schema"].IsObject()) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w{sb};
    d["schema"].Accept(w);
    schema = sb.GetString();
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto& [k, v] : f.values)
    if (k == "--arg") {
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0)
        return usage("script", "--arg: expected name=value, got '" + v + "'", script_usage);
      pairs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    }
  std::string args;
  try {
    args = runtime::args_from_pairs(schema, pairs);
  } catch (const std::invalid_argument& e) {
    return usage("script", e.what(), script_usage);
  }
  std::string query;
  for (const char* opt : {"--tag", "--timeout", "--priority"}) {
    auto v = value_of(f, opt);
    if (!v.empty())
      query += (query.empty() ? "?" : "&") + std::string{opt + 2} + "=" + url_encode(v);
  }
  auto r = http_call(ep, "POST", ws_prefix(ep) + "jobs/run/p/" + url_encode(path, true) + query, args);
  if (r.status != 201) {
    print_api_error("script run", r);
    return 1;
  }
  if (!has(f, "--wait")) {
    std::cout << r.body << "\n";
    return 0;
  }
  std::cerr << "job " << r.body << "\n";
  return follow_job(ep, r.body);
}

} // namespace

void print_api_error(const std::string& who, const http_reply& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  std::string code, msg;
  if (!d.HasParseError() && d.IsObject()) {
    if (d.HasMember("error") && d["error"].IsString())
      code = d["error"].GetString();
    if (d.HasMember("message") && d["message"].IsString())
      msg = d["message"].GetString();
  }
  if (msg.empty())
    msg = r.body;
  std::cerr << "millrace " << who << ": " << r.status << " " << code << (code.empty() ? "" : ": ")
            << msg << "\n";
}

int follow_job(const api_endpoint& ep, const std::string& job_id) {
  int64_t offset = 0;
  auto wait = std::chrono::milliseconds{20};
  for (;;) {
    auto r = http_call(ep, "GET", ws_prefix(ep) + "jobs_u/getupdate/" + job_id
                                   + "?log_offset=" + std::to_string(offset));
    if (r.status != 200) {
      print_api_error("job", r);
      return 1;
    }
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    if (d.HasParseError() || !d.IsObject()) {
      std::cerr << "millrace job: unexpected answer: " << r.body << "\n";
      return 1;
    }
    if (d.HasMember("new_logs") && d["new_logs"].IsString() && d["new_logs"].GetStringLength() > 0) {
      std::fwrite(d["new_logs"].GetString(), 1, d["new_logs"].GetStringLength(), stderr);
      std::fflush(stderr);
      wait = std::chrono::milliseconds{20};
    }
    if (d.HasMember("log_offset") && d["log_offset"].IsInt64())
      offset = d["log_offset"].GetInt64();
    if (d.HasMember("completed") && d["completed"].IsTrue()) {
      bool more = d.HasMember("new_logs") && d["new_logs"].GetStringLength() > 0;
      if (more)
        continue; // drain the rest of the log first
      break;
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::milliseconds{500});
  }
  auto res = http_call(ep, "GET", ws_prefix(ep) + "jobs_u/completed/get_result_maybe/" + job_id);
  rapidjson::Document d;
  d.Parse(res.body.c_str());
  if (res.status != 200 || d.HasParseError() || !d.IsObject()) {
    print_api_error("job", res);
    return 1;
  }
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  if (d.HasMember("result"))
    d["result"].Accept(w);
  std::cout << sb.GetString() << "\n";
  return d.HasMember("success") && d["success"].IsTrue() ? 0 : 1;
}

int cmd_script(const std::vector<std::string>& args) {
  try {
    auto f = parse_flags(args, {"--path", "--summary", "--arg", "--tag", "--timeout", "--priority",
                                "--url", "--token", "--workspace"},
                         {"--wait"});
    if (f.positional.empty())
      return usage("script", "expected push or run", script_usage);
    auto ep = endpoint_of(f);
    if (f.positional[0] == "push")
      return script_push(ep, f);
    if (f.positional[0] == "run")
      return script_run(ep, f);
    return usage("script", "unknown subcommand '" + f.positional[0] + "'", script_usage);
  } catch (const config_error& e) {
    return usage("script", e.what(), script_usage);
  } catch (const http_error& e) {
    std::cerr << "millrace script: " << e.what() << "\n";
    return 1;
  }
}

int cmd_job(const std::vector<std::string>& args) {
  try {
    auto f = parse_flags(args, {"--reason", "--url", "--token", "--workspace"}, {});
    if (f.positional.size() != 2)
      return usage("job", "expected a subcommand and a job ID", job_usage);
    auto ep = endpoint_of(f);
    auto verb = f.positional[0];
    auto id = url_encode(f.positional[1]);
    http_reply r;
    if (verb == "get")
      r = http_call(ep, "GET", ws_prefix(ep) + "jobs_u/get/" + id);
    else if (verb == "logs")
      r = http_call(ep, "GET", ws_prefix(ep) + "jobs_u/get_logs/" + id);
    else if (verb == "result")
      r = http_call(ep, "GET", ws_prefix(ep) + "jobs_u/completed/get_result/" + id);
    else if (verb == "cancel")
      r = http_call(ep, "POST", ws_prefix(ep) + "jobs_u/queue/cancel/" + id,
                    "{\"reason\":" + json_string(value_of(f, "--reason")) + "}");
    else
      return usage("job", "unknown subcommand '" + verb + "'", job_usage);
    if (r.status != 200) {
      print_api_error("job " + verb, r);
      return 1;
    }
    std::cout << r.body;
    if (!r.body.empty() && r.body.back() != '\n')
      std::cout << "\n";
    return 0;
  } catch (const config_error& e) {
    return usage("job", e.what(), job_usage);
  } catch (const http_error& e) {
    std::cerr << "millrace job: " << e.what() << "\n";
    return 1;
  }
}

} // namespace millrace::api
