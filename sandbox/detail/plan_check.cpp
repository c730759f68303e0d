#include "sandbox/detail/plan_check.hpp"

#include <sys/stat.h>

#include <set>

namespace millrace::sandbox::detail {

namespace {

bool has_nul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

/// Absolute, normalised (no empty, "." or ".." components), not "/".
bool clean_absolute(const std::string& path) {
  if (path.size() < 2 || path.front() != '/' || path.back() == '/' || has_nul(path))
    return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    auto part = std::string_view{path}.substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      return false;
    start = end + 1;
  }
  return true;
}

bool valid_env_name(const std::string& name) {
  return !name.empty() && name.find('=') == std::string::npos && !has_nul(name);
}

} // namespace

bool valid_job_path(const std::string& path) {
  return clean_absolute(path) && path.rfind("/job/", 0) == 0 && path != "/job/tmp";
}

std::string check_plan(const launch_plan& plan) {
  if (plan.argv.empty())
    return "launch plan has an empty argv";
  if (plan.argv[0].empty() || plan.argv[0].front() != '/')
    return "argv[0] must be an absolute path inside the sandbox, got '" + plan.argv[0] + "'";
  for (auto& arg : plan.argv)
    if (has_nul(arg))
      return "argv contains a NUL byte";
  if (!plan.standby_argv.empty()) {
    if (plan.standby_argv[0].empty() || plan.standby_argv[0].front() != '/')
      return "standby_argv[0] must be an absolute path inside the sandbox, got '" + plan.standby_argv[0] + "'";
    for (auto& arg : plan.standby_argv)
      if (has_nul(arg))
        return "standby_argv contains a NUL byte";
  }
  for (auto& [name, value] : plan.env) {
    if (!valid_env_name(name))
      return "invalid environment variable name '" + name + "'";
    if (has_nul(value))
      return "environment variable " + name + " contains a NUL byte";
  }
  if (plan.files.size() > max_job_files)
    return "too many job files (" + std::to_string(plan.files.size()) + ", at most "
           + std::to_string(max_job_files) + ")";
  if (!plan.shared_dir.empty() && !clean_absolute(plan.shared_dir))
    return "shared_dir '" + plan.shared_dir + "' is not a clean absolute path";
  std::set<std::string> seen;
  for (auto& f : plan.files) {
    if (!valid_job_path(f.path))
      return "job file path '" + f.path + "' is not a plain path under /job";
    if (!plan.shared_dir.empty() && (f.path == "/job/shared" || f.path.rfind("/job/shared/", 0) == 0))
      return "job file path '" + f.path + "' is inside the shared folder /job/shared";
    if (!seen.insert(f.path).second)
      return "job file '" + f.path + "' is listed twice";
  }
  for (auto& [host, inside] : plan.ro_binds) {
    if (!clean_absolute(host))
      return "ro_bind source '" + host + "' is not an absolute path";
    struct stat st;
    if (::stat(host.c_str(), &st) != 0)
      return "ro_bind source '" + host + "' does not exist";
    if (!clean_absolute(inside) || inside == "/job" || inside == "/proc" || inside == "/dev"
        || inside.rfind("/proc/", 0) == 0 || inside.rfind("/dev/", 0) == 0)
      return "ro_bind destination '" + inside + "' is not allowed";
  }
  return {};
}

} // namespace millrace::sandbox::detail
