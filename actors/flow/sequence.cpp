// A sequence actor runs a list of flow modules in order: the flow's top level,
// one loop iteration, one branch, or the failure module. Before each module
// it evaluates the module's expressions in one batch (skip_if, sleep,
// timeout, input transforms, iterator, branch predicates), then runs it: a
// step job through the dispatcher (sequence_steps.cpp) or child sequences
// (sequence_children.cpp). It answers its parent once, with flowdone_atom.

#include <cmath>

#include "actors/flow/detail/json_util.hpp"
#include "actors/flow/detail/sequence_state.hpp"
#include "actors/protocol/type_ids.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"
#include "runtime/expr/evaluator.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors::flow_engine {

namespace {

using flow::input_transform;
using flow::module_type;

bool is_js(const input_transform& t) {
  return t.type == input_transform::kind::javascript;
}

// Where each pre-step value sits in the evaluated batch (-1: static).
struct pre_plan {
  int skip = -1;
  int sleep = -1;
  int timeout = -1;
  int iterator = -1;
  int parallelism = -1;
  std::vector<int> args;
  size_t first_branch = 0;
};

std::string value_of(const input_transform& t, int pos, const std::vector<std::string>& v) {
  return pos >= 0 ? v[static_cast<size_t>(pos)] : t.value_json;
}

void continue_module(seq_actor* self, const pre_plan& plan, std::vector<std::string>& v) {
  auto& st = self->state;
  auto& m = current(self);
  if (m.timeout) {
    auto secs = number_of(value_of(*m.timeout, plan.timeout, v));
    if (!secs || *secs < 1 || *secs > 7 * 86400)
      return module_failed(self, runtime::error_json("InvalidTimeout",
                                                     "module '" + m.id
                                                       + "': timeout must be a number of seconds "
                                                         "in 1..604800"));
    st.cur.timeout_s = static_cast<int>(std::ceil(*secs));
  }
  switch (m.type) {
    case module_type::rawscript:
    case module_type::script:
    case module_type::flow:
    case module_type::identity: {
      std::vector<std::pair<std::string, std::string>> args;
      for (size_t k = 0; k < m.input_transforms.size(); ++k)
        args.emplace_back(m.input_transforms[k].first,
                          value_of(m.input_transforms[k].second, plan.args[k], v));
      st.cur.args = object_with("{}", args);
      return run_leaf(self);
    }
    case module_type::forloopflow: {
      auto iter_json = value_of(m.iterator, plan.iterator, v);
      auto items = array_elements(iter_json);
      if (!items)
        return module_failed(self, runtime::error_json(
                                     "InvalidIterator", "module '" + m.id
                                                          + "': the iterator must evaluate to an "
                                                            "array, got "
                                                          + iter_json.substr(0, 200)));
      if (items->size() > max_iterations)
        return module_failed(self, runtime::error_json(
                                     "TooManyIterations",
                                     "module '" + m.id + "': " + std::to_string(items->size())
                                       + " iterations, more than the limit of "
                                       + std::to_string(max_iterations)));
      size_t parallelism = 1;
      if (m.parallel) {
        parallelism = std::max<size_t>(1, items->size());
        if (m.parallelism) {
          auto p = number_of(value_of(*m.parallelism, plan.parallelism, v));
          if (!p || *p < 1 || *p > max_parallelism)
            return module_failed(self, runtime::error_json(
                                         "InvalidParallelism",
                                         "module '" + m.id + "': parallelism must be a number in 1.."
                                           + std::to_string(max_parallelism)));
          parallelism = static_cast<size_t>(*p);
        }
        parallelism = std::min<size_t>(parallelism, max_parallelism);
      }
      return start_loop(self, std::move(*items), parallelism);
    }
    case module_type::whileloopflow:
      return start_while(self);
    case module_type::branchone: {
      std::vector<std::string> conds(v.begin() + static_cast<long>(plan.first_branch), v.end());
      return start_branchone(self, conds);
    }
    case module_type::branchall:
      return start_branchall(self);
  }
}

void start_module(seq_actor* self) {
  auto& st = self->state;
  if (st.i >= st.in.modules->size())
    return finish(self, outcome::success, st.previous);
  st.cur = module_run{};
  auto& m = current(self);
  report(self);
  if (m.mock_json)
    return module_done(self, *m.mock_json);
  pre_plan plan;
  std::vector<std::string> exprs;
  auto add = [&exprs](const std::string& e) {
    exprs.push_back(e);
    return static_cast<int>(exprs.size() - 1);
  };
  if (m.skip_if)
    plan.skip = add(*m.skip_if);
  if (m.sleep && is_js(*m.sleep))
    plan.sleep = add(m.sleep->expr);
  if (m.timeout && is_js(*m.timeout))
    plan.timeout = add(m.timeout->expr);
  for (auto& [name, t] : m.input_transforms)
    plan.args.push_back(is_js(t) ? add(t.expr) : -1);
  if (m.type == module_type::forloopflow) {
    if (is_js(m.iterator))
      plan.iterator = add(m.iterator.expr);
    if (m.parallelism && is_js(*m.parallelism))
      plan.parallelism = add(m.parallelism->expr);
  }
  plan.first_branch = exprs.size();
  if (m.type == module_type::branchone)
    for (auto& b : m.branches)
      add(b.expr);
  if (exprs.empty()) {
    std::vector<std::string> none;
    return continue_module(self, plan, none);
  }
  eval_all(self, std::move(exprs), scope_json(self), [self, plan](std::vector<std::string>& v) {
    auto& mod = current(self);
    if (plan.skip >= 0 && truthy(v[static_cast<size_t>(plan.skip)])) {
      self->state.cur.skipped = true;
      return module_done(self, self->state.previous);
    }
    double secs = 0;
    if (mod.sleep) {
      auto s = number_of(value_of(*mod.sleep, plan.sleep, v));
      if (!s || *s < 0 || *s > 30 * 86400)
        return module_failed(self, runtime::error_json("InvalidSleep",
                                                       "module '" + mod.id
                                                         + "': sleep must be a number of "
                                                           "seconds in 0..2592000"));
      secs = *s;
    }
    if (secs > 0) {
      auto values = v;
      auto& in = self->state.in;
      return wait_timer(self, in.logical + "/" + mod.id + "#sleep", "sleep before step " + mod.id,
                        secs, [self, plan, values]() mutable {
                          continue_module(self, plan, values);
                        });
    }
    continue_module(self, plan, v);
  });
}

std::string summary(seq_actor* self) {
  auto& st = self->state;
  if (st.finished || st.i >= st.in.modules->size())
    return st.in.label + ": finishing";
  auto& m = current(self);
  std::string s = st.in.label + ": step " + m.id + " (" + std::to_string(st.i + 1) + " of "
                  + std::to_string(st.in.modules->size()) + ")";
  if (!st.cur.items.empty() || m.type == module_type::whileloopflow)
    s += ", iteration " + std::to_string(st.cur.finished + 1)
         + (st.cur.items.empty() ? std::string{} : " of " + std::to_string(st.cur.items.size()));
  if (!st.cur.job_id.empty())
    s += ", job " + st.cur.job_id;
  s += ", attempt " + std::to_string(st.cur.retries + 1);
  return s;
}

caf::behavior sequence(seq_actor* self, std::shared_ptr<run_context> ctx, seq_input in,
                       caf::actor parent, uint64_t token) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.in = std::move(in);
  st.parent = std::move(parent);
  st.token = token;
  st.previous = st.in.previous_result;
  st.results = st.in.done_results;
  st.i = st.in.start_at;
  if (!st.results.empty())
    st.previous = st.results.back().second;
  auto reg = st.ctx->reg;
  if (reg) {
    reg->put(actor_entry{st.in.path, "flow_sequence", st.ctx->path,
                         caf::actor_cast<caf::actor>(self), std::chrono::system_clock::now(), 0});
    self->attach_functor([reg, path = st.in.path, addr = self->address()] {
      reg->remove(path, addr);
    });
  }
  self->set_exit_handler([self](caf::exit_msg& em) {
    // A normal exit of the parent means it finished; its children are done.
    if (em.reason == caf::exit_reason::normal)
      return;
    cancel_current_job(self);
    self->quit(em.reason);
  });
  // Start (or resume) once the behavior is in place.
  st.on_wake = [self] { start_module(self); };
  self->send(self, wake_atom_v, uint64_t{0});
  return {
    [self](eval_atom, uint64_t op, bool ok, std::string& payload) {
      auto& s = self->state;
      if (op != s.op || s.finished)
        return;
      if (!ok)
        return module_failed(self, runtime::error_json("ExpressionError", payload));
      auto values = array_elements(payload).value_or(std::vector<std::string>{});
      auto k = std::move(s.on_eval);
      k(values);
    },
    [self](wake_atom, uint64_t op) {
      auto& s = self->state;
      if (op != s.op || s.finished || !s.on_wake)
        return;
      auto k = std::move(s.on_wake);
      s.on_wake = nullptr;
      k();
    },
    [self](flowdone_atom, uint64_t tok, std::string& how, std::string& result,
           std::string& failed_step) {
      child_done(self, tok, how, std::move(result), failed_step);
    },
    [self](suspend_atom, uint64_t op, std::string& how, std::string& payloads,
           std::string& approvers) {
      suspend_event(self, op, how, std::move(payloads), std::move(approvers));
    },
    [self](status_atom) { return make_status(self, summary(self)); },
  };
}

} // namespace

