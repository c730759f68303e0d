#include "runtime/runtime.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "runtime/bash/bash_runtime.hpp"
#include "runtime/detail/subprocess.hpp"
#include "runtime/detail/verdicts.hpp"
#include "runtime/embedded_file.hpp"
#include "runtime/python/python_runtime.hpp"

namespace millrace::runtime {

namespace {

std::string& support_dir_ref() {
  static std::string dir;
  return dir;
}

} // namespace

const language_runtime* find_runtime(const std::string& language) {
  static const bash_runtime bash;
  static const python_runtime py;
  if (language == "bash")
    return &bash;
  if (language == "python3")
    return &py;
  return nullptr;
}

std::string install_support_files(const std::string& dir_in) {
  static std::mutex mu;
  std::lock_guard<std::mutex> guard{mu};
  namespace fs = std::filesystem;
  auto dir = dir_in.empty() ? "/tmp/millrace-runtime-" + std::to_string(::geteuid()) + "-"
                                + std::to_string(::getpid())
                            : dir_in;
  std::error_code ec;
  fs::create_directories(dir + "/python", ec);
  if (ec)
    throw std::runtime_error("cannot create " + dir + ": " + ec.message());
  // Readable by the unprivileged user jobs run as, writable by nobody else.
  ::chmod(dir.c_str(), 0755);
  ::chmod((dir + "/python").c_str(), 0755);
  for (auto& f : python_files()) {
    auto path = dir + "/python/" + f.name;
    std::ofstream out{path, std::ios::trunc};
    out << f.text;
    if (!out)
      throw std::runtime_error("cannot write " + path);
    ::chmod(path.c_str(), 0644);
  }
  // Python never caches the bytecode of the script it is started with, and
  // the sandbox mounts this directory read-only: compile the wrapper once
  // here, so each job skips about 4 ms of compiling (python runs a .pyc given
  // on its command line as it is).
  // The standby (standby.py) is compiled the same way.
  for (std::string name : {"wrapper", "standby"}) {
    auto compiled = detail::run_subprocess(
      {"/usr/bin/python3", "-I", "-c",
       "import py_compile,sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], "
       "dfile=sys.argv[3], doraise=True)",
       dir + "/python/" + name + ".py", dir + "/python/" + name + ".pyc", "/opt/millrace/python/" + name + ".py"},
      "", std::chrono::seconds{30});
    if (compiled.exit_code == 0)
      ::chmod((dir + "/python/" + name + ".pyc").c_str(), 0644);
    else
      fs::remove(dir + "/python/" + name + ".pyc", ec); // the .py is used instead
  }
  support_dir_ref() = dir;
  return dir;
}

const std::string& support_dir() {
  return support_dir_ref();
}

std::string error_json(const std::string& name, const std::string& message) {
  return detail::error_object(name, message);
}

} // namespace millrace::runtime
