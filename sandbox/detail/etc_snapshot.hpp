// The sandbox's /etc: a private copy of the few host files a program may
// need (the loader cache, alternatives, CA certificates, the time zone,
// hosts, protocols, services), plus a synthetic passwd, group and
// nsswitch.conf, bound read-only as /etc with one mount.
//
// Why a copy: bwrap reads all of /proc/self/mountinfo after every bind it
// makes. Binding fifteen files one by one made those reads about a quarter
// of bwrap's CPU per job; one bind of a prepared folder costs one.
//
// The copy follows the host. At most every `check_every`, the sources are
// compared with what was copied (type, size, mtime and inode of each source
// and of each entry of a source folder, one level deep); when anything
// differs (apt installed a library, update-alternatives, new CA
// certificates), the next job gets a fresh copy. A copy lives as long as a
// job that was started with it: removing it would empty that job's /etc.

#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace millrace::sandbox::detail {

/// One copy on disk; the folder is removed when the last holder lets go.
class etc_snapshot {
public:
  explicit etc_snapshot(std::string dir) : dir_(std::move(dir)) {}
  ~etc_snapshot();
  etc_snapshot(const etc_snapshot&) = delete;
  etc_snapshot& operator=(const etc_snapshot&) = delete;

  const std::string& dir() const {
    return dir_;
  }

private:
  std::string dir_;
};

class etc_snapshots {
public:
  /// `names`: paths relative to `source_root` (the host's /etc), copied to
  /// the same relative paths (missing ones are skipped); `passwd`, `group`:
  /// the sandbox's /etc/passwd and /etc/group; `parent`: where the copies go
  /// (each in a fresh mkdtemp folder, mode 0755). Throws
  /// std::invalid_argument for a name that is absolute or has "..", and
  /// std::runtime_error when the first copy cannot be made.
  etc_snapshots(std::string source_root, std::vector<std::string> names, std::string passwd, std::string group,
                std::string parent, std::chrono::milliseconds check_every = std::chrono::seconds(2));

  /// The copy a job starting now binds as /etc. Thread-safe. When a refresh
  /// fails, the previous copy is kept and the refresh is tried again at the
  /// next check.
  std::shared_ptr<const etc_snapshot> current();

  /// The host files of /etc jobs see (relative to /etc).
  static std::vector<std::string> default_names();

private:
  /// One line per source entry: what a change would alter.
  std::string fingerprint() const;
  std::shared_ptr<const etc_snapshot> make_copy(std::string& error) const;

  std::string root_;
  std::vector<std::string> names_;
  std::string passwd_;
  std::string group_;
  std::string parent_;
  std::chrono::milliseconds check_every_;

  std::mutex mutex_;
  std::shared_ptr<const etc_snapshot> current_;
  std::string fingerprint_;
  std::chrono::steady_clock::time_point checked_;
};

} // namespace millrace::sandbox::detail
