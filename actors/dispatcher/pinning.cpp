// same_worker flows: every process step of such a flow runs on one worker
// node and shares a folder there (./shared). The flow's run asks `pin` for a
// node once; its step jobs carry the node (job_spec::node, stored with the
// job) and queue on the lane "<tag>@<node>", which only that node's slots
// serve. When the flow ends, `unpin` has one of the node's slots remove the
// folder.

#include <map>

#include <spdlog/spdlog.h>

#include "actors/dispatcher/dispatcher_state.hpp"
#include "actors/protocol/errors.hpp"

namespace millrace::actors {

namespace {

bool flow_tag(const std::string& tag) {
  return tag == job_kind::flow_tag || tag == job_kind::subflow_lane;
}

bool pinned_lane(const std::string& lane) {
  return lane.find('@') != std::string::npos;
}

// A worker slot serves some tag besides the flow engine's.
bool worker_slot(const slot_entry& slot) {
  for (auto& t : slot.info.tags)
    if (!flow_tag(t) && !pinned_lane(t))
      return true;
  return false;
}

std::string node_of_slot(const std::string& name) {
  auto slash = name.find('/');
  return slash == std::string::npos ? std::string{} : name.substr(0, slash);
}

} // namespace

std::string tag_of_lane(const std::string& lane) {
  auto at = lane.find('@');
  return at == std::string::npos ? lane : lane.substr(0, at);
}

std::vector<std::string> lanes_of_slot(const std::string& name, std::vector<std::string> tags) {
  auto node = node_of_slot(name);
  if (node.empty())
    return tags;
  auto n = tags.size();
  for (size_t i = 0; i < n; ++i)
    if (!flow_tag(tags[i]) && !pinned_lane(tags[i]))
      tags.push_back(tags[i] + "@" + node);
  return tags;
}

caf::result<std::string> pick_node(dispatcher_ptr self, const std::set<std::string>& tags) {
  struct node_seen {
    std::set<std::string> tags;
    size_t idle = 0;
  };
  std::map<std::string, node_seen> nodes;
  for (auto& [name, slot] : self->state.slots) {
    if (slot.draining)
      continue;
    auto node = node_of_slot(name);
    if (node.empty() || !worker_slot(slot))
      continue;
    auto& seen = nodes[node];
    for (auto& t : slot.info.tags)
      if (!pinned_lane(t))
        seen.tags.insert(t);
    if (slot.idle)
      ++seen.idle;
  }
  const std::string* best = nullptr;
  size_t best_idle = 0;
  for (auto& [node, seen] : nodes) {
    bool serves = true;
    for (auto& t : tags)
      serves = serves && seen.tags.count(t) > 0;
    if (serves && (!best || seen.idle > best_idle)) {
      best = &node;
      best_idle = seen.idle;
    }
  }
  if (best)
    return *best;
  std::string wanted;
  for (auto& t : tags)
    wanted += (wanted.empty() ? "" : ", ") + t;
  return caf::make_error(dispatch_errc::no_node,
                         nodes.empty() ? std::string{"no worker node is connected"}
                                       : "no connected worker node serves all of: " + wanted);
}

void unpin(dispatcher_ptr self, const std::string& node, const std::string& flow_job) {
  auto& st = self->state;
  for (auto& [name, slot] : st.slots)
    if (node_of_slot(name) == node && worker_slot(slot)) {
      self->send(slot.handle, unpin_atom_v, flow_job);
      return;
    }
  st.log->warn("same_worker flow {} ended while its node {} is not connected; its shared folder "
               "there stays",
               flow_job, node);
}

} // namespace millrace::actors
