#include "sandbox/detail/etc_snapshot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include "sandbox/detail/sys.hpp"
#include "sandbox/detail/unique_fd.hpp"

namespace millrace::sandbox::detail {

namespace {

constexpr int max_depth = 4;

/// The sandbox's name services: its own files only. The host's
/// nsswitch.conf may name modules (systemd, sss, ldap, mdns) that reach host
/// daemons through sockets a job does not have; inside, the synthetic
/// passwd and group are the only accounts.
constexpr std::string_view nsswitch = "passwd: files\n"
                                      "group: files\n"
                                      "shadow: files\n"
                                      "gshadow: files\n"
                                      "hosts: files dns\n"
                                      "networks: files\n"
                                      "protocols: files\n"
                                      "services: files\n"
                                      "ethers: files\n"
                                      "rpc: files\n";
constexpr std::string_view prefix = "millrace-etc-";

/// "millrace-etc-<pid>-<start time>-": the owner in the name lets a new
/// launcher remove what a crashed process left behind.
std::string owner_prefix() {
  static const std::string p = std::string{prefix} + std::to_string(::getpid()) + "-"
                               + std::to_string(process_start_time(::getpid())) + "-";
  return p;
}

/// Removes the copies under `parent` whose owner process is gone (folders
/// of this user only).
void remove_stale(const std::string& parent) {
  DIR* d = ::opendir(parent.c_str());
  if (d == nullptr)
    return;
  std::vector<std::string> stale;
  while (auto* e = ::readdir(d)) {
    std::string_view name{e->d_name};
    if (name.substr(0, prefix.size()) != prefix)
      continue;
    unsigned long long pid = 0, start = 0;
    if (std::sscanf(e->d_name + prefix.size(), "%llu-%llu-", &pid, &start) != 2)
      continue;
    if (pid != 0 && process_start_time(static_cast<pid_t>(pid)) == start)
      continue; // its owner lives
    // Only our own folders: never follow a link or touch another user's.
    struct stat st{};
    auto path = parent + "/" + e->d_name;
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid())
      stale.push_back(path);
  }
  ::closedir(d);
  for (auto& dir : stale) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

std::string fs_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    auto n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool write_file(const std::string& path, const std::string& text, mode_t mode, std::string& error) {
  unique_fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)};
  if (!fd || !write_all(fd.get(), text.data(), text.size()) || ::fchmod(fd.get(), mode) != 0) {
    error = fs_error("cannot write", path);
    return false;
  }
  return true;
}

