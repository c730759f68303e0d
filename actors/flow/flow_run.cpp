// One flow run (one attempt of a flow job): parses the pinned definition,
// runs its preprocessor (preprocessor.cpp), resumes from the last recorded
// status, runs the top-level sequence, the failure module if it fails,
// records the FlowStatus at every transition (fenced on the attempt) and
// reports the outcome to the dispatcher with the
// final status, which the dispatcher records in the completing write.

#include "actors/flow/flow_run.hpp"

#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/flow/detail/context.hpp"
#include "actors/flow/detail/json_util.hpp"
#include "actors/flow/detail/run_state.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/system/status.hpp"
#include "runtime/expr/evaluator.hpp"
#include "runtime/flow/parse.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors {

namespace flow_engine {

namespace {

std::string status_doc(run_actor* self) {
  auto& st = self->state;
  size_t step = 0;
  for (auto& e : st.entries)
    if (auto t = member(e, "type"); t && (*t == "\"Success\"" || *t == "\"Failure\""))
      ++step;
  std::vector<std::pair<std::string, std::string>> doc{
    {"step", std::to_string(step)}, {"modules", array_of(st.entries)}};
  if (!st.failure_entry.empty())
    doc.emplace_back("failure_module", st.failure_entry);
  if (!st.preprocessor_entry.empty())
    doc.emplace_back("preprocessor_module", st.preprocessor_entry);
  if (st.cached)
    doc.emplace_back("cached", "true");
  if (st.skipped)
    doc.emplace_back("skipped", "true");
  if (!st.ctx->worker_node.empty())
    doc.emplace_back("worker_node", quote(st.ctx->worker_node));
  return object_with("{}", doc);
}

void report_outcome(run_actor* self) {
  auto& st = self->state;
  if (st.reported)
    return;
  st.reported = true;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                  - st.started)
              .count();
  // The final status travels with the outcome: the dispatcher records it in
  // the completing write (one commit less at the end of every flow).
  job_outcome out{st.a.job_id, st.a.attempt, st.a.lease_owner, st.final_status, st.final_result,
                  ms, status_doc(self)};
  // Its timers' deadlines are of no use once the flow ended (retention
  // drops any this misses).
  if (st.ctx->used_timers)
    if (auto w = st.ctx->reg->resolve_as<storage_writer_actor>(paths::storage_writer))
      caf::anon_send(w, write_atom_v,
                     storage::write_request{"flow_timers_drop", {st.a.job_id}, st.a.job_id});
  if (auto d = st.ctx->reg->resolve_as<dispatcher_actor>(paths::dispatcher)) {
    self->send(d, done_atom_v, std::move(out));
    // same_worker: the node removes the flow's shared folder.
    if (!st.ctx->worker_node.empty())
      self->send(d, unpin_atom_v, st.ctx->worker_node, st.a.job_id, st.a.attempt);
  } else
    st.log->error("flow {}: no dispatcher to report to", st.a.job_id);
  self->quit();
}

} // namespace

// Writes the status; while a write is in flight, later transitions wait and
// go out together. (The final status goes with the outcome instead.)
void persist(run_actor* self) {
  auto& st = self->state;
  if (st.writing) {
    st.dirty = true;
    return;
  }
  auto writer = st.ctx->reg->resolve_as<storage_writer_actor>(paths::storage_writer);
  if (!writer)
    return; // the next transition tries again
  st.writing = true;
  st.dirty = false;
  storage::write_request req{"set_flow_status",
                             {st.a.job_id, std::to_string(st.a.attempt), st.a.lease_owner,
                              status_doc(self)},
                             st.a.job_id};
  self->request(writer, std::chrono::minutes{1}, write_atom_v, std::move(req))
    .then(
      [self](storage::result_set& rs) {
        auto& s = self->state;
        s.writing = false;
        if (rs.empty()) {
          // Fenced: another attempt owns this flow now. Leave its step jobs
          // alone (it waits for them) and stop without a report.
          s.log->warn("flow {} attempt {}: status write fenced; this attempt stops",
                      s.a.job_id, s.a.attempt);
          s.ctx->abandoned = true;
          s.reported = true;
          if (s.seq)
            self->send_exit(s.seq, caf::exit_reason::user_shutdown);
          return self->quit();
        }
        if (s.dirty)
          persist(self);
      },
      [self](caf::error& e) {
        auto& s = self->state;
        s.writing = false;
        s.log->warn("flow {}: status not recorded: {}", s.a.job_id, describe(e));
        if (s.dirty)
          persist(self);
      });
}

