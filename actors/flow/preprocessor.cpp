// A flow's preprocessor_module: it runs before anything else of the run, on
// the run's args (a trigger's event, which the API builds, see
// api/service/endpoints/flows_run.cpp), and its result, which must be an
// object, becomes the flow's input for skip_expr, the cache key, every step
// and the failure module. It runs on every attempt: its step job has a fixed
// id ("/preprocessor"), so a resumed attempt finds the job the lost one
// submitted (finished or not) instead of running the script again. A resumed
// attempt records no status until its steps start: the recorded one (which
// it resumes from) must not be replaced by one without them.

#include <spdlog/spdlog.h>

#include "actors/flow/detail/json_util.hpp"
#include "actors/flow/detail/run_state.hpp"
#include "actors/protocol/types/job.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors::flow_engine {

namespace {

const char* json_type(const std::string& json) {
  auto first = json.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return "nothing";
  switch (json[first]) {
    case '[': return "an array";
    case '"': return "a string";
    case 'n': return "null";
    case 't':
    case 'f': return "a boolean";
    default: return "a number";
  }
}

} // namespace

void run_preprocessor(run_actor* self) {
  auto& st = self->state;
  auto& pre = *st.ctx->def->value.preprocessor_module;
  st.in_preprocessor = true;
  // Its result is the input as it is: nothing may skip, stop or swallow it
  // (validation refuses these options; flows saved before it was run, too).
  st.ctx->preprocessor_modules = {pre};
  auto& m = st.ctx->preprocessor_modules.front();
  m.continue_on_error = false;
  m.skip_if.reset();
  m.stop_after_if.reset();
  m.suspend.reset();
  seq_input in;
  in.modules = &st.ctx->preprocessor_modules;
  in.flow_input = st.a.args.empty() ? "{}" : st.a.args;
  in.previous_result = in.flow_input;
  in.path = st.ctx->path + "/preprocessor";
  in.logical = "/preprocessor";
  in.label = "preprocessor";
  in.single = true;
  st.preprocessor_entry = "{\"id\":" + quote(pre.id) + ",\"type\":\"InProgress\"}";
  if (st.a.attempt <= 1)
    persist(self);
  start_sequence(self, std::move(in));
}

void preprocessor_done(run_actor* self, const std::string& how, std::string result,
                       const std::string& failed_step) {
  auto& st = self->state;
  st.in_preprocessor = false;
  auto& id = st.ctx->def->value.preprocessor_module->id;
  if (how != outcome::success) {
    st.preprocessor_entry = object_with(st.preprocessor_entry,
                                        {{"type", "\"Failure\""}, {"result", result}});
    return main_done(self, outcome::failure, std::move(result),
                     failed_step.empty() ? id : failed_step);
  }
  if (!is_object(result)) {
    result = runtime::error_json(
      "InvalidPreprocessorResult",
      std::string{"the preprocessor must return an object (the flow's inputs); it returned "}
        + json_type(result));
    st.preprocessor_entry = object_with(st.preprocessor_entry,
                                        {{"type", "\"Failure\""}, {"result", result}});
    return main_done(self, outcome::failure, std::move(result), id);
  }
  st.preprocessor_entry = object_with(st.preprocessor_entry,
                                      {{"type", "\"Success\""}, {"result", result}});
  st.log->debug("flow {}: the preprocessor made its input {}", st.a.job_id, result);
  st.a.args = std::move(result);
  st.preprocessed = true;
  if (st.a.attempt <= 1)
    persist(self);
  begin_run(self);
}

} // namespace millrace::actors::flow_engine
