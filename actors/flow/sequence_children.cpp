// Loops and branches: each iteration or branch is a child sequence, linked to
// its parent. forloopflow runs up to `parallelism` iterations at once (one
// when not parallel); whileloopflow runs them one by one until its
// stop_after_if holds; branchone runs the first branch whose predicate holds
// (else `default`); branchall runs every branch, in order or all at once.

#include "actors/flow/detail/json_util.hpp"
#include "actors/flow/detail/sequence_state.hpp"
#include "actors/protocol/type_ids.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors::flow_engine {

namespace {

using flow::module_type;

void spawn_child(seq_actor* self, size_t slot, const std::vector<flow::flow_module>* mods,
                 std::string iter, const std::string& what) {
  auto& st = self->state;
  auto& m = current(self);
  seq_input c;
  c.modules = mods;
  c.flow_input = iter.empty() ? st.in.flow_input : object_with(st.in.flow_input, {{"iter", iter}});
  c.iter = iter.empty() ? st.in.iter : iter;
  c.outer_results = object_with(st.in.outer_results, st.results);
  c.previous_result = st.previous;
  c.path = st.in.path + "/" + m.id + "-" + std::to_string(slot);
  c.logical = st.in.logical + "/" + m.id + "-" + std::to_string(slot);
  c.id_base = st.in.id_base;
  if (st.in.top_level && m.id == st.in.adopt_module)
    for (auto& [before, job] : st.in.adopt)
      if (slot < before) {
        c.id_base = job;
        break;
      }
  c.label = "module " + m.id + ", " + what;
  auto tok = st.next_child_token++;
  auto h = spawn_sequence(self, st.ctx, std::move(c), tok);
  st.cur.live.emplace(tok, std::make_pair(slot, h));
  ++st.cur.running;
}

std::string iter_json(const std::string& value, size_t index) {
  return "{\"value\":" + value + ",\"index\":" + std::to_string(index) + "}";
}

std::string collected(seq_actor* self) {
  std::vector<std::string> out;
  for (auto& s : self->state.cur.slots)
    if (s)
      out.push_back(*s);
  return array_of(out);
}

// All iterations or branches ended: stop_after_all_iters_if, then done.
void children_finished(seq_actor* self) {
  auto& m = current(self);
  auto result = collected(self);
  if (!m.stop_after_all_iters_if)
    return module_done(self, std::move(result));
  eval_all(self, {m.stop_after_all_iters_if->expr}, scope_json(self, {{"result", result}}),
           [self, result](std::vector<std::string>& v) {
             if (v.empty() || !truthy(v[0]))
               return module_done(self, result);
             auto& mod = current(self);
             auto cond = *mod.stop_after_all_iters_if;
             auto& st = self->state;
             st.cur.status = "Success";
             st.cur.result = result;
             report(self);
             if (!cond.error_message.empty())
               return finish(self, outcome::failure,
                             runtime::error_json("StopAfterIf", cond.error_message), mod.id);
             finish(self, outcome::stopped, result, mod.id);
           });
}

void fill_loop(seq_actor* self) {
  auto& st = self->state;
  auto& c = st.cur;
  auto& m = current(self);
  while (!c.stop_spawning && c.running < c.parallelism && c.next_child < c.items.size()) {
    auto k = c.next_child++;
    spawn_child(self, k, &m.modules, iter_json(c.items[k], k),
                "iteration " + std::to_string(k + 1) + " of " + std::to_string(c.items.size()));
  }
  if (c.running == 0)
    children_finished(self);
}

void next_while_iteration(seq_actor* self) {
  auto& c = self->state.cur;
  auto& m = current(self);
  if (c.finished >= max_iterations)
    return module_failed(self, runtime::error_json(
                                 "TooManyIterations",
                                 "module '" + m.id + "': the while loop ran "
                                   + std::to_string(max_iterations)
                                   + " iterations without its stop_after_if becoming true"));
  auto k = c.finished;
  c.slots.emplace_back();
  spawn_child(self, k, &m.modules, iter_json(std::to_string(k), k),
              "iteration " + std::to_string(k + 1));
}

void next_branch(seq_actor* self) {
  auto& c = self->state.cur;
  auto& m = current(self);
  size_t limit = m.parallel ? m.branches.size() : c.finished + 1;
  while (c.next_child < m.branches.size() && c.next_child < limit) {
    auto k = c.next_child++;
    spawn_child(self, k, &m.branches[k].modules, {},
                "branch " + std::to_string(k + 1) + " of " + std::to_string(m.branches.size()));
  }
  if (c.running == 0)
    children_finished(self);
}

// After an iteration's result: stop_after_if breaks a loop (evaluated with
// `result` = that iteration's result), then the loop goes on.
void after_iteration(seq_actor* self, const std::string& result) {
  auto& m = current(self);
  bool is_while = m.type == module_type::whileloopflow;
  auto go_on = [self, is_while] {
    if (is_while && !self->state.cur.stop_spawning)
      return next_while_iteration(self);
    if (is_while)
      return children_finished(self);
    fill_loop(self);
  };
  if (!m.stop_after_if)
    return go_on();
  eval_all(self, {m.stop_after_if->expr}, scope_json(self, {{"result", result}}),
           [self, go_on](std::vector<std::string>& v) {
             if (!v.empty() && truthy(v[0]))
               self->state.cur.stop_spawning = true;
             go_on();
           });
}

} // namespace

