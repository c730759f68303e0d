// What cgroup.cpp (the layout: probing, names, stale directories) and
// cgroup_job.cpp (one job's directories) share: the v1 controllers we use
// and small file-system helpers. Internal to sandbox/detail.

#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/detail/cgroup.hpp"
#include "sandbox/detail/sys.hpp"

namespace millrace::sandbox::detail::cgroup_fs {

inline constexpr const char* controllers[] = {"memory", "pids", "freezer", "cpuacct"};

inline std::string* slot(cgroup_layout& l, std::string_view ctl) {
  if (ctl == "memory")
    return &l.memory;
  if (ctl == "pids")
    return &l.pids;
  if (ctl == "freezer")
    return &l.freezer;
  if (ctl == "cpuacct")
    return &l.cpuacct;
  return nullptr;
}

inline std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos)
      return out;
    start = end + 1;
  }
}

inline const std::string& path_of(const cgroup_layout& l, std::string_view ctl) {
  return *slot(const_cast<cgroup_layout&>(l), ctl);
}

inline bool required(std::string_view ctl) {
  return ctl == "memory" || ctl == "pids";
}

inline bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// mkdir -p below an existing mount point.
inline bool make_dirs(const std::string& path, std::string& error) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/')
      continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      error = sys_error("mkdir " + prefix);
      return false;
    }
  }
  return true;
}

/// The processes in a cgroup directory (cgroup.procs).
inline std::set<pid_t> tasks_of(const std::string& dir) {
  std::set<pid_t> out;
  std::string text;
  if (dir.empty() || !read_file(dir + "/cgroup.procs", text))
    return out;
  std::istringstream in{text};
  long pid;
  while (in >> pid)
    out.insert(static_cast<pid_t>(pid));
  return out;
}

} // namespace millrace::sandbox::detail::cgroup_fs