const flow::flow_module& current(seq_actor* self) {
  return (*self->state.in.modules)[self->state.i];
}

std::string step_job_of(seq_actor* self, int retry) {
  auto& st = self->state;
  auto& base = st.in.id_base.empty() ? st.ctx->flow_job_id : st.in.id_base;
  return step_job_id(base, st.in.logical + "/" + current(self).id + "#" + std::to_string(retry));
}

std::string scope_json(seq_actor* self, const std::vector<std::pair<std::string, std::string>>& extra) {
  auto& st = self->state;
  std::vector<std::pair<std::string, std::string>> members{
    {"flow_input", st.in.flow_input},
    {"results", object_with(st.in.outer_results, st.results)},
    {"previous_result", st.previous}};
  if (!st.in.iter.empty())
    members.emplace_back("iter", st.in.iter);
  if (!st.resume.empty()) {
    members.emplace_back("resume", st.resume);
    members.emplace_back("resumes", st.resumes);
    members.emplace_back("approvers", st.approvers);
  }
  for (auto& e : extra)
    members.push_back(e);
  return object_with("{}", members);
}

void eval_all(seq_actor* self, std::vector<std::string> exprs, std::string scope,
              std::function<void(std::vector<std::string>&)> k) {
  auto& st = self->state;
  auto op = ++st.op;
  st.on_eval = std::move(k);
  struct gather {
    std::vector<expr::outcome> out;
    std::atomic<size_t> left;
    explicit gather(size_t n) : out(n), left(n) {}
  };
  auto g = std::make_shared<gather>(exprs.size());
  caf::actor_addr addr = self->address();
  for (size_t idx = 0; idx < exprs.size(); ++idx) {
    st.ctx->eval->evaluate(exprs[idx], scope, [g, idx, addr, op](expr::outcome o) {
      g->out[idx] = std::move(o);
      if (g->left.fetch_sub(1, std::memory_order_acq_rel) != 1)
        return;
      auto h = caf::actor_cast<caf::actor>(addr);
      if (!h)
        return;
      std::vector<std::string> values;
      for (auto& x : g->out) {
        if (!x.ok) {
          caf::anon_send(h, eval_atom_v, op, false, x.error);
          return;
        }
        values.push_back(x.value_json);
      }
      caf::anon_send(h, eval_atom_v, op, true, array_of(values));
    });
  }
}

