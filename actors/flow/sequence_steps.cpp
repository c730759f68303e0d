// Leaf steps of a sequence (rawscript, script, flow, identity): resolve what
// to run, submit the step job to the dispatcher (parent and root job set),
// wait for its end, then stop_after_if, retries (constant, then exponential,
// with retry_if) and continue_on_error.

#include <random>

#include "actors/flow/detail/json_util.hpp"
#include "actors/flow/detail/sequence_state.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/system/registry.hpp"
#include "runtime/flow/parse.hpp"
#include "runtime/flow/retry.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors::flow_engine {

namespace {

using flow::module_type;

dispatcher_actor dispatcher_of(seq_actor* self) {
  return self->state.ctx->reg->resolve_as<dispatcher_actor>(paths::dispatcher);
}

bool stale(seq_actor* self, uint64_t op) {
  return self->state.op != op || self->state.finished;
}

void after_success(seq_actor* self, std::string result);

void submit(seq_actor* self, job_spec spec) {
  auto d = dispatcher_of(self);
  if (!d)
    return module_failed(self, runtime::error_json("Unavailable", "the dispatcher is not running"));
  auto op = ++self->state.op;
  auto id = spec.id;
  self->request(d, std::chrono::minutes{1}, submit_atom_v, std::move(spec))
    .then(
      [self, op](submit_reply& r) {
        if (stale(self, op))
          return;
        wait_for_job(self, r.job_id);
      },
      [self, op, id](caf::error& e) {
        if (stale(self, op))
          return;
        if (e == caf::make_error(dispatch_errc::id_taken))
          return wait_for_job(self, id); // submitted by a lost attempt
        module_failed(self, runtime::error_json("SubmitError", "module '" + current(self).id
                                                                 + "': the step job was not "
                                                                   "submitted: "
                                                                 + describe(e)));
      });
}

// cache_ttl: a result of the same step (kind, language, version, code,
// args) kept within its ttl is the step's result, and no job runs.
void submit_or_cached(seq_actor* self, job_spec spec) {
  if (current(self).cache_ttl <= 0)
    return submit(self, std::move(spec));
  auto reader = self->state.ctx->reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  if (!reader)
    return submit(self, std::move(spec));
  auto key = std::string{"step\n"} + spec.kind + "\n" + spec.language + "\n" + spec.script_hash
             + "\n" + spec.script_path + "\n" + spec.code + "\n" + spec.args;
  auto op = ++self->state.op;
  self->request(reader, std::chrono::seconds{30}, read_atom_v,
                storage::read_request{"cache_get", {spec.workspace, key}})
    .then(
      [self, op, spec, key](storage::result_set& rs) mutable {
        if (stale(self, op))
          return;
        if (!rs.empty()) {
          self->state.cur.cached = true;
          return after_success(self, rs.rows[0][0].text);
        }
        self->state.cur.cache_key = key;
        submit(self, std::move(spec));
      },
      [self, op, spec](caf::error&) mutable {
        if (stale(self, op))
          return;
        submit(self, std::move(spec)); // no cache: run it
      });
}

// Reads a script or a subflow definition, then submits.
void resolve_and_submit(seq_actor* self, job_spec spec, storage::read_request req) {
  auto reader = self->state.ctx->reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  if (!reader)
    return module_failed(self, runtime::error_json("Unavailable", "storage is not running"));
  auto op = ++self->state.op;
  self->request(reader, std::chrono::seconds{30}, read_atom_v, std::move(req))
    .then(
      [self, op, spec](storage::result_set& rs) mutable {
        if (stale(self, op))
          return;
        auto& m = current(self);
        if (rs.empty() || (rs.column("archived") >= 0 && rs.rows[0][rs.column("archived")].text == "t"
                           && m.hash.empty()))
          return module_failed(self, runtime::error_json(
                                       "NotFound", "module '" + m.id + "': "
                                                     + (m.type == module_type::flow ? "flow '"
                                                                                   : "script '")
                                                     + (m.hash.empty() ? m.path : m.hash)
                                                     + "' does not exist"));
        auto& row = rs.rows[0];
        if (m.type == module_type::flow) {
          // A sub-flow takes its inputs from the step: no preprocessor.
          spec.code = flow::without_preprocessor(row[rs.column("value")].text);
        } else {
          spec.code = row[rs.column("content")].text;
          spec.language = row[rs.column("language")].text;
          spec.script_hash = row[rs.column("hash")].text;
          spec.script_path = row[rs.column("path")].text;
        }
        submit_or_cached(self, std::move(spec));
      },
      [self, op](caf::error& e) {
        if (stale(self, op))
          return;
        module_failed(self, runtime::error_json("StorageError", describe(e)));
      });
}

// The step's result counts now, or after its approvals (`suspend`).
void succeeded(seq_actor* self, std::string result) {
  if (current(self).suspend)
    return start_suspend(self, std::move(result));
  module_done(self, std::move(result));
}

void after_success(seq_actor* self, std::string result) {
  auto& m = current(self);
  if (!m.stop_after_if)
    return succeeded(self, std::move(result));
  auto scope = scope_json(self, {{"result", result}});
  eval_all(self, {m.stop_after_if->expr}, std::move(scope),
           [self, result](std::vector<std::string>& v) {
             auto& mod = current(self);
             if (v.empty() || !truthy(v[0]))
               return succeeded(self, result);
             auto& st = self->state;
             st.cur.status = "Success";
             st.cur.result = result;
             report(self);
             auto cond = *mod.stop_after_if;
             if (!cond.error_message.empty())
               return finish(self, outcome::failure,
                             runtime::error_json("StopAfterIf", cond.error_message), mod.id);
             finish(self, outcome::stopped, result, mod.id);
           });
}

void retry_later(seq_actor* self) {
  auto& st = self->state;
  auto& r = *current(self).retry;
  st.cur.failed_jobs.push_back(st.cur.job_id);
  st.cur.job_id.clear();
  int n = ++st.cur.retries;
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  auto delay = flow::retry_delay_s(r, n, u(rng));
  st.cur.status = "WaitingForExecutor";
  report(self);
  auto& m = current(self);
  wait_timer(self, st.in.logical + "/" + m.id + "#retry-" + std::to_string(n),
             "retry " + std::to_string(n) + " of step " + m.id, delay, [self] { run_leaf(self); });
}

void after_failure(seq_actor* self, std::string error) {
  auto& st = self->state;
  auto& m = current(self);
  if (!m.retry || !flow::may_retry(*m.retry, st.cur.retries))
    return module_failed(self, std::move(error));
  if (m.retry->retry_if.empty())
    return retry_later(self);
  auto scope = scope_json(self, {{"result", error}});
  eval_all(self, {m.retry->retry_if}, std::move(scope), [self, error](std::vector<std::string>& v) {
    if (!v.empty() && truthy(v[0]))
      return retry_later(self);
    module_failed(self, error);
  });
}

void submit_leaf(seq_actor* self);

// A step of an iteration or branch a restart keeps: its job in the flow it
// is kept from counts only if it succeeded. A failed try that the step's
// retry allows again is followed to the next one (as the kept flow did);
// otherwise (or if it never ran) this sequence goes on with the run's own
// step job ids and runs the step again.
void check_kept(seq_actor* self) {
  auto& st = self->state;
  auto reader = st.ctx->reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  auto op = ++st.op;
  if (!reader)
    return sleep_then(self, 0.5, [self] { check_kept(self); });
  auto id = step_job_of(self, st.cur.retries);
  self->request(reader, std::chrono::seconds{30}, read_atom_v,
                storage::read_request{"job_status", {id}})
    .then(
      [self, op, id](storage::result_set& rs) {
        if (stale(self, op))
          return;
        auto& s = self->state;
        auto& mod = current(self);
        bool ours = !rs.empty() && rs.column("state") >= 0 && rs.column("workspace_id") >= 0
                    && rs.rows[0][rs.column("workspace_id")].text == s.ctx->workspace;
        auto state = ours ? rs.rows[0][rs.column("state")].text : std::string{};
        if (state == job_status::success)
          return submit_leaf(self);
        bool ended = state == job_status::failure || state == job_status::timed_out;
        if (ended && mod.retry && flow::may_retry(*mod.retry, s.cur.retries)) {
          s.cur.failed_jobs.push_back(id);
          ++s.cur.retries;
          return check_kept(self);
        }
        s.in.id_base.clear();
        submit_leaf(self);
      },
      [self, op](caf::error&) {
        if (stale(self, op))
          return;
        sleep_then(self, 0.5, [self] { check_kept(self); });
      });
}

} // namespace