bool copy_file(const std::string& from, const std::string& to, mode_t mode, std::string& error) {
  unique_fd in{::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (!in) {
    if (errno == EACCES || errno == ENOENT)
      return true; // unreadable for us, so for the job too; or just removed
    error = fs_error("cannot read", from);
    return false;
  }
  unique_fd out{::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (!out) {
    error = fs_error("cannot create", to);
    return false;
  }
  char buf[65536];
  for (;;) {
    auto n = ::read(in.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      error = fs_error("cannot read", from);
      return false;
    }
    if (n == 0)
      break;
    if (!write_all(out.get(), buf, static_cast<size_t>(n))) {
      error = fs_error("cannot write", to);
      return false;
    }
  }
  if (::fchmod(out.get(), mode) != 0) {
    error = fs_error("cannot chmod", to);
    return false;
  }
  return true;
}

/// Copies `from` (not following a symlink there) to `to`: files with their
/// permission bits (never setuid/setgid), symlinks as symlinks, folders
/// recursively. Sockets, fifos and devices are left out.
bool copy_entry(const std::string& from, const std::string& to, int depth, std::string& error) {
  struct stat st{};
  if (::lstat(from.c_str(), &st) != 0)
    return errno == ENOENT ? true : (error = fs_error("cannot stat", from), false);
  const mode_t mode = st.st_mode & 0777;
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    auto n = ::readlink(from.c_str(), target.data(), target.size());
    if (n < 0 || static_cast<size_t>(n) >= target.size())
      return (error = fs_error("cannot read the link", from), false);
    target.resize(static_cast<size_t>(n));
    if (::symlink(target.c_str(), to.c_str()) != 0)
      return (error = fs_error("cannot create the link", to), false);
    return true;
  }
  if (S_ISREG(st.st_mode))
    return copy_file(from, to, mode, error);
  if (!S_ISDIR(st.st_mode) || depth > max_depth)
    return true;
  if (::mkdir(to.c_str(), 0700) != 0)
    return (error = fs_error("cannot create", to), false);
  DIR* d = ::opendir(from.c_str());
  if (d == nullptr)
    return errno == EACCES ? true : (error = fs_error("cannot list", from), false);
  std::vector<std::string> names;
  while (auto* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.emplace_back(e->d_name);
  ::closedir(d);
  for (auto& name : names)
    if (!copy_entry(from + "/" + name, to + "/" + name, depth + 1, error))
      return false;
  if (::chmod(to.c_str(), mode) != 0)
    return (error = fs_error("cannot chmod", to), false);
  return true;
}

/// Creates every missing folder of `rel` (relative, '/'-separated) under
/// `root`, mode 0755.
bool make_parents(const std::string& root, const std::string& rel, std::string& error) {
  for (size_t pos = rel.find('/'); pos != std::string::npos; pos = rel.find('/', pos + 1)) {
    auto dir = root + "/" + rel.substr(0, pos);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return (error = fs_error("cannot create", dir), false);
  }
  return true;
}

void describe(std::string& out, const std::string& path, const struct stat& st) {
  out += path;
  out += ' ' + std::to_string(st.st_mode) + ' ' + std::to_string(st.st_size) + ' '
         + std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + ' '
         + std::to_string(st.st_ino) + '\n';
}

} // namespace

etc_snapshot::~etc_snapshot() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

etc_snapshots::etc_snapshots(std::string source_root, std::vector<std::string> names, std::string passwd,
                             std::string group, std::string parent, std::chrono::milliseconds check_every)
    : root_(std::move(source_root)), names_(std::move(names)), passwd_(std::move(passwd)),
      group_(std::move(group)), parent_(std::move(parent)), check_every_(check_every) {
  for (auto& n : names_)
    if (n.empty() || n[0] == '/' || n == ".." || n.rfind("../", 0) == 0 || n.find("/..") != std::string::npos)
      throw std::invalid_argument("etc_snapshots: '" + n + "' is not a relative path inside " + root_);
  remove_stale(parent_);
  std::string error;
  fingerprint_ = fingerprint();
  current_ = make_copy(error);
  if (!current_)
    throw std::runtime_error("cannot prepare the sandbox's /etc: " + error);
  checked_ = std::chrono::steady_clock::now();
}

std::vector<std::string> etc_snapshots::default_names() {
  // The loader's cache, alternatives symlinks (/usr/bin/awk ->
  // /etc/alternatives/awk), CA certificates, the time zone and name-service
  // basics. Never shadow, sudoers, ssh keys or anything with secrets.
  return {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl/certs", "ssl/openssl.cnf",
          "localtime",   "timezone",   "hosts",     "host.conf",    "protocols", "services"};
}

std::string etc_snapshots::fingerprint() const {
  std::string out;
  for (auto& name : names_) {
    auto src = root_ + "/" + name;
    struct stat st{};
    if (::lstat(src.c_str(), &st) != 0) {
      out += src + " -\n";
      continue;
    }
    describe(out, src, st);
    if (!S_ISDIR(st.st_mode))
      continue;
    DIR* d = ::opendir(src.c_str());
    if (d == nullptr)
      continue;
    std::vector<std::string> lines;
    while (auto* e = ::readdir(d)) {
      struct stat es{};
      if (e->d_name[0] == '.' || ::fstatat(dirfd(d), e->d_name, &es, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      lines.emplace_back();
      describe(lines.back(), e->d_name, es);
    }
    ::closedir(d);
    std::sort(lines.begin(), lines.end());
    for (auto& l : lines)
      out += l;
  }
  return out;
}

std::shared_ptr<const etc_snapshot> etc_snapshots::make_copy(std::string& error) const {
  std::string tmpl = parent_ + "/" + owner_prefix() + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    error = fs_error("cannot create a folder in", parent_);
    return nullptr;
  }
  // Owns the folder from here: a failure below removes it.
  auto snap = std::make_shared<etc_snapshot>(tmpl);
  const std::string& root = snap->dir();
  for (auto& rel : names_) {
    if (!make_parents(root, rel, error) || !copy_entry(root_ + "/" + rel, root + "/" + rel, 0, error))
      return nullptr;
  }
  // The synthetic accounts and name services, and an empty resolv.conf:
  // the mount point a job with network binds the host's over (without
  // network it stays empty).
  if (!write_file(root + "/passwd", passwd_, 0644, error) || !write_file(root + "/group", group_, 0644, error)
      || !write_file(root + "/nsswitch.conf", std::string{nsswitch}, 0644, error)
      || !write_file(root + "/resolv.conf", "", 0644, error))
    return nullptr;
  if (::chmod(root.c_str(), 0755) != 0) {
    error = fs_error("cannot chmod", root);
    return nullptr;
  }
  return snap;
}

std::shared_ptr<const etc_snapshot> etc_snapshots::current() {
  std::lock_guard<std::mutex> guard{mutex_};
  auto now = std::chrono::steady_clock::now();
  if (now - checked_ < check_every_)
    return current_;
  checked_ = now;
  auto print = fingerprint();
  struct stat st{};
  // Also refreshed when the copy itself went missing (a /tmp cleaner).
  if (print == fingerprint_ && ::stat((current_->dir() + "/passwd").c_str(), &st) == 0)
    return current_;
  std::string error;
  if (auto fresh = make_copy(error)) {
    current_ = std::move(fresh);
    fingerprint_ = std::move(print);
  }
  return current_;
}

} // namespace millrace::sandbox::detail