void finish_run(run_actor* self, std::string status, std::string result) {
  auto& st = self->state;
  auto ttl = st.ctx->def ? st.ctx->def->value.cache_ttl : 0;
  if (status == job_status::success && ttl > 0 && !st.cached)
    if (auto w = st.ctx->reg->resolve_as<storage_writer_actor>(paths::storage_writer))
      caf::anon_send(w, write_atom_v,
                     storage::write_request{"cache_put",
                                            {st.a.workspace, cache_key(self), result,
                                             std::to_string(ttl)},
                                            st.a.job_id});
  st.finishing = true;
  st.final_status = std::move(status);
  st.final_result = std::move(result);
  // Status writes still in flight are in the writer's mailbox before the
  // completion the dispatcher sends for this report: same key, so they are
  // applied first, and the completion's final status wins.
  report_outcome(self);
}

namespace {

// Ends the run now (canceled, timed out): its sequences stop and cancel the
// step jobs they wait for; no more steps, no failure module.
void stop_run(run_actor* self, const char* status, std::string result) {
  auto& s = self->state;
  if (s.finishing)
    return;
  if (s.seq) {
    self->unlink_from(s.seq);
    self->send_exit(s.seq, caf::exit_reason::user_shutdown);
    s.seq = nullptr;
  }
  finish_run(self, status, std::move(result));
}

} // namespace

void start_sequence(run_actor* self, seq_input in) {
  auto& st = self->state;
  st.seq_token++;
  st.seq = spawn_sequence(self, st.ctx, std::move(in), st.seq_token);
  st.sequences.insert(st.seq.address());
}

void main_done(run_actor* self, const std::string& how, std::string result,
               const std::string& failed_step) {
  auto& st = self->state;
  if (how != outcome::failure)
    return finish_run(self, job_status::success, std::move(result));
  auto& def = *st.ctx->def;
  if (!def.value.failure_module)
    return finish_run(self, job_status::failure, std::move(result));
  // The failure module runs once, with the error (and the failed step's id)
  // as its previous_result.
  st.in_failure_module = true;
  st.error = result;
  st.failed_step = failed_step;
  st.ctx->failure_modules = {*def.value.failure_module};
  seq_input in;
  in.modules = &st.ctx->failure_modules;
  in.flow_input = st.a.args;
  in.previous_result = object_with(is_object(result) ? result : "{}",
                                   {{"step_id", quote(failed_step)}});
  if (!is_object(result))
    in.previous_result = object_with(in.previous_result, {{"error", result}});
  in.path = st.ctx->path + "/failure";
  in.logical = "/failure";
  in.label = "failure module";
  in.single = true;
  st.failure_entry = "{\"id\":" + quote(def.value.failure_module->id)
                     + ",\"type\":\"InProgress\",\"parent_module\":" + quote(failed_step) + "}";
  persist(self);
  start_sequence(self, std::move(in));
}

namespace {

void failure_done(run_actor* self, const std::string& how, std::string result) {
  auto& st = self->state;
  st.failure_entry = object_with(st.failure_entry,
                                 {{"type", how == outcome::failure ? "\"Failure\"" : "\"Success\""},
                                  {"result", result}});
  finish_run(self, job_status::failure, std::move(result));
}

// The preprocessor's or the failure module's status changed (its job, its
// retries): recorded like a top-level module's. A resumed attempt records
// nothing while its preprocessor runs (see preprocessor.cpp).
void single_module_progress(run_actor* self, std::string entry) {
  auto& st = self->state;
  if (st.in_failure_module) {
    st.failure_entry = object_with(entry, {{"parent_module", quote(st.failed_step)}});
    persist(self);
  } else if (st.in_preprocessor) {
    st.preprocessor_entry = std::move(entry);
    if (st.a.attempt <= 1)
      persist(self);
  }
}

} // namespace

} // namespace flow_engine