void start_loop(seq_actor* self, std::vector<std::string> items, size_t parallelism) {
  auto& c = self->state.cur;
  c.items = std::move(items);
  c.slots.assign(c.items.size(), std::nullopt);
  c.parallelism = parallelism;
  c.status = "InProgress";
  report(self);
  fill_loop(self);
}

void start_while(seq_actor* self) {
  self->state.cur.status = "InProgress";
  report(self);
  next_while_iteration(self);
}

void start_branchone(seq_actor* self, std::vector<std::string>& conditions) {
  auto& c = self->state.cur;
  auto& m = current(self);
  c.chosen = &m.default_modules;
  c.branch_chosen = "{\"type\":\"default\"}";
  for (size_t k = 0; k < conditions.size() && k < m.branches.size(); ++k) {
    if (truthy(conditions[k])) {
      c.chosen = &m.branches[k].modules;
      c.branch_chosen = "{\"type\":\"branch\",\"branch\":" + std::to_string(k) + "}";
      break;
    }
  }
  c.status = "InProgress";
  c.slots.assign(1, std::nullopt);
  report(self);
  spawn_child(self, 0, c.chosen, {}, "the chosen branch");
}

void start_branchall(seq_actor* self) {
  auto& c = self->state.cur;
  c.slots.assign(current(self).branches.size(), std::nullopt);
  c.status = "InProgress";
  report(self);
  next_branch(self);
}

void child_done(seq_actor* self, uint64_t token, const std::string& how, std::string result,
                const std::string& failed_step) {
  auto& st = self->state;
  auto& c = st.cur;
  auto it = c.live.find(token);
  if (it == c.live.end() || st.finished)
    return;
  auto slot = it->second.first;
  c.live.erase(it);
  --c.running;
  ++c.finished;
  auto& m = current(self);
  if (how == outcome::stopped)
    return finish(self, outcome::stopped, std::move(result), failed_step);
  if (how == outcome::failure) {
    bool tolerated = ((m.type == module_type::forloopflow || m.type == module_type::whileloopflow)
                      && m.skip_failures)
                     || (m.type == module_type::branchall && m.branches[slot].skip_failure);
    if (!tolerated) {
      stop_children(self);
      return module_failed(self, std::move(result));
    }
  }
  if (slot < c.slots.size())
    c.slots[slot] = result;
  report(self);
  switch (m.type) {
    case module_type::branchone:
      return module_done(self, std::move(result));
    case module_type::branchall:
      return next_branch(self);
    default:
      return after_iteration(self, result);
  }
}

void stop_children(seq_actor* self) {
  auto& live = self->state.cur.live;
  for (auto& [tok, child] : live) {
    // Unlink first: the child's exit must not stop this sequence.
    self->unlink_from(child.second);
    self->send_exit(child.second, caf::exit_reason::user_shutdown);
  }
  live.clear();
  self->state.cur.running = 0;
}

} // namespace millrace::actors::flow_engine
