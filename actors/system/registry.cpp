#include "actors/system/registry.hpp"

#include <mutex>

namespace millrace::actors {

void registry::put(actor_entry e) {
  std::unique_lock<std::shared_mutex> guard{mu_};
  auto path = e.path;
  entries_[path] = std::move(e);
}

void registry::remove(const std::string& path, const caf::actor_addr& who) {
  std::unique_lock<std::shared_mutex> guard{mu_};
  auto i = entries_.find(path);
  if (i != entries_.end() && i->second.handle.address() == who)
    entries_.erase(i);
}

std::optional<actor_entry> registry::find(const std::string& path) const {
  std::shared_lock<std::shared_mutex> guard{mu_};
  auto i = entries_.find(path);
  if (i == entries_.end())
    return std::nullopt;
  return i->second;
}

caf::actor registry::resolve(const std::string& path) const {
  std::shared_lock<std::shared_mutex> guard{mu_};
  auto i = entries_.find(path);
  return i == entries_.end() ? caf::actor{} : i->second.handle;
}

std::vector<actor_entry> registry::list(const std::string& prefix) const {
  std::shared_lock<std::shared_mutex> guard{mu_};
  std::vector<actor_entry> out;
  for (auto i = entries_.lower_bound(prefix); i != entries_.end(); ++i) {
    if (i->first.compare(0, prefix.size(), prefix) != 0)
      break;
    out.push_back(i->second);
  }
  return out;
}

size_t registry::size() const {
  std::shared_lock<std::shared_mutex> guard{mu_};
  return entries_.size();
}

std::string child_path(const std::string& parent, const std::string& id) {
  if (parent.empty() || parent == "/")
    return "/" + id;
  return parent + "/" + id;
}

} // namespace millrace::actors