void run_leaf(seq_actor* self) {
  auto& st = self->state;
  auto& m = current(self);
  if (m.type == module_type::identity)
    return after_success(self, st.previous);
  if (!st.in.id_base.empty())
    return check_kept(self);
  submit_leaf(self);
}

namespace {

void submit_leaf(seq_actor* self) {
  auto& st = self->state;
  auto& m = current(self);
  auto& ctx = *st.ctx;
  job_spec spec;
  spec.workspace = ctx.workspace;
  spec.parent_job = ctx.flow_job_id;
  spec.root_job = ctx.root_job_id;
  spec.created_by = ctx.created_by;
  spec.args = st.cur.args;
  spec.timeout_s = st.cur.timeout_s;
  spec.tag = m.tag;
  spec.priority = m.priority.value_or(ctx.priority);
  // The same step of the same flow always has the same job id: a resumed
  // attempt that submits it again finds the lost attempt's job (id_taken)
  // and waits for it instead of running the step twice.
  // (A restart from an iteration or branch: those before are the restarted
  // flow's, found the same way.)
  spec.id = step_job_of(self, st.cur.retries);
  spec.id_is_new = ctx.attempt <= 1 && st.in.id_base.empty();
  if (m.type == module_type::rawscript || m.type == module_type::script)
    spec.node = ctx.worker_node; // same_worker
  switch (m.type) {
    case module_type::rawscript:
      spec.kind = job_kind::preview;
      spec.code = m.content;
      spec.language = m.language;
      spec.script_path = m.path;
      return submit_or_cached(self, std::move(spec));
    case module_type::script:
      spec.kind = job_kind::script;
      if (!m.hash.empty())
        return resolve_and_submit(self, std::move(spec),
                                  storage::read_request{"script_by_hash", {ctx.workspace, m.hash}});
      return resolve_and_submit(self, std::move(spec),
                                storage::read_request{"script_by_path", {ctx.workspace, m.path}});
    case module_type::flow:
      spec.kind = job_kind::flow;
      spec.script_path = m.path;
      return resolve_and_submit(self, std::move(spec),
                                storage::read_request{"flow_by_path", {ctx.workspace, m.path}});
    default:
      return module_failed(self, runtime::error_json("InternalError", "not a step module"));
  }
}

} // namespace

