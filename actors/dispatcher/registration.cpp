// Slots joining and leaving: registration (also again, when a node rejoins),
// adoption or abort of the attempt a rejoining slot holds, drains, and slots
// that go down.

#include <spdlog/spdlog.h>

#include "actors/dispatcher/dispatcher_state.hpp"
#include "actors/protocol/errors.hpp"

namespace millrace::actors {

void register_slot(dispatcher_ptr self, worker_slot_actor h, slot_info info) {
  auto& st = self->state;
  auto name = info.name;
  slot_entry kept;
  bool same = false;
  if (auto old = st.slots.find(name); old != st.slots.end()) {
    same = old->second.handle.address() == h.address();
    if (same) {
      // The same slot again (its node's link rejoined over a connection
      // that stayed up): what we sent it is still on its way or running.
      kept = std::move(old->second);
    } else {
      st.log->warn("slot {} registered again; the previous registration is replaced", name);
      st.slot_by_addr.erase(old->second.handle.address());
    }
  }
  if (!same)
    self->monitor(h);
  st.slot_by_addr[h.address()] = name;
  auto held = std::move(info.job_id);
  auto attempt = info.attempt;
  auto owner = std::move(info.lease_owner);
  auto finished = info.finished;
  info.job_id.clear();
  info.lease_owner.clear();
  info.tags = lanes_of_slot(st, name, std::move(info.tags));
  auto& slot = st.slots[name];
  slot = slot_entry{h, std::move(info), false, {}, {}, draining_prefix(self, name), {}};
  if (same) {
    slot.idle = kept.idle;
    slot.job = std::move(kept.job);
    slot.ahead = std::move(kept.ahead);
    slot.draining = slot.draining || kept.draining;
  } else {
    ++st.stats.slots;
    sweep_node_of(self, name);
  }
  if (held.empty() || finished || (same && slot.job == held))
    return; // a finished attempt's `done` follows; job_done judges it
  if (st.recovering) {
    // The queue is not in memory yet: judged when recovery is done.
    slot.job = held;
    st.held_in_recovery.push_back({name, held, attempt, owner});
    return;
  }
  judge_held(self, name, held, attempt, owner);
}

void judge_held(dispatcher_ptr self, const std::string& name, const std::string& held,
                int32_t attempt, const std::string& owner) {
  auto& st = self->state;
  auto s = st.slots.find(name);
  if (s == st.slots.end())
    return;
  auto& slot = s->second;
  auto j = st.jobs.find(held);
  bool current = j != st.jobs.end() && j->second.st == job_entry::state::running
                 && j->second.attempt == attempt && j->second.owner == owner;
  if (current) {
    // The node rejoined this server after it restarted (recovery kept the
    // attempt for it), or the slot registered again over a connection that
    // stayed up, and the attempt is still the job's: the slot carries on.
    // (A node whose connection dropped lost its attempts at once.)
    auto& e = j->second;
    if (!e.slot.empty() && e.slot != name)
      if (auto other = st.slots.find(e.slot); other != st.slots.end() && other->second.job == held)
        other->second.job.clear();
    e.slot = name;
    e.renewed = self->clock().now();
    count_running(self, e);
    slot.job = held;
    if (e.claimed)
      self->send(slot.handle, claimed_atom_v, held, attempt); // it may have missed it
    st.log->info("slot {} came back with job {} attempt {}; adopted", name, held, attempt);
    return;
  }
  // The attempt lost its job while the node was away (it runs again, or
  // ended, elsewhere): the slot must kill it. Its late completion, if any,
  // is fenced.
  ++st.stats.fenced;
  st.log->warn("slot {} came back with job {} attempt {}, which is no longer current; "
               "telling it to kill that attempt",
               name, held, attempt);
  self->send(slot.handle, abort_atom_v, held, attempt);
  slot_ready(self, name);
}

bool draining_prefix(dispatcher_ptr self, const std::string& name) {
  for (auto& p : self->state.draining)
    if (name.compare(0, p.size(), p) == 0)
      return true;
  return false;
}

int32_t drain_slots(dispatcher_ptr self, const std::string& prefix, bool on) {
  auto& st = self->state;
  if (!on) {
    // The node joined afresh (a new process): its slots take jobs again.
    st.draining.erase(prefix);
    for (auto& [name, slot] : st.slots)
      if (name.compare(0, prefix.size(), prefix) == 0 && slot.draining) {
        slot.draining = false;
        if (slot.job.empty())
          slot_ready(self, name);
      }
    return 0;
  }
  st.draining.insert(prefix);
  int32_t n = 0;
  for (auto& [name, slot] : st.slots)
    if (name.compare(0, prefix.size(), prefix) == 0 && !slot.draining) {
      slot.draining = true;
      slot.idle = false; // dispatch() skips it; its idle list entries go stale
      ++n;
    }
  st.log->info("draining {} slots of {}", n, prefix);
  return n;
}

caf::result<bool> slot_leave(dispatcher_ptr self, const std::string& name) {
  auto& st = self->state;
  auto s = st.slots.find(name);
  if (s == st.slots.end())
    return true;
  auto& slot = s->second;
  if (slot.job.empty() && slot.ahead.empty()) {
    forget_slot(self, name);
    return true;
  }
  slot.draining = true;
  slot.idle = false;
  if (!slot.leaving)
    slot.leaving = self->make_response_promise<bool>();
  return *slot.leaving;
}

void forget_slot(dispatcher_ptr self, std::string name) {
  auto& st = self->state;
  auto s = st.slots.find(name);
  if (s == st.slots.end())
    return;
  auto handle = s->second.handle;
  auto leaving = std::move(s->second.leaving);
  st.slots.erase(s);
  // Its idle list entries go stale (dispatch skips names it does not know).
  if (auto a = st.slot_by_addr.find(handle.address()); a != st.slot_by_addr.end() && a->second == name) {
    st.slot_by_addr.erase(a);
    self->demonitor(handle.address());
  }
  if (leaving)
    leaving->deliver(true);
}

void slot_down(dispatcher_ptr self, const caf::actor_addr& who, const caf::error& reason) {
  auto& st = self->state;
  auto a = st.slot_by_addr.find(who);
  if (a == st.slot_by_addr.end())
    return;
  auto name = a->second;
  st.slot_by_addr.erase(a);
  auto s = st.slots.find(name);
  if (s == st.slots.end() || s->second.handle.address() != who)
    return;
  std::vector<std::string> jobs;
  if (!s->second.job.empty())
    jobs.push_back(s->second.job);
  jobs.insert(jobs.end(), s->second.ahead.begin(), s->second.ahead.end());
  st.slots.erase(s);
  for (auto& job : jobs) {
    auto j = st.jobs.find(job);
    if (j != st.jobs.end() && j->second.st == job_entry::state::running && j->second.slot == name)
      lose_attempt(self, j->second, "its worker slot " + name + " stopped: " + describe(reason),
                   false);
  }
}

} // namespace millrace::actors
