// Attempts: idle slots, pushing runnable jobs to them, prefetch, delayed
// jobs. How attempts end (completions, lost attempts, poison jobs):
// outcome.cpp. Slots joining and leaving: registration.cpp.

#include <algorithm>

#include <spdlog/spdlog.h>

#include "actors/dispatcher/dispatcher_state.hpp"
#include "actors/protocol/errors.hpp"

namespace millrace::actors {

namespace {

bool network_for(dispatcher_ptr self, const std::string& tag) {
  for (auto& t : self->state.cfg.network_tags)
    if (t == tag)
      return true;
  return false;
}

} // namespace

std::string lane_of(const job_spec& spec) {
  bool is_flow = spec.kind == job_kind::flow || spec.kind == job_kind::flowpreview;
  if (is_flow && !spec.parent_job.empty())
    return job_kind::subflow_lane;
  return spec.node.empty() ? spec.tag : spec.tag + "@" + spec.node;
}

job_assignment assignment_of(dispatcher_ptr self, const job_entry& e) {
  auto& cfg = self->state.cfg;
  // A flow has no timeout unless its run asked for one (an approval may wait
  // longer than a script may run); a script gets the default.
  bool is_flow = e.spec.kind == job_kind::flow || e.spec.kind == job_kind::flowpreview;
  return job_assignment{e.spec.id,       e.attempt,        e.owner,          e.created_at,
                        e.spec.workspace, e.spec.kind,      e.spec.language,  e.spec.script_path,
                        e.spec.code,     e.spec.args,
                        e.spec.timeout_s > 0 || is_flow ? e.spec.timeout_s : cfg.default_timeout_s,
                        network_for(self, e.spec.tag), e.spec.root_job, e.spec.created_by,
                        e.spec.node.empty() ? std::string{} : e.spec.parent_job, e.spec.priority};
}

namespace {

void arm_due_timer(dispatcher_ptr self) {
  auto& st = self->state;
  if (st.delayed.empty())
    return;
  auto next = st.delayed.begin()->first;
  if (st.due_armed_ms != 0 && st.due_armed_ms <= next)
    return; // a timer at or before `next` is pending
  st.due_armed_ms = next;
  auto delay = std::max<int64_t>(0, next - wall_ms(self));
  self->delayed_send(self, std::chrono::milliseconds{delay}, due_atom_v, ++st.due_token);
}

} // namespace

void unclaim(dispatcher_ptr self, job_entry& e) {
  --e.attempt;
  e.owner.clear();
  e.slot.clear();
  e.unclaimed_run = false;
  make_runnable(self, e);
}

void record_dispatch(dispatcher_stats& s, caf::timespan latency) {
  auto us = static_cast<uint64_t>(
    std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(latency).count()));
  s.dispatch_micros_sum += us;
  auto& bounds = dispatch_bounds_micros();
  for (size_t b = 0; b < bounds.size(); ++b)
    if (us <= bounds[b])
      ++s.dispatch_buckets[b];
}