namespace {

using namespace flow_engine;

caf::behavior flow_run(run_actor* self, job_assignment a, std::shared_ptr<registry> reg,
                       std::shared_ptr<expr::evaluator> eval, std::string path) {
  auto& st = self->state;
  st.a = std::move(a);
  st.log = logger_for(paths::flows);
  st.started = std::chrono::steady_clock::now();
  st.ctx = std::make_shared<run_context>();
  auto& ctx = *st.ctx;
  ctx.workspace = st.a.workspace;
  ctx.flow_job_id = st.a.job_id;
  ctx.root_job_id = st.a.root_job.empty() ? st.a.job_id : st.a.root_job;
  ctx.created_by = st.a.created_by;
  ctx.attempt = st.a.attempt;
  ctx.reg = reg;
  ctx.eval = std::move(eval);
  ctx.run = caf::actor_cast<caf::actor>(self);
  ctx.path = path;
  reg->put(actor_entry{path, "flow_run", parent_path(path), caf::actor_cast<caf::actor>(self),
                       std::chrono::system_clock::now(), 0});
  self->attach_functor([reg, path, addr = self->address()] { reg->remove(path, addr); });
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& s = self->state;
    bool from_sequence = em.source == s.seq || s.sequences.count(em.source) > 0;
    if (!from_sequence)
      return self->quit(em.reason); // someone stops the run itself
    // A sequence ends normally after its flowdone answer.
    if (em.reason == caf::exit_reason::normal || em.source != s.seq || s.finishing)
      return;
    // The current sequence died without an answer (a bug): fail the run.
    s.seq = nullptr;
    finish_run(self, job_status::failure,
               runtime::error_json("FlowEngineError",
                                   "the flow's sequence stopped: " + describe(em.reason)));
  });
  auto parsed = flow::parse_flow_value(st.a.code);
  if (!parsed.flow) {
    std::string msg;
    for (auto& e : parsed.errors)
      msg += (msg.empty() ? "" : "; ") + flow::to_string(e);
    self->send(self, wake_atom_v, uint64_t{1});
    st.final_result = runtime::error_json("InvalidFlow", "the flow definition is invalid: " + msg);
  } else {
    ctx.priority = st.a.priority; // the API made the flow's own priority the job's
    ctx.def = std::make_shared<flow::open_flow>(std::move(*parsed.flow));
    self->send(self, wake_atom_v, uint64_t{0});
  }
  if (st.a.timeout_s > 0)
    self->delayed_send(self, std::chrono::seconds{st.a.timeout_s}, timeout_atom_v);
  return {
    [self](wake_atom, uint64_t what) {
      if (what == 1)
        return finish_run(self, job_status::failure, self->state.final_result);
      begin_run(self);
    },
    [self](eval_atom, uint64_t, bool ok, std::string& value) { skip_decided(self, ok, value); },
    [self](progress_atom, uint64_t index, std::string& entry) {
      auto& s = self->state;
      if (index == single_module)
        return single_module_progress(self, std::move(entry));
      if (index >= s.entries.size())
        return;
      // early_return: sync callers get that step's result now; the rest
      // runs on.
      auto& early = s.ctx->def->value.early_return;
      if (!early.empty() && !s.early_sent && !s.in_failure_module
          && s.ctx->def->value.modules[index].id == early
          && member(entry, "type").value_or("") == "\"Success\"")
        if (auto d = s.ctx->reg->resolve_as<dispatcher_actor>(paths::dispatcher)) {
          s.early_sent = true;
          self->send(d, progress_atom_v, s.a.job_id, member(entry, "result").value_or("null"));
        }
      s.entries[index] = std::move(entry);
      persist(self);
    },
    [self](flowdone_atom, uint64_t tok, std::string& how, std::string& result,
           std::string& failed_step) {
      auto& s = self->state;
      if (tok != s.seq_token)
        return;
      s.seq = nullptr;
      if (s.in_failure_module)
        return failure_done(self, how, std::move(result));
      if (s.in_preprocessor)
        return preprocessor_done(self, how, std::move(result), failed_step);
      main_done(self, how, std::move(result), failed_step);
    },
    [self](cancel_atom) {
      stop_run(self, job_status::canceled, runtime::error_json("Canceled", "the flow was canceled"));
    },
    [self](timeout_atom) {
      // The flow job's own timeout (?timeout= on the run), counted from this
      // attempt's start: its steps are canceled and it ends timed_out.
      auto secs = std::to_string(self->state.a.timeout_s);
      stop_run(self, job_status::timed_out,
               runtime::error_json("Timeout", "the flow ran longer than its timeout of " + secs
                                                + " s; its running steps were canceled"));
    },
    [self](abort_atom) {
      auto& s = self->state;
      s.ctx->abandoned = true;
      s.reported = true;
      if (s.seq)
        self->send_exit(s.seq, caf::exit_reason::user_shutdown);
      self->quit(caf::exit_reason::user_shutdown);
    },
    [self](status_atom) {
      auto& s = self->state;
      std::string summary = "flow " + s.a.job_id + " (" + s.a.script_path + "), attempt "
                            + std::to_string(s.a.attempt);
      if (s.finishing)
        summary += ": recording the outcome (" + s.final_status + ")";
      else if (s.in_failure_module)
        summary += ": running the failure module";
      else if (s.in_preprocessor)
        summary += ": running the preprocessor";
      return make_status(self, std::move(summary));
    },
  };
}

} // namespace

std::string parent_path(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? std::string{"/"} : path.substr(0, slash);
}

caf::actor spawn_flow_run(caf::local_actor* slot, job_assignment a, std::shared_ptr<registry> reg,
                          std::shared_ptr<expr::evaluator> eval, std::string path) {
  return slot->spawn(flow_run, std::move(a), std::move(reg), std::move(eval), std::move(path));
}

} // namespace millrace::actors