void wait_for_job(seq_actor* self, std::string job_id) {
  auto& st = self->state;
  auto d = dispatcher_of(self);
  st.cur.job_id = job_id;
  st.cur.status = "InProgress";
  report(self);
  auto op = ++st.op;
  if (!d) {
    // The dispatcher restarts: ask again shortly (the job itself is durable).
    return sleep_then(self, 0.5, [self, job_id] { wait_for_job(self, job_id); });
  }
  self->request(d, caf::infinite, wait_atom_v, job_id)
    .then(
      [self, op](job_result& r) {
        if (stale(self, op))
          return;
        if (r.status == job_status::success) {
          auto& cur = self->state.cur;
          if (!cur.cache_key.empty())
            if (auto w = self->state.ctx->reg->resolve_as<storage_writer_actor>(paths::storage_writer))
              caf::anon_send(w, write_atom_v,
                             storage::write_request{"cache_put",
                                                    {self->state.ctx->workspace, cur.cache_key,
                                                     r.result,
                                                     std::to_string(current(self).cache_ttl)},
                                                    self->state.ctx->flow_job_id});
          return after_success(self, std::move(r.result));
        }
        after_failure(self, std::move(r.result));
      },
      [self, op, job_id](caf::error& e) {
        if (stale(self, op))
          return;
        if (e == caf::make_error(dispatch_errc::not_found))
          return module_failed(self, runtime::error_json("NotFound", "step job " + job_id
                                                                       + " is unknown: "
                                                                       + describe(e)));
        sleep_then(self, 0.5, [self, job_id] { wait_for_job(self, job_id); });
      });
}

void cancel_current_job(seq_actor* self) {
  auto& st = self->state;
  if (st.ctx->abandoned || st.cur.job_id.empty() || st.cur.status != "InProgress")
    return;
  if (auto d = dispatcher_of(self))
    caf::anon_send(d, cancel_atom_v, st.cur.job_id, std::string{"flow"},
                   std::string{"the flow run stopped this step"});
}

} // namespace millrace::actors::flow_engine