namespace {

bool runs_without_process(const job_spec& spec) {
  return spec.kind == job_kind::noop || spec.kind == job_kind::identity;
}

// Starts the job picked from the ready queue on `slot` (`ahead`: after the
// slot's current job, which runs without a process too).
void start_on(dispatcher_ptr self, slot_entry& slot, job_entry& e, bool ahead = false) {
  auto& st = self->state;
  e.st = job_entry::state::running;
  ++e.attempt;
  e.owner = st.node_id + "/" + slot.info.name;
  e.slot = slot.info.name;
  e.claimed = false;
  e.renewed = self->clock().now();
  slot.idle = false;
  if (ahead)
    slot.ahead.push_back(e.spec.id);
  else
    slot.job = e.spec.id;
  ++st.stats.started;
  count_running(self, e);
  record_dispatch(st.stats, self->clock().now() - e.runnable_at);
  e.started_ms = wall_ms(self);
  e.unclaimed_run = runs_without_process(e.spec);
  if (e.unclaimed_run) {
    // No process, nothing to fence while it runs: claim and end are
    // written together when the slot reports it done (instant_jobs.sql).
    self->send(slot.handle, run_atom_v, assignment_of(self, e), e.watchers);
    return;
  }
  auto id = e.spec.id;
  auto attempt = e.attempt;
  // The process may start before its claim commits: the claim precedes every
  // later write of this job on the same connection (same key), and the slot
  // holds its log writes until `claimed`. If the server dies first, the job
  // is still queued in the database and runs again; this attempt's writes
  // are then fenced by its lease owner, which names this dispatcher's
  // incarnation.
  write(self, claim_write(e, lease_ms(self, e)), [self, id, attempt](storage::op_result& r) {
    auto& s = self->state;
    auto j = s.jobs.find(id);
    if (j == s.jobs.end() || j->second.attempt != attempt || j->second.st != job_entry::state::running)
      return;
    auto& job = j->second;
    auto sl = s.slots.find(job.slot);
    if (r.ok() && !r.rows.empty()) {
      job.claimed = true;
      if (sl != s.slots.end())
        self->send(sl->second.handle, claimed_atom_v, id, attempt);
      return;
    }
    // Not claimed: stop the process, give the attempt number back, requeue.
    s.log->warn("claim of job {} attempt {} failed: {}", id, attempt,
                r.ok() ? std::string("the job was not queued") : r.message);
    if (sl != s.slots.end()) {
      self->send(sl->second.handle, abort_atom_v, id, attempt);
      sl->second.job.clear();
    }
    unclaim(self, job);
    if (sl != s.slots.end())
      slot_ready(self, sl->first);
  });
  self->send(slot.handle, run_atom_v, assignment_of(self, e), e.watchers);
  arm_lease_sweep(self);
}

// Sends no-process jobs ahead to a slot whose current job has no process
// either, up to the prefetch depth. Stops at the first job with a process
// (it goes back to its place): it must not wait behind another job.
void top_up(dispatcher_ptr self, slot_entry& slot) {
  auto& st = self->state;
  auto cur = st.jobs.find(slot.job);
  // A draining (or leaving) slot runs what it was sent, nothing more.
  if (st.recovering || slot.draining || cur == st.jobs.end() || !cur->second.unclaimed_run)
    return;
  while (slot.ahead.size() < st.cfg.prefetch) {
    auto pick = st.ready.pop_for(tags_with_room(self, slot.info.tags));
    if (!pick)
      return;
    auto j = st.jobs.find(pick->key.job_id);
    if (j == st.jobs.end() || j->second.st != job_entry::state::queued)
      continue; // stale entry (canceled meanwhile)
    if (!runs_without_process(j->second.spec)) {
      st.ready.push(pick->tag, pick->workspace, pick->key);
      return;
    }
    start_on(self, slot, j->second, true);
  }
}

// Puts an idle slot on the idle list of one of its tags (or lanes). Entries
// go stale when the slot gets work through another tag; they are skipped
// when popped. A tag that never gets a job never pops its list, so once a
// list outgrows the slots it is compacted: only entries of slots still idle
// stay, each slot's latest (it became idle then).

// Gives `slot` its next job, or records it as idle.
void feed(dispatcher_ptr self, slot_entry& slot) {
  auto& st = self->state;
  if (slot.draining) {
    slot.idle = false;
    slot.job.clear();
    return;
  }
  if (!st.recovering) {
    auto tags = tags_with_room(self, slot.info.tags);
    while (auto pick = st.ready.pop_for(tags)) {
      auto j = st.jobs.find(pick->key.job_id);
      if (j == st.jobs.end() || j->second.st != job_entry::state::queued)
        continue; // stale entry (canceled meanwhile)
      start_on(self, slot, j->second);
      top_up(self, slot);
      return;
    }
  }
  if (!slot.idle) {
    slot.idle = true;
    slot.job.clear();
    for (auto& tag : slot.info.tags)
      note_idle(self, tag, slot.info.name);
  }
}

} // namespace

