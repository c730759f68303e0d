// The registry of live actors: every supervised actor under a stable path such
// as /millrace/storage/writer, with its kind, parent, start time and restart
// count. Supervisors keep it current; a restarted actor keeps its path and gets
// a new handle, so callers resolve a path for each conversation instead of
// caching handles across failures.
//
// Thread-safe: supervisors write it from CAF threads, the admin surface and
// main() read it from theirs.

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"
#include "caf/actor_cast.hpp"

namespace millrace::actors {

struct actor_entry {
  std::string path;
  /// What the actor is: "supervisor", "storage_writer", ...
  std::string kind;
  /// Path of the supervising actor ("" for the root).
  std::string parent;
  caf::actor handle;
  std::chrono::system_clock::time_point started_at;
  /// Times this path has been restarted by its supervisor.
  uint32_t restarts = 0;
};

class registry {
public:
  /// Adds or replaces the entry at `e.path`.
  void put(actor_entry e);

  /// Removes the entry at `path`, but only while it still holds `who`: a late
  /// removal for an old incarnation must not drop its replacement.
  void remove(const std::string& path, const caf::actor_addr& who);

  std::optional<actor_entry> find(const std::string& path) const;

  /// The current handle at `path`, or an invalid handle.
  caf::actor resolve(const std::string& path) const;

  /// The current handle at `path` as a typed handle.
  template <class Handle>
  Handle resolve_as(const std::string& path) const {
    return caf::actor_cast<Handle>(resolve(path));
  }

  /// All entries whose path starts with `prefix`, sorted by path.
  std::vector<actor_entry> list(const std::string& prefix = "/") const;

  size_t size() const;

private:
  mutable std::shared_mutex mu_;
  std::map<std::string, actor_entry> entries_;
};

/// Joins a parent path and a child id: ("/millrace", "storage") -> "/millrace/storage".
std::string child_path(const std::string& parent, const std::string& id);

} // namespace millrace::actors
