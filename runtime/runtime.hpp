// A language runtime turns a job (code + args) into a sandbox launch plan, and
// the way its process ended into success or failure. One implementation per
// language (runtime/bash, runtime/python). No actors, no SQL.

#pragma once

#include <string>

#include "runtime/languages.hpp"
#include "sandbox/launcher.hpp"

namespace millrace::runtime {

struct job_input {
  std::string job_id;
  std::string workspace;
  std::string script_path;
  std::string code;
  /// A JSON object.
  std::string args = "{}";
  bool network = false;
  /// Extra environment variables (WM_* and the like).
  std::vector<std::pair<std::string, std::string>> env;
};

/// What the worker slot kept of the process's output for the verdict.
struct captured_output {
  /// The last non-empty line of stdout (Windmill's bash result).
  std::string last_stdout_line;
  /// The end of stderr (a few KiB), for error messages.
  std::string stderr_tail;
  /// Everything written to the result channel, up to the result cap.
  std::string result_channel;
  /// The result channel carried more than the cap.
  bool result_too_large = false;
};

struct verdict {
  /// "success" or "failure".
  std::string status;
  /// JSON: the result, or the error object {name, message, ...}.
  std::string result = "null";
};

class language_runtime {
public:
  virtual ~language_runtime() = default;

  virtual const language& lang() const = 0;

  /// The launch plan of one job. Throws std::invalid_argument (naming the
  /// field) when the job cannot be run as given.
  virtual sandbox::launch_plan plan(const job_input& in) const = 0;

  /// Success or failure from how the process ended and what it printed.
  virtual verdict judge(const sandbox::exit_info& exit, const captured_output& out) const = 0;

  /// The JSON Schema of the script's parameters (Windmill's shape). Throws
  /// std::invalid_argument with a message for the user when the script
  /// cannot be analysed (syntax error, no main). May run a process: never
  /// call it on an actor scheduler thread.
  virtual std::string infer_schema(const std::string& code) const = 0;
};

/// The runtime of a language, or null.
const language_runtime* find_runtime(const std::string& language);

/// Where runtime support files (the python wrapper) are on the host; they are
/// bind-mounted read-only into every sandbox at /opt/millrace. Call once at
/// start-up (writes the files compiled into the binary under `dir`, default a
/// private directory under /tmp) before planning any job.
std::string install_support_files(const std::string& dir = "");

/// The directory install_support_files chose ("" before it ran).
const std::string& support_dir();

/// A JSON error object: {"name": name, "message": message}.
std::string error_json(const std::string& name, const std::string& message);

} // namespace millrace::runtime
