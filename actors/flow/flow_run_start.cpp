#include "actors/flow/detail/json_util.hpp"
#include "actors/flow/detail/run_state.hpp"
#include "actors/flow/detail/same_worker.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/system/registry.hpp"
#include "runtime/expr/evaluator.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors::flow_engine {

namespace {

// What a restarted flow carries (jobs/restart/f/...): the steps done before.
// A plain search first, so an ordinary flow start does not parse its whole
// definition again.
std::optional<std::string> restart_seed(const std::string& code) {
  if (code.find("\"restarted_from\"") == std::string::npos)
    return std::nullopt;
  return member(code, "restarted_from");
}

// Evaluates the flow's skip_expr with flow_input in scope; the answer comes
// back as eval_atom.
void check_skip(run_actor* self) {
  auto& st = self->state;
  auto scope = object_with("{}", {{"flow_input", st.a.args.empty() ? "{}" : st.a.args}});
  caf::actor_addr addr = self->address();
  st.ctx->eval->evaluate(st.ctx->def->value.skip_expr, std::move(scope), [addr](expr::outcome o) {
    if (auto h = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(h, eval_atom_v, uint64_t{0}, o.ok, o.ok ? o.value_json : o.error);
  });
}

// same_worker: finds the run's worker node, then starts the steps from
// `awaiting_node`. With no node serving the flow's tags, it asks again each
// second for a while (nodes may be joining: the wake comes back here), then
// fails the flow saying why.
void pin_run(run_actor* self) {
  constexpr int tries = 10;
  find_worker_node(self, self->state.ctx, [self](std::string node, std::string error) {
    auto& s = self->state;
    if (s.finishing)
      return;
    if (!node.empty()) {
      s.ctx->worker_node = std::move(node);
      s.log->debug("flow {}: same_worker, its steps run on node {}", s.a.job_id,
                   s.ctx->worker_node);
      auto recorded = std::move(*s.awaiting_node);
      s.awaiting_node.reset();
      start_main(self, recorded);
      return;
    }
    if (++s.pin_tries < tries) {
      self->delayed_send(self, std::chrono::seconds{1}, wake_atom_v, uint64_t{0});
      return;
    }
    finish_run(self, job_status::failure,
               runtime::error_json("NoWorkerNode", "same_worker: " + error));
  });
}

// Starts the steps from `recorded`; a same_worker flow with script steps
// gets its node first (not before: a cached or skipped flow needs none).
void start_steps(run_actor* self, std::string recorded) {
  auto& s = self->state;
  auto& v = s.ctx->def->value;
  if (v.same_worker && s.ctx->worker_node.empty() && has_script_steps(v)) {
    s.awaiting_node = std::move(recorded);
    return pin_run(self);
  }
  start_main(self, recorded);
}

void start_or_cached(run_actor* self, storage_reader_actor reader) {
  auto& st = self->state;
  self->request(reader, std::chrono::seconds{30}, read_atom_v,
                storage::read_request{"cache_get", {st.a.workspace, cache_key(self)}})
    .then(
      [self](storage::result_set& rs) {
        if (rs.empty())
          return start_steps(self, "{}");
        self->state.cached = true;
        finish_run(self, job_status::success, rs.rows[0][0].text);
      },
      [self](caf::error&) { start_steps(self, "{}"); });
}

} // namespace

// The flow's cache_ttl: a result of the same definition with the same args
// kept within the ttl is this run's result, and no step runs.
std::string cache_key(run_actor* self) {
  return "flow\n" + self->state.a.code + "\n" + self->state.a.args;
}

void begin_run(run_actor* self) {
  auto& s = self->state;
  // preprocessor_module: before anything else, its result is the input.
  if (s.ctx->def->value.preprocessor_module && !s.preprocessed) {
    if (!s.in_preprocessor)
      run_preprocessor(self);
    return;
  }
  // skip_expr: decided on the flow's input before anything runs (again
  // on a resumed attempt: the input is the same).
  if (!s.skip_checked && !s.ctx->def->value.skip_expr.empty())
    return check_skip(self);
  if (s.awaiting_node) // asking again for a same_worker node
    return pin_run(self);
  // A first attempt has no recorded status to resume from, unless it
  // restarts a finished flow from a step (jobs/restart/f/...): then the
  // steps before count as done with the results the definition carries.
  auto reader = s.ctx->reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  if (!reader || s.a.attempt <= 1) {
    auto seed = restart_seed(s.a.code);
    if (reader && !seed && s.ctx->def->value.cache_ttl > 0)
      return start_or_cached(self, reader);
    return start_steps(self, seed.value_or("{}"));
  }
  self->request(reader, std::chrono::seconds{30}, read_atom_v,
                storage::read_request{"flow_status_of", {s.a.job_id}})
    .then(
      [self](storage::result_set& rs) {
        auto rec = rs.empty() || rs.rows[0][0].null ? std::string{"{}"} : rs.rows[0][0].text;
        if (!member(rec, "modules")) // lost before its first status write
          rec = restart_seed(self->state.a.code).value_or("{}");
        start_steps(self, rec);
      },
      [self](caf::error& e) {
        self->state.log->warn("flow {}: no recorded status read ({}); starting over",
                              self->state.a.job_id, describe(e));
        start_steps(self, "{}");
      });
}

void skip_decided(run_actor* self, bool ok, const std::string& value) {
  auto& s = self->state;
  if (s.finishing || s.skip_checked)
    return;
  s.skip_checked = true;
  if (!ok)
    return finish_run(self, job_status::failure,
                      runtime::error_json("ExpressionError", "skip_expr: " + value));
  if (truthy(value)) {
    s.skipped = true;
    for (auto& m : s.ctx->def->value.modules)
      s.entries.push_back("{\"id\":" + quote(m.id) + ",\"type\":\"WaitingForPriorSteps\"}");
    s.log->info("flow {}: skip_expr `{}` holds; no module runs", s.a.job_id,
                s.ctx->def->value.skip_expr);
    return finish_run(self, job_status::success, "null");
  }
  self->send(self, wake_atom_v, uint64_t{0});
}

// Resume: the recorded status says which top-level modules finished, and
// with what result.
void start_main(run_actor* self, const std::string& recorded) {
  auto& st = self->state;
  auto& mods = st.ctx->def->value.modules;
  seq_input in;
  in.modules = &mods;
  in.flow_input = st.a.args;
  in.previous_result = st.a.args;
  in.top_level = true;
  in.path = st.ctx->path + "/main";
  in.label = "flow";
  st.entries.clear();
  for (auto& m : mods)
    st.entries.push_back("{\"id\":" + quote(m.id) + ",\"type\":\"WaitingForPriorSteps\"}");
  // A restart from an iteration or branch of a step (on every attempt: the
  // seed stays in the definition): those before it are the restarted flow's.
  if (auto seed = restart_seed(st.a.code))
    if (auto kept = member(*seed, "kept")) {
      in.adopt_module = string_of(member(*seed, "step").value_or(""));
      for (auto& r : array_elements(*kept).value_or(std::vector<std::string>{}))
        in.adopt.emplace_back(
          static_cast<size_t>(number_of(member(r, "before").value_or("0")).value_or(0)),
          string_of(member(r, "job").value_or("")));
    }
  if (auto prev = member(recorded, "modules")) {
    auto old = array_elements(*prev).value_or(std::vector<std::string>{});
    for (size_t k = 0; k < old.size() && k < mods.size(); ++k) {
      auto type = member(old[k], "type").value_or("");
      auto id = member(old[k], "id").value_or("");
      if (id != quote(mods[k].id))
        break;
      if (type == "\"Success\"") {
        in.done_results.emplace_back(mods[k].id, member(old[k], "result").value_or("null"));
        st.entries[k] = old[k];
        in.start_at = k + 1;
        continue;
      }
      // The first unfinished module runs again; its step jobs keep their ids,
      // so those the lost attempt submitted are found and waited for.
      break;
    }
    st.log->info("flow {} attempt {}: resuming at module {} of {}", st.a.job_id, st.a.attempt,
                 in.start_at + 1, mods.size());
  }
  start_sequence(self, std::move(in));
}

} // namespace millrace::actors::flow_engine