void report(seq_actor* self) {
  auto& st = self->state;
  if ((!st.in.top_level && !st.in.single) || st.i >= st.in.modules->size())
    return;
  auto& m = current(self);
  auto& c = st.cur;
  std::vector<std::pair<std::string, std::string>> e{
    {"id", quote(m.id)}, {"type", quote(c.status)}, {"module_type", quote(flow::to_string(m.type))}};
  if (!c.job_id.empty())
    e.emplace_back("job", quote(c.job_id));
  if (!c.failed_jobs.empty()) {
    std::vector<std::string> ids;
    for (auto& j : c.failed_jobs)
      ids.push_back(quote(j));
    e.emplace_back("failed_retries", array_of(ids));
  }
  if (!c.items.empty() || m.type == module_type::whileloopflow)
    e.emplace_back("iterator", "{\"index\":" + std::to_string(c.finished) + ",\"len\":"
                                 + std::to_string(c.items.size()) + "}");
  if (!c.branch_chosen.empty())
    e.emplace_back("branch_chosen", c.branch_chosen);
  if (c.skipped)
    e.emplace_back("skipped", "true");
  if (c.cached)
    e.emplace_back("cached", "true");
  if (c.status == "WaitingForEvents")
    e.emplace_back("suspend", "{\"required_events\":" + std::to_string(c.required_events) + "}");
  if (!c.approvers.empty())
    e.emplace_back("approvers", array_of(c.approvers));
  if (c.status == "Success" || c.status == "Failure")
    e.emplace_back("result", c.result.empty() ? "null" : c.result);
  auto index = st.in.single ? single_module : static_cast<uint64_t>(st.i);
  caf::anon_send(st.ctx->run, progress_atom_v, index, object_with("{}", e));
}

void module_done(seq_actor* self, std::string result) {
  auto& st = self->state;
  auto& m = current(self);
  if (st.cur.status != "Failure")
    st.cur.status = "Success";
  st.cur.result = result;
  report(self);
  st.results.emplace_back(m.id, result);
  st.previous = std::move(result);
  ++st.i;
  start_module(self);
}

void module_failed(seq_actor* self, std::string error) {
  auto& st = self->state;
  auto& m = current(self);
  st.cur.status = "Failure";
  if (m.continue_on_error)
    return module_done(self, std::move(error));
  st.cur.result = error;
  report(self);
  finish(self, outcome::failure, std::move(error), m.id);
}

void finish(seq_actor* self, const char* how, std::string result, std::string failed_step) {
  auto& st = self->state;
  if (st.finished)
    return;
  st.finished = true;
  stop_children(self);
  self->send(st.parent, flowdone_atom_v, st.token, std::string{how}, std::move(result),
             std::move(failed_step));
  self->quit();
}

void sleep_then(seq_actor* self, double seconds, std::function<void()> k) {
  auto& st = self->state;
  auto op = ++st.op;
  st.on_wake = std::move(k);
  auto d = std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>{seconds});
  self->delayed_send(self, d, wake_atom_v, op);
}

caf::actor spawn_sequence(caf::local_actor* parent, std::shared_ptr<run_context> ctx,
                          seq_input in, uint64_t token) {
  // Linked: a parent that stops (a failed loop, a canceled flow) takes its
  // children with it, and they cancel the step jobs they wait for.
  auto p = caf::actor_cast<caf::actor>(parent);
  return parent->spawn<caf::linked>(sequence, std::move(ctx), std::move(in), p, token);
}

} // namespace millrace::actors::flow_engine
