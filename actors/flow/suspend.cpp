// Approval steps (`suspend`): after the step's job succeeded, a waiter actor
// holds the flow until the step has `required_events` approvals, a cancel
// event, or its timeout.
//
// The waiter registers at /millrace/flows/suspended/<step job id>. The API
// records each resume or cancel event (flow_resume, committed) and then hands
// it to the waiter there. The waiter starts by recording the wait
// (flow_suspend_start fixes the deadline once, on the database clock) and
// reading the events recorded so far, so a run resumed after a crash counts
// the approvals given before it and keeps the original deadline. Events are
// counted once per resume_id.

#include <map>

#include <spdlog/spdlog.h>

#include "actors/flow/detail/json_util.hpp"
#include "actors/flow/detail/pool.hpp"
#include "actors/flow/detail/sequence_state.hpp"
#include "actors/flow/flow_run.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors::flow_engine {

namespace {

struct resume_event {
  std::string approver;
  std::string payload;
  bool cancel = false;
};

struct waiter_state {
  static inline const char* name = "flow_suspend";
  std::shared_ptr<run_context> ctx;
  caf::actor seq;
  uint64_t op = 0;
  std::string step_job;
  std::string module_id;
  int required = 1;
  std::vector<std::string> order; // resume ids, in arrival order
  std::map<std::string, resume_event> events;
  bool ready = false;
  bool ended = false;
  std::chrono::steady_clock::time_point deadline;
};

using waiter_actor = caf::stateful_actor<waiter_state>;

void add_event(waiter_actor* self, const std::string& id, resume_event ev) {
  auto& st = self->state;
  if (st.events.count(id))
    return;
  st.events.emplace(id, std::move(ev));
  st.order.push_back(id);
}

// [{resume_id, approver, approved}] and the payloads of the approvals (and
// of the cancel, if any, last).
std::pair<std::string, std::string> summary_json(waiter_actor* self) {
  auto& st = self->state;
  std::vector<std::string> who, payloads;
  const resume_event* cancel = nullptr;
  for (auto& id : st.order) {
    auto& ev = st.events[id];
    who.push_back("{\"resume_id\":" + id + ",\"approver\":" + quote(ev.approver)
                  + ",\"approved\":" + (ev.cancel ? "false" : "true") + "}");
    if (ev.cancel)
      cancel = cancel ? cancel : &ev;
    else
      payloads.push_back(ev.payload);
  }
  if (cancel)
    payloads.push_back(cancel->payload);
  return {array_of(who), array_of(payloads)};
}

void end(waiter_actor* self, const char* how) {
  auto& st = self->state;
  if (st.ended)
    return;
  st.ended = true;
  // The resolution only informs the API (late events get a clear 409); a
  // run resumed before it commits reaches the same answer from the events.
  if (auto w = st.ctx->reg->resolve_as<storage_writer_actor>(paths::storage_writer))
    caf::anon_send(w, write_atom_v,
                   storage::write_request{"flow_suspend_end", {st.step_job, how}, st.step_job});
  auto [who, payloads] = summary_json(self);
  self->send(st.seq, suspend_atom_v, st.op, std::string{how}, std::move(payloads), std::move(who));
  self->quit();
}

void evaluate(waiter_actor* self) {
  auto& st = self->state;
  if (!st.ready || st.ended)
    return;
  int approvals = 0;
  for (auto& [id, ev] : st.events) {
    if (ev.cancel)
      return end(self, "canceled");
    ++approvals;
  }
  if (approvals >= st.required)
    return end(self, "resumed");
  auto [who, payloads] = summary_json(self);
  self->send(st.seq, suspend_atom_v, st.op, std::string{"progress"}, std::move(payloads),
             std::move(who));
}

void read_events(waiter_actor* self, int64_t left_ms) {
  auto& st = self->state;
  auto reader = st.ctx->reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  auto on_events = [self, left_ms] {
    auto& s = self->state;
    s.ready = true;
    s.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{left_ms};
    evaluate(self);
    if (s.ended)
      return;
    if (left_ms <= 0)
      return end(self, "timed_out");
    self->delayed_send(self, std::chrono::milliseconds{left_ms}, timeout_atom_v);
  };
  if (!reader) {
    logger_for(paths::flows)->warn("flow {}: step {}: storage is not running; approvals given "
                                   "before now are not counted",
                                   st.ctx->flow_job_id, st.module_id);
    return on_events();
  }
  self->request(reader, std::chrono::seconds{30}, read_atom_v,
                storage::read_request{"flow_resumes_of", {st.step_job}})
    .then(
      [self, on_events](storage::result_set& rs) {
        for (auto& row : rs.rows)
          add_event(self, row[rs.column("resume_id")].text,
                    resume_event{row[rs.column("approver")].text, row[rs.column("payload")].text,
                                 row[rs.column("is_cancel")].text == "t"});
        on_events();
      },
      [self, on_events](caf::error& e) {
        logger_for(paths::flows)->warn("flow {}: step {}: recorded approvals not read ({})",
                                       self->state.ctx->flow_job_id, self->state.module_id,
                                       describe(e));
        on_events();
      });
}

caf::behavior waiter(waiter_actor* self, std::shared_ptr<run_context> ctx, caf::actor seq,
                     uint64_t op, std::string step_job, const flow::flow_module* m,
                     std::string parent) {
  auto& st = self->state;
  st.ctx = ctx;
  st.seq = std::move(seq);
  st.op = op;
  st.step_job = step_job;
  st.module_id = m->id;
  st.required = std::max(1, m->suspend->required_events);
  auto timeout_s = m->suspend->timeout_s > 0 ? m->suspend->timeout_s : default_suspend_timeout_s;
  auto reg = ctx->reg;
  auto path = std::string{paths::suspended_steps} + "/" + step_job;
  reg->put(actor_entry{path, "flow_suspend", parent, caf::actor_cast<caf::actor>(self),
                       std::chrono::system_clock::now(), 0});
  self->attach_functor([reg, path, addr = self->address()] { reg->remove(path, addr); });
  // Waiting for a person: the run's slot does not count against flows.slots.
  park_run(caf::actor_cast<caf::actor>(self), *reg);
  auto writer = reg->resolve_as<storage_writer_actor>(paths::storage_writer);
  if (!writer) {
    // Nobody could approve (the API records events through storage first).
    self->send(st.seq, suspend_atom_v, op, std::string{"error"},
               runtime::error_json("Unavailable", "module '" + m->id
                                                    + "': storage is not running, so no "
                                                      "approval can be recorded"),
               std::string{"[]"});
    self->quit();
  } else {
    storage::write_request req{"flow_suspend_start",
                               {step_job, ctx->flow_job_id, ctx->workspace, m->id,
                                std::to_string(st.required), std::to_string(timeout_s),
                                m->suspend->self_approval_disabled ? "true" : "false",
                                m->suspend->user_auth_required ? "true" : "false",
                                ctx->created_by},
                               step_job};
    self->request(writer, std::chrono::seconds{30}, write_atom_v, std::move(req))
      .then(
        [self](storage::result_set& rs) {
          auto left = rs.empty() ? int64_t{0}
                                 : std::atoll(rs.rows[0][rs.column("left_ms")].text.c_str());
          read_events(self, left);
        },
        [self](caf::error& e) {
          // Without the record no event can be taken: the wait cannot end
          // well, so the step fails now instead of hanging.
          auto& s = self->state;
          s.ended = true;
          self->send(s.seq, suspend_atom_v, s.op, std::string{"error"},
                     runtime::error_json("StorageError", "module '" + s.module_id
                                                           + "': the approval wait was not "
                                                             "recorded: "
                                                           + describe(e)),
                     std::string{"[]"});
          self->quit();
        });
  }
  return {
    [self](resume_atom, std::string& resume_id, std::string& approver, std::string& payload,
           bool cancel) {
      add_event(self, resume_id, resume_event{approver, payload, cancel});
      evaluate(self);
    },
    [self](timeout_atom) {
      if (!self->state.ready)
        return;
      evaluate(self);
      end(self, "timed_out");
    },
    [self](status_atom) {
      auto& s = self->state;
      int approvals = 0;
      for (auto& [id, ev] : s.events)
        approvals += ev.cancel ? 0 : 1;
      std::string summary = "step " + s.module_id + " (job " + s.step_job + ") waits for "
                            + std::to_string(s.required - approvals) + " more of "
                            + std::to_string(s.required) + " approvals";
      if (s.ready)
        summary += ", times out in "
                   + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                      s.deadline - std::chrono::steady_clock::now())
                                      .count())
                   + " s";
      return make_status(self, std::move(summary));
    },
  };
}

