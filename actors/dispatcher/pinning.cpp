// same_worker flows: every process step of such a flow runs on one worker
// node and shares a folder there (./shared). The flow's run asks `pin` for a
// node once; its step jobs carry the node (job_spec::node, stored with the
// job) and queue on the lane "<tag>@<node>", which only that node's slots
// serve. When the flow ends, `unpin` has one of the node's slots remove the
// folder. A node that was away when its flow ended is swept when it joins.

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

std::vector<std::string> lanes_of_slot(const dispatcher_state& st, const std::string& name,
                                       std::vector<std::string> tags) {
  auto node = node_of_slot(name);
  if (node.empty() || st.pinned_nodes.count(node) == 0)
    return tags;
  auto n = tags.size();
  for (size_t i = 0; i < n; ++i)
    if (!flow_tag(tags[i]) && !pinned_lane(tags[i]))
      tags.push_back(tags[i] + "@" + node);
  return tags;
}

void pinned_job_for(dispatcher_ptr self, const std::string& node) {
  auto& st = self->state;
  if (!st.pinned_nodes.insert(node).second)
    return;
  // The node's first pinned job: its slots serve its lanes from now on
  // (idle ones join those lanes' idle lists). Nodes no same_worker flow
  // ever used pay nothing for them.
  for (auto& [name, slot] : st.slots) {
    if (node_of_slot(name) != node)
      continue;
    auto before = slot.info.tags.size();
    slot.info.tags = lanes_of_slot(st, name, std::move(slot.info.tags));
    if (slot.idle)
      for (auto i = before; i < slot.info.tags.size(); ++i)
        note_idle(self, slot.info.tags[i], name);
  }
}

std::string node_refuses(dispatcher_ptr self, const std::string& node, const std::string& tag) {
  bool connected = false;
  for (auto& [name, slot] : self->state.slots) {
    if (node_of_slot(name) != node || !worker_slot(slot))
      continue;
    connected = true;
    for (auto& t : slot.info.tags)
      if (t == tag)
        return {};
  }
  return connected ? "worker node '" + node + "' has no slot serving tag '" + tag + "'" : "";
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

namespace {

// One worker slot of `node`, or null when none is connected.
const slot_entry* worker_slot_of(const dispatcher_state& st, const std::string& node) {
  for (auto& [name, slot] : st.slots)
    if (node_of_slot(name) == node && worker_slot(slot))
      return &slot;
  return nullptr;
}

} // namespace

void unpin(dispatcher_ptr self, const std::string& node, const std::string& flow_job) {
  auto& st = self->state;
  if (auto* slot = worker_slot_of(st, node)) {
    self->send(slot->handle, unpin_atom_v, flow_job);
    return;
  }
  st.log->warn("same_worker flow {} ended while its node {} is not connected; its shared folder "
               "there stays",
               flow_job, node);
}

void unpin_run(dispatcher_ptr self, const std::string& node, const std::string& flow_job,
               int32_t attempt) {
  // Only the attempt that ended the flow: an older one (its lease expired
  // and the flow runs again, on the same node and folder) must not take
  // the folder from the attempt now running.
  auto& st = self->state;
  if (auto j = st.jobs.find(flow_job); j != st.jobs.end()) {
    auto& e = j->second;
    bool ending = e.attempt == attempt
                  && (e.st == job_entry::state::running || e.st == job_entry::state::settling);
    if (!ending) {
      st.log->info("flow {}: unpin from attempt {} ignored (the job is at attempt {})", flow_job,
                   attempt, e.attempt);
      return;
    }
  }
  unpin(self, node, flow_job);
}

namespace {

void sweep(dispatcher_ptr self, const std::string& node, const worker_slot_actor& slot) {
  self->state.swept[node] = self->clock().now();
  self->request(slot, std::chrono::seconds(60), sweep_atom_v)
    .then(
      [self, node](std::set<std::string>& folders) {
        auto& st = self->state;
        if (st.recovering) {
          st.nodes_to_sweep.insert(node);
          return;
        }
        size_t ended = 0;
        for (auto& flow_job : folders)
          if (st.jobs.count(flow_job) == 0) { // unfinished flows are all in memory
            unpin(self, node, flow_job);
            ++ended;
          }
        if (ended > 0)
          st.log->info("node {}: removing the shared folders of {} same_worker flows that ended "
                       "while it was away",
                       node, ended);
      },
      [self, node](caf::error& err) {
        self->state.log->warn("node {}: cannot list its shared folders: {}", node,
                              caf::to_string(err));
      });
}

} // namespace

void sweep_node_of(dispatcher_ptr self, const std::string& slot_name) {
  auto& st = self->state;
  auto node = node_of_slot(slot_name);
  auto s = st.slots.find(slot_name);
  if (node.empty() || s == st.slots.end() || !worker_slot(s->second))
    return;
  if (st.recovering) {
    st.nodes_to_sweep.insert(node);
    return;
  }
  if (auto last = st.swept.find(node);
      last != st.swept.end() && self->clock().now() - last->second < std::chrono::minutes(1))
    return; // its other slots joining at the same time
  sweep(self, node, s->second.handle);
}

void sweep_after_recovery(dispatcher_ptr self) {
  auto& st = self->state;
  for (auto& node : std::exchange(st.nodes_to_sweep, {}))
    if (auto* slot = worker_slot_of(st, node))
      sweep(self, node, slot->handle);
}

} // namespace millrace::actors