void note_idle(dispatcher_ptr self, const std::string& tag, const std::string& name) {
  auto& st = self->state;
  auto& q = st.idle_by_tag[tag];
  q.push_back(name);
  if (q.size() <= 2 * st.slots.size() + 16)
    return;
  std::set<std::string> seen;
  std::deque<std::string> kept;
  for (auto it = q.rbegin(); it != q.rend(); ++it) {
    auto s = st.slots.find(*it);
    if (s != st.slots.end() && s->second.idle && seen.insert(*it).second)
      kept.push_front(*it);
  }
  q = std::move(kept);
}

void make_runnable(dispatcher_ptr self, job_entry& e) {
  auto& st = self->state;
  uncount_running(self, e);
  if (e.scheduled_ms > wall_ms(self)) {
    e.st = job_entry::state::delayed;
    st.delayed.emplace(e.scheduled_ms, e.spec.id);
    arm_due_timer(self);
    return;
  }
  e.st = job_entry::state::queued;
  e.runnable_at = self->clock().now();
  if (!e.spec.node.empty())
    pinned_job_for(self, e.spec.node);
  st.ready.push(lane_of(e.spec), e.spec.workspace,
                ready_key{e.spec.priority, e.scheduled_ms, e.seq, e.spec.id});
}

void dispatch(dispatcher_ptr self) {
  auto& st = self->state;
  if (st.recovering)
    return;
  // Only tags with both runnable jobs and idle slots can make progress. The
  // tags are copied first: feed() may add idle lists (and rehash the map).
  for (bool progress = true; progress;) {
    progress = false;
    std::vector<std::string> tags;
    for (auto& [tag, names] : st.idle_by_tag)
      if (!names.empty() && st.ready.has(tag) && tag_has_room(self, tag))
        tags.push_back(tag);
    for (auto& tag : tags) {
      auto& names = st.idle_by_tag[tag];
      while (!names.empty()) {
        auto name = names.front();
        names.pop_front();
        auto s = st.slots.find(name);
        if (s == st.slots.end() || !s->second.idle)
          continue; // stale: the slot left or got work through another tag
        s->second.idle = false;
        feed(self, s->second);
        progress = true;
        break;
      }
    }
  }
}

void slot_ready(dispatcher_ptr self, const std::string& name) {
  auto s = self->state.slots.find(name);
  if (s == self->state.slots.end())
    return;
  s->second.job.clear();
  s->second.idle = false; // feed() records it as idle if there is no work
  if (s->second.leaving && s->second.ahead.empty()) {
    forget_slot(self, name);
    return;
  }
  feed(self, s->second);
}

void advance_slot(dispatcher_ptr self, slot_entry& slot) {
  if (slot.ahead.empty()) {
    slot_ready(self, slot.info.name);
    return;
  }
  // Its next job is already there (prefetch): keep the pipe full.
  slot.job = slot.ahead.front();
  slot.ahead.pop_front();
  top_up(self, slot);
}

void fire_due(dispatcher_ptr self, uint64_t token) {
  auto& st = self->state;
  if (token != st.due_token)
    return; // superseded by a timer armed for an earlier job
  st.due_armed_ms = 0;
  auto now = wall_ms(self);
  while (!st.delayed.empty() && st.delayed.begin()->first <= now) {
    auto id = st.delayed.begin()->second;
    st.delayed.erase(st.delayed.begin());
    auto j = st.jobs.find(id);
    if (j != st.jobs.end() && j->second.st == job_entry::state::delayed)
      make_runnable(self, j->second);
  }
  arm_due_timer(self);
  dispatch(self);
}

} // namespace millrace::actors