std::string names_of(const std::string& approvers_json) {
  std::vector<std::string> names;
  for (auto& a : array_elements(approvers_json).value_or(std::vector<std::string>{}))
    if (member(a, "approved").value_or("") == "true")
      names.push_back(member(a, "approver").value_or("null"));
  return array_of(names);
}

} // namespace

void start_suspend(seq_actor* self, std::string result) {
  auto& st = self->state;
  auto& m = current(self);
  // An identity step has no job: its place in the flow names the wait.
  auto step_job = st.cur.job_id.empty() ? step_job_of(self, 0) : st.cur.job_id;
  st.cur.job_id = step_job;
  st.cur.suspended_result = std::move(result);
  st.cur.required_events = std::max(1, m.suspend->required_events);
  st.cur.status = "WaitingForEvents";
  report(self);
  auto op = ++st.op;
  self->spawn<caf::linked>(waiter, st.ctx, caf::actor_cast<caf::actor>(self), op, step_job, &m,
                           st.in.path);
}

void suspend_event(seq_actor* self, uint64_t op, const std::string& how, std::string payloads,
                   std::string approvers) {
  auto& st = self->state;
  if (op != st.op || st.finished)
    return;
  auto& m = current(self);
  st.cur.approvers = array_elements(approvers).value_or(std::vector<std::string>{});
  if (how == "progress")
    return report(self);
  if (how == "error")
    return module_failed(self, std::move(payloads));
  auto result = st.cur.suspended_result;
  if (how == "resumed") {
    auto list = array_elements(payloads).value_or(std::vector<std::string>{});
    st.resume = list.empty() ? "null" : list.back();
    st.resumes = payloads;
    st.approvers = names_of(approvers);
    return module_done(self, std::move(result));
  }
  std::string canceller = "anonymous";
  for (auto& a : st.cur.approvers)
    if (member(a, "approved").value_or("") == "false")
      canceller = member(a, "approver").value_or("\"anonymous\"");
  if (canceller.size() >= 2 && canceller.front() == '"')
    canceller = canceller.substr(1, canceller.size() - 2);
  auto error = how == "canceled"
                 ? runtime::error_json("Disapproved", "module '" + m.id + "': canceled by "
                                                        + canceller)
                 : runtime::error_json("ApprovalTimeout",
                                       "module '" + m.id + "': "
                                         + std::to_string(st.cur.approvers.size()) + " of "
                                         + std::to_string(st.cur.required_events)
                                         + " approvals before the timeout");
  if (m.suspend->continue_on_disapprove_timeout) {
    // The flow goes on; later steps see the refusal as `resume`.
    st.resume = error;
    st.resumes = "[]";
    st.approvers = names_of(approvers);
    return module_done(self, std::move(result));
  }
  if (how == "timed_out")
    return module_failed(self, std::move(error));
  // Canceled: the whole flow ends canceled (no more steps, no failure
  // module, no retries), recorded as canceled by whoever canceled it.
  st.cur.status = "Failure";
  st.cur.result = error;
  report(self);
  auto ctx = st.ctx;
  auto d = ctx->reg->resolve_as<dispatcher_actor>(paths::dispatcher);
  auto reason = "canceled at approval step '" + m.id + "'";
  if (!d)
    return caf::anon_send(ctx->run, cancel_atom_v);
  self->request(d, std::chrono::seconds{30}, cancel_atom_v, ctx->flow_job_id, canceller, reason)
    .then([](cancel_reply&) {}, [ctx](caf::error&) { caf::anon_send(ctx->run, cancel_atom_v); });
}

} // namespace millrace::actors::flow_engine
