// `millrace flow push FILE --path PATH` (OpenFlow JSON or YAML; checked here
// first, then by the server) and `millrace flow run PATH [--arg k=v]...
// [--args JSON] [--wait]`: with --wait, each step's transitions are printed
// to stderr as the flow runs, then its result to stdout. `flow resume ID`
// approves the step a flow waits on (as the token's owner); `flow restart ID
// --from STEP [--iteration N]` runs a finished flow again from a top-level
// step (or its iteration or branch N).

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/cli/commands.hpp"
#include "api/cli/remote.hpp"
#include "api/config/options.hpp"
#include "runtime/flow/parse.hpp"
#include "runtime/flow/validate.hpp"

namespace millrace::api {

namespace {

const char* flow_usage =
  "usage: millrace flow push FILE --path PATH     (FILE: OpenFlow .json, .yaml or .yml)\n"
  "       millrace flow run PATH [--arg name=value]... [--args JSON] [--wait] [--tag T] [--timeout S]\n"
  "       millrace flow resume FLOW_JOB_ID [--payload JSON]   (approve the step it waits on)\n"
  "       millrace flow restart FLOW_JOB_ID --from STEP [--iteration N] [--wait]\n"
  "  common: [--url http://HOST:PORT] [--token TOKEN] [--workspace W] [--config FILE]\n";

std::string text_of(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  v.Accept(w);
  return {sb.GetString(), sb.GetSize()};
}

int flow_push(const api_endpoint& ep, const flags& f) {
  if (f.positional.size() != 2)
    return usage("flow", "push needs one FILE", flow_usage);
  auto file = f.positional[1];
  auto path = value_of(f, "--path");
  if (path.empty())
    return usage("flow", "push needs --path (e.g. f/folder/name)", flow_usage);
  std::ifstream in{file};
  if (!in) {
    std::cerr << "millrace flow: cannot read " << file << "\n";
    return 2;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = flow::parse_openflow(buf.str());
  auto errors = parsed.errors;
  if (parsed.flow && errors.empty())
    errors = flow::validate(*parsed.flow);
  if (!errors.empty()) {
    for (auto& e : errors)
      std::cerr << "millrace flow: " << file << ": " << flow::to_string(e) << "\n";
    return 1;
  }
  rapidjson::Document d;
  d.Parse(parsed.json.c_str());
  auto& a = d.GetAllocator();
  d.RemoveMember("path");
  d.AddMember("path", rapidjson::Value{path.c_str(), a}, a);
  auto r = http_call(ep, "POST", ws_prefix(ep) + "flows/create", text_of(d));
  if (r.status != 201) {
    print_api_error("flow push", r);
    return 1;
  }
  std::cout << r.body << "\n";
  return 0;
}

// Polls the flow job and prints each module's new state, until it ended.
void watch_flow(const api_endpoint& ep, const std::string& id) {
  std::map<std::string, std::string> seen;
  auto wait = std::chrono::milliseconds{20};
  for (;;) {
    auto r = http_call(ep, "GET", ws_prefix(ep) + "jobs_u/get/" + id);
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    if (r.status != 200 || d.HasParseError() || !d.IsObject())
      return;
    if (d.HasMember("flow_status") && d["flow_status"].IsObject()
        && d["flow_status"].HasMember("modules") && d["flow_status"]["modules"].IsArray()) {
      for (auto& m : d["flow_status"]["modules"].GetArray()) {
        if (!m.IsObject() || !m.HasMember("id") || !m.HasMember("type"))
          continue;
        std::string mid = m["id"].GetString(), type = m["type"].GetString();
        std::string line = type;
        if (m.HasMember("iterator") && m["iterator"].IsObject())
          line += " (iteration " + text_of(m["iterator"]["index"]) + " of "
                  + text_of(m["iterator"]["len"]) + ")";
        if (m.HasMember("job") && m["job"].IsString())
          line += " job " + std::string{m["job"].GetString()};
        if (seen[mid] != line && type != "WaitingForPriorSteps") {
          std::cerr << "step " << mid << ": " << line << "\n";
          seen[mid] = line;
        }
      }
    }
    if (d.HasMember("type") && d["type"].IsString() && std::string{d["type"].GetString()} == "CompletedJob")
      return;
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::milliseconds{500});
  }
}

// A flow job was started (201, its id): print the id, or with --wait follow
// its steps, then print its result.
int started(const api_endpoint& ep, const flags& f, const http_reply& r, const char* what) {
  if (r.status != 201) {
    print_api_error(what, r);
    return 1;
  }
  if (!has(f, "--wait")) {
    std::cout << r.body << "\n";
    return 0;
  }
  std::cerr << "flow job " << r.body << "\n";
  watch_flow(ep, r.body);
  return follow_job(ep, r.body);
}

int flow_run(const api_endpoint& ep, const flags& f) {
  if (f.positional.size() != 2)
    return usage("flow", "run needs one flow PATH", flow_usage);
  auto path = f.positional[1];
  rapidjson::Document args;
  auto given = value_of(f, "--args");
  args.Parse(given.empty() ? "{}" : given.c_str());
  if (args.HasParseError() || !args.IsObject())
    return usage("flow", "--args: expected a JSON object", flow_usage);
  auto& a = args.GetAllocator();
  for (auto& [k, v] : f.values) {
    if (k != "--arg")
      continue;
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0)
      return usage("flow", "--arg: expected name=value, got '" + v + "'", flow_usage);
    rapidjson::Document val;
    val.Parse(v.c_str() + eq + 1);
    rapidjson::Value name{v.substr(0, eq).c_str(), a};
    args.RemoveMember(name);
    if (val.HasParseError()) // not JSON: a string
      args.AddMember(name, rapidjson::Value{v.c_str() + eq + 1, a}, a);
    else
      args.AddMember(name, rapidjson::Value{val, a}, a);
  }
  // The args are the flow's inputs, as from Windmill's UI: a preprocessor
  // (for webhooks) does not run.
  std::string query = "?skip_preprocessor=true";
  for (const char* opt : {"--tag", "--timeout"}) {
    auto v = value_of(f, opt);
    if (!v.empty())
      query += "&" + std::string{opt + 2} + "=" + url_encode(v);
  }
  auto r = http_call(ep, "POST", ws_prefix(ep) + "jobs/run/f/" + url_encode(path, true) + query,
                     text_of(args));
  return started(ep, f, r, "flow run");
}

int flow_resume(const api_endpoint& ep, const flags& f) {
  if (f.positional.size() != 2)
    return usage("flow", "resume needs one FLOW_JOB_ID", flow_usage);
  auto payload = value_of(f, "--payload");
  rapidjson::Document d;
  if (!payload.empty() && d.Parse(payload.c_str()).HasParseError())
    return usage("flow", "--payload: expected JSON", flow_usage);
  auto r = http_call(ep, "POST", ws_prefix(ep) + "jobs/flow/resume/" + url_encode(f.positional[1]),
                     payload.empty() ? "null" : payload);
  if (r.status != 200) {
    print_api_error("flow resume", r);
    return 1;
  }
  std::cout << r.body << "\n";
  return 0;
}

int flow_restart(const api_endpoint& ep, const flags& f) {
  if (f.positional.size() != 2)
    return usage("flow", "restart needs one FLOW_JOB_ID", flow_usage);
  auto step = value_of(f, "--from");
  if (step.empty())
    return usage("flow", "restart needs --from STEP (a top-level step id)", flow_usage);
  // --iteration N: of a top-level loop, or the branch of a branchall.
  auto nth = value_of(f, "--iteration");
  auto r = http_call(ep, "POST",
                     ws_prefix(ep) + "jobs/restart/f/" + url_encode(f.positional[1]) + "/from/"
                       + url_encode(step) + (nth.empty() ? "" : "/" + url_encode(nth)),
                     "{}");
  return started(ep, f, r, "flow restart");
}

} // namespace

int cmd_flow(const std::vector<std::string>& args) {
  try {
    auto f = parse_flags(args, {"--path", "--arg", "--args", "--tag", "--timeout", "--url",
                                "--token", "--workspace", "--payload", "--from", "--iteration"},
                         {"--wait"});
    if (f.positional.empty())
      return usage("flow", "expected push, run, resume or restart", flow_usage);
    auto ep = endpoint_of(f);
    if (f.positional[0] == "push")
      return flow_push(ep, f);
    if (f.positional[0] == "run")
      return flow_run(ep, f);
    if (f.positional[0] == "resume")
      return flow_resume(ep, f);
    if (f.positional[0] == "restart")
      return flow_restart(ep, f);
    return usage("flow", "unknown subcommand '" + f.positional[0] + "'", flow_usage);
  } catch (const config_error& e) {
    return usage("flow", e.what(), flow_usage);
  } catch (const http_error& e) {
    std::cerr << "millrace flow: " << e.what() << "\n";
    return 1;
  }
}

} // namespace millrace::api
