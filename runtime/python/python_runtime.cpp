#include "runtime/python/python_runtime.hpp"

#include <fstream>
#include <stdexcept>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/detail/subprocess.hpp"
#include "runtime/detail/verdicts.hpp"

namespace millrace::runtime {

namespace {

constexpr const char* python = "/usr/bin/python3";

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  v.Accept(w);
  return sb.GetString();
}

} // namespace

const language& python_runtime::lang() const {
  return *find_language("python3");
}

sandbox::launch_plan python_runtime::plan(const job_input& in) const {
  if (support_dir().empty())
    throw std::logic_error("python runtime: install_support_files() was not called");
  sandbox::launch_plan p;
  // -I: isolated (no user site, no PYTHON* variables); -u: unbuffered, so
  // prints reach the log as they happen.
  bool compiled = std::ifstream{support_dir() + "/python/wrapper.pyc"}.good();
  p.argv = {python, "-I", "-u",
            compiled ? "/opt/millrace/python/wrapper.pyc" : "/opt/millrace/python/wrapper.py"};
  // A standby sandbox runs the interpreter ahead (standby.py), unless the
  // environment sets what python reads only at start-up.
  bool startup_env = false;
  for (auto& [name, value] : in.env)
    startup_env = startup_env || name == "LANG" || name.rfind("LC_", 0) == 0 || name.rfind("PYTHON", 0) == 0;
  if (!startup_env) {
    bool standby_compiled = std::ifstream{support_dir() + "/python/standby.pyc"}.good();
    p.standby_argv = {python, "-I", "-u",
                      standby_compiled ? "/opt/millrace/python/standby.pyc" : "/opt/millrace/python/standby.py"};
  }
  p.files.push_back({"/job/main.py", in.code, false});
  p.stdin_data = in.args;
  p.result_channel = true;
  p.ro_binds.emplace_back(support_dir() + "/python", "/opt/millrace/python");
  p.env = in.env;
  p.network = in.network;
  return p;
}

verdict python_runtime::judge(const sandbox::exit_info& exit, const captured_output& out) const {
  // Memory, signals and sandbox errors first: a killed process's channel
  // can hold anything.
  if (auto v = detail::process_failure(exit, out, false))
    return *v;
  if (out.result_too_large)
    return verdict{"failure", detail::error_object("ResultTooLarge",
                                                   "the result is larger than the limit")};
  rapidjson::Document d;
  d.Parse(out.result_channel.c_str(), out.result_channel.size());
  if (out.result_channel.empty() || d.HasParseError() || !d.IsObject() || !d.HasMember("ok")
      || !d["ok"].IsBool()) {
    std::string why = out.result_channel.empty()
                        ? "the script ended without a result (exit code "
                            + std::to_string(exit.exit_code) + ")"
                        : "the result channel held something that is not a result";
    auto obj = detail::error_object("InvalidResult", why);
    obj.pop_back();
    obj += ",\"stderr\":" + detail::json_string(out.stderr_tail) + "}";
    return verdict{"failure", obj};
  }
  if (d["ok"].GetBool()) {
    if (!d.HasMember("result"))
      return verdict{"failure", detail::error_object("InvalidResult", "the result is missing")};
    return verdict{"success", detail::without_nul(to_json(d["result"]))};
  }
  if (d.HasMember("error") && d["error"].IsObject())
    return verdict{"failure", detail::without_nul(to_json(d["error"]))};
  return verdict{"failure", detail::error_object("InvalidResult", "the error is malformed")};
}

std::string python_runtime::infer_schema(const std::string& code) const {
  if (support_dir().empty())
    throw std::logic_error("python runtime: install_support_files() was not called");
  auto r = detail::run_subprocess({python, "-I", support_dir() + "/python/infer_schema.py"}, code,
                                  std::chrono::seconds{20});
  rapidjson::Document d;
  d.Parse(r.out.c_str(), r.out.size());
  if (r.exit_code == 0 && !d.HasParseError() && d.IsObject())
    return r.out;
  if (!d.HasParseError() && d.IsObject() && d.HasMember("error") && d["error"].IsObject()) {
    auto& e = d["error"];
    std::string msg = e.HasMember("message") && e["message"].IsString() ? e["message"].GetString()
                                                                         : "cannot analyse";
    if (e.HasMember("line") && e["line"].IsInt())
      msg += " (line " + std::to_string(e["line"].GetInt()) + ")";
    throw std::invalid_argument("python script: " + msg);
  }
  throw std::runtime_error("python schema inference failed (exit " + std::to_string(r.exit_code)
                           + "): " + r.err.substr(0, 500));
}

} // namespace millrace::runtime
