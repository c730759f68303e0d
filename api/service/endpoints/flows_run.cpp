// Running flows: jobs/run/f/{path} answers the flow job's id once it is
// durable; jobs/run_wait_result/f/{path} answers its result. preview_flow
// runs a flow value sent inline ({value, args, path?}), after the same static
// checks as flows/create. The flow job pins the definition it runs (its
// raw_code), so a later update does not change a run in flight.
// jobs/restart/f/{id}/from/{step} runs a finished flow again from a step.
// A flow with a preprocessor_module gets the request as its event (see
// trigger_event.hpp) unless ?skip_preprocessor=true, which runs it without
// the preprocessor on the body as args.

#include <cstdlib>
#include <optional>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/protocol/types/uuid.hpp"
#include "api/service/api_state.hpp"
#include "api/service/json_out.hpp"
#include "api/service/run_support.hpp"
#include "api/service/trigger_event.hpp"
#include "runtime/flow/parse.hpp"
#include "runtime/flow/validate.hpp"

namespace millrace::api {

namespace {

std::string text_of(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  v.Accept(w);
  return {sb.GetString(), sb.GetSize()};
}

/// A flow's `priority` (validated at save time) is its job's priority
/// unless the caller chose one (?priority=); steps without their own run at
/// the flow job's.
void flow_priority(const call_ptr& c, actors::job_spec& spec, std::optional<int> priority) {
  if (priority && !query(c, "priority"))
    spec.priority = *priority;
}

void run_flow_path(api_ptr self, const call_ptr& c, bool wait) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  read(self, c, "flow_by_path", {c->workspace(), path},
       [self, c, path, wait](storage::result_set& rs) {
         if (rs.empty() || col(rs, rs.rows[0], "archived").text == "t")
           return not_found(c, "flow '" + path + "'");
         auto& row = rs.rows[0];
         actors::job_spec spec;
         spec.kind = actors::job_kind::flow;
         spec.script_path = path;
         spec.code = col(rs, row, "value").text;
         // The stored value, parsed once: its priority and its preprocessor.
         rapidjson::Document value;
         value.Parse(spec.code.data(), spec.code.size());
         bool ok = !value.HasParseError() && value.IsObject();
         std::optional<int> priority;
         if (ok && value.HasMember("priority") && value["priority"].IsInt())
           priority = value["priority"].GetInt();
         bool preprocessor = ok && value.HasMember("preprocessor_module")
                             && value["preprocessor_module"].IsObject();
         std::string args;
         if (preprocessor && !query_flag(c, "skip_preprocessor")) {
           // The preprocessor makes the flow's args from the request; the
           // schema is of what it returns, not of the request.
           if (!webhook_event(c, args))
             return;
         } else {
           if (!args_of(c, args))
             return;
           auto schema = col(rs, row, "schema");
           if (!schema.null && !check_args(c, schema.text, args))
             return;
           if (preprocessor) {
             value.RemoveMember("preprocessor_module");
             spec.code = text_of(value);
           }
         }
         if (!build_spec(self, c, spec, args))
           return;
         flow_priority(c, spec, priority);
         submit(self, c, std::move(spec), wait);
       });
}

// Body: {"value": FlowValue, "args": {...}, "path": optional}
void run_preview_flow(api_ptr self, const call_ptr& c, bool wait) {
  rapidjson::Document body;
  if (!parse_body(c, body))
    return;
  if (!body.HasMember("value") || !body["value"].IsObject())
    return fail(c, 400, "invalid_field", "value: expected the flow value (an object with modules)",
                "/value");
  std::string path;
  if (!get_string(c, body, "path", path, false))
    return;
  if (!path.empty() && !valid_script_path(c, path, "/path"))
    return;
  auto value = text_of(body["value"]);
  auto parsed = flow::parse_flow_value(value, flow::format::json);
  std::vector<flow::flow_error> errors = parsed.errors;
  if (parsed.flow && errors.empty())
    errors = flow::validate(parsed.flow->value, "value");
  if (!errors.empty())
    return invalid_flow(c, errors);
  std::string args = "{}";
  if (body.HasMember("args")) {
    if (!body["args"].IsObject())
      return fail(c, 400, "invalid_field", "args: expected an object", "/args");
    args = text_of(body["args"]);
  }
  actors::job_spec spec;
  spec.kind = actors::job_kind::flowpreview;
  spec.script_path = path;
  // A preview's preprocessor runs on `args` as given (the event to try).
  spec.code =
    query_flag(c, "skip_preprocessor") ? flow::without_preprocessor(value) : std::move(value);
  if (!build_spec(self, c, spec, std::move(args)))
    return;
  flow_priority(c, spec, parsed.flow->value.priority);
  submit(self, c, std::move(spec), wait);
}

const char* str_or(const rapidjson::Value& v, const char* key, const char* other = "") {
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : other;
}

/// The iteration or branch ranges a restarted flow kept of step `step`
/// (its own `restarted_from` seed, when it restarted from an iteration of
/// that step), or null.
const rapidjson::Value* seed_kept(const rapidjson::Value* old_seed, const std::string& step) {
  if (!old_seed || str_or(*old_seed, "step") != step || !old_seed->HasMember("kept")
      || !(*old_seed)["kept"].IsArray())
    return nullptr;
  return &(*old_seed)["kept"];
}

/// jobs/restart/f/{id}/from/{step}/{n}: checks that `entry` (the step's
/// recorded status; `def`, its module in the definition) is a loop or a
/// branchall with an iteration or branch `n`, and adds "iteration" and
/// "kept" to `seed`: whose step jobs the children before n take (the
/// restarted flow's, or for those it kept itself, the flow it kept them
/// from). The engine takes only those that succeeded; it runs the others
/// again. Answers 400 and returns false otherwise.
bool seed_iteration(const call_ptr& c, const std::string& id, const std::string& step,
                    const rapidjson::Value& entry, const rapidjson::Value* def,
                    const rapidjson::Value* old_seed, rapidjson::Document& seed) {
  auto text = c->param("branch_or_iteration");
  auto bad = [&](const std::string& msg) {
    fail(c, 400, "invalid_field", msg, "/branch_or_iteration");
    return false;
  };
  if (text.empty() || text.size() > 7 || text.find_first_not_of("0123456789") != std::string::npos)
    return bad("'" + text + "' is not an iteration or branch number (0, 1, ...)");
  auto n = std::stoul(text);
  std::string type = str_or(entry, "module_type", "unknown");
  size_t count = 0;
  if (type == "forloopflow" || type == "whileloopflow") {
    // iterator.len: the for loop's items; iterator.index: the iterations
    // that ended (a while loop's count).
    if (entry.HasMember("iterator") && entry["iterator"].IsObject()) {
      auto& it = entry["iterator"];
      const char* key = type == "forloopflow" ? "len" : "index";
      if (it.HasMember(key) && it[key].IsUint())
        count = it[key].GetUint();
    }
  } else if (type == "branchall") {
    if (def && def->HasMember("value") && (*def)["value"].IsObject()
        && (*def)["value"].HasMember("branches") && (*def)["value"]["branches"].IsArray())
      count = (*def)["value"]["branches"].Size();
  } else {
    return bad("step '" + step + "' (" + type
               + ") has no iterations or branches; only forloopflow, whileloopflow and "
                 "branchall steps restart from one");
  }
  if (n >= count)
    return bad(std::string{type == "branchall" ? "branch " : "iteration "} + text + ": step '"
               + step + "' of flow " + id + " had " + std::to_string(count)
               + (type == "branchall" ? " branches" : " iterations") + " (numbered from 0)");
  auto& al = seed.GetAllocator();
  rapidjson::Value kept{rapidjson::kArrayType};
  auto keep = [&](size_t before, const char* job) {
    rapidjson::Value r{rapidjson::kObjectType};
    r.AddMember("before", static_cast<uint64_t>(before), al);
    r.AddMember("job", rapidjson::Value{job, al}, al);
    kept.PushBack(r, al);
  };
  // What the restarted flow itself kept of this module: its own seed's
  // (it restarted from an iteration of it), or what was carried on with the
  // module when a restart kept it as done.
  const rapidjson::Value* old_kept = seed_kept(old_seed, step);
  if (!old_kept && entry.HasMember("kept") && entry["kept"].IsArray())
    old_kept = &entry["kept"];
  bool covered = false;
  if (old_kept)
    for (auto& r : old_kept->GetArray()) {
      if (!r.IsObject() || !r.HasMember("before") || !r["before"].IsUint())
        continue;
      auto before = r["before"].GetUint();
      keep(std::min<size_t>(before, n), str_or(r, "job"));
      if (before >= n) {
        covered = true;
        break;
      }
    }
  // A module the restarted flow kept as done itself (it restarted from a
  // later step) was run by an earlier flow: its step jobs are that one's.
  if (!covered)
    keep(n, str_or(entry, "ran_in_flow", id.c_str()));
  seed.AddMember("iteration", static_cast<uint64_t>(n), al);
  seed.AddMember("kept", kept, al);
  return true;
}

// jobs/restart/f/{id}/from/{step_id}: a new flow job with the finished
// flow's pinned definition and args, whose top-level steps before `step_id`
// count as done with their recorded results; it runs from `step_id` on. The
// seed travels in the new job's definition ("restarted_from"), which the
// flow engine reads when it starts the steps (every attempt: the kept
// iterations and branches; the first: the steps done). A flow whose preprocessor
// ran restarts with its result as args, without the preprocessor.
void restart_from(api_ptr self, const call_ptr& c) {
  std::string id;
  if (!actors::normalize_uuid(c->param("id"), id))
    return fail(c, 400, "invalid_field", "'" + c->param("id") + "' is not a job id (a UUID)",
                "/id");
  auto step = c->param("step_id");
  read(self, c, "job_view", {id, c->workspace()}, [self, c, id, step](storage::result_set& rs) {
    if (rs.empty())
      return not_found(c, "job " + id);
    auto& row = rs.rows[0];
    auto kind = col(rs, row, "kind").text;
    if (kind != actors::job_kind::flow && kind != actors::job_kind::flowpreview)
      return fail(c, 400, "invalid_field", "job " + id + " is not a flow (it is a " + kind + " job)",
                  "/id");
    auto state = col(rs, row, "state").text;
    if (state == "queued" || state == "running")
      return fail(c, 409, "still_running",
                  "flow " + id + " is " + state + "; restart it once it finished");
    rapidjson::Document status;
    auto& fs = col(rs, row, "flow_status");
    if (fs.null || status.Parse(fs.text.c_str()).HasParseError() || !status.IsObject()
        || !status.HasMember("modules") || !status["modules"].IsArray())
      return fail(c, 409, "no_status", "flow " + id + " has no recorded step status to restart from");
    // A flow whose preprocessor ran restarts on its result, without it.
    std::optional<std::string> preprocessed;
    if (status.HasMember("preprocessor_module") && status["preprocessor_module"].IsObject()) {
      auto& pre = status["preprocessor_module"];
      if (std::string{str_or(pre, "type")} != "Success" || !pre.HasMember("result")
          || !pre["result"].IsObject())
        return fail(c, 409, "step_not_done",
                    "the preprocessor did not succeed in flow " + id
                      + "; run the flow again instead");
      preprocessed = text_of(pre["result"]);
    }
    auto& mods = status["modules"];
    std::string known;
    rapidjson::SizeType k = 0;
    for (; k < mods.Size(); ++k) {
      auto mid = mods[k].HasMember("id") && mods[k]["id"].IsString() ? mods[k]["id"].GetString() : "";
      if (mid == step)
        break;
      known += (known.empty() ? "" : ", ") + std::string{mid};
    }
    if (k == mods.Size())
      return fail(c, 400, "invalid_field",
                  "step '" + step + "' is not a top-level step of flow " + id
                    + (known.empty() ? std::string{} : " (its steps: " + known + ")"),
                  "/step_id");
    rapidjson::Document code;
    code.Parse(col(rs, row, "raw_code").text.c_str());
    if (code.HasParseError() || !code.IsObject())
      return fail(c, 409, "no_definition", "flow " + id + " has no definition to run again");
    const rapidjson::Value* old_seed =
      code.HasMember("restarted_from") && code["restarted_from"].IsObject()
        ? &code["restarted_from"]
        : nullptr;
    rapidjson::Document seed{rapidjson::kObjectType};
    auto& al = seed.GetAllocator();
    rapidjson::Value done{rapidjson::kArrayType};
    for (rapidjson::SizeType i = 0; i < k; ++i) {
      auto& m = mods[i];
      if (!m.HasMember("type") || !m["type"].IsString() || std::string{m["type"].GetString()} != "Success")
        return fail(c, 409, "step_not_done",
                    "step '" + std::string{m["id"].GetString()} + "' (before '" + step
                      + "') did not succeed in flow " + id + "; restart from it instead");
      // Which flow job ran it (a restart copies it on): a restart from one
      // of its iterations or branches takes their step jobs from there.
      // And if that flow kept some of its iterations or branches from an
      // earlier one, those ranges go with it.
      rapidjson::Value copy{m, al};
      if (!copy.HasMember("ran_in_flow"))
        copy.AddMember("ran_in_flow", rapidjson::Value{id.c_str(), al}, al);
      if (auto* kept = seed_kept(old_seed, str_or(m, "id")); kept && !copy.HasMember("kept"))
        copy.AddMember("kept", rapidjson::Value{*kept, al}, al);
      done.PushBack(copy, al);
    }
    seed.AddMember("job", rapidjson::Value{id.c_str(), al}, al);
    seed.AddMember("step", rapidjson::Value{step.c_str(), al}, al);
    seed.AddMember("modules", done, al);
    if (!c->param("branch_or_iteration").empty()) {
      const rapidjson::Value* def = nullptr;
      if (code.HasMember("modules") && code["modules"].IsArray())
        for (auto& m : code["modules"].GetArray())
          if (std::string{str_or(m, "id")} == step)
            def = &m;
      if (!seed_iteration(c, id, step, mods[k], def, old_seed, seed))
        return;
    }
    code.RemoveMember("restarted_from");
    if (preprocessed)
      code.RemoveMember("preprocessor_module");
    auto args = preprocessed.value_or(col(rs, row, "args").text);
    code.AddMember("restarted_from", rapidjson::Value{seed, code.GetAllocator()},
                   code.GetAllocator());
    actors::job_spec spec;
    spec.kind = kind;
    spec.script_path = col(rs, row, "script_path").text;
    spec.code = text_of(code);
    if (!build_spec(self, c, spec, std::move(args)))
      return;
    // The restart keeps the flow's own timeout and priority unless this
    // request sets them.
    if (auto& t = col(rs, row, "timeout_s"); !query(c, "timeout") && !t.null && !t.text.empty())
      spec.timeout_s = std::atoi(t.text.c_str());
    if (auto& p = col(rs, row, "priority"); !query(c, "priority") && !p.null && !p.text.empty())
      spec.priority = std::atoi(p.text.c_str());
    submit(self, c, std::move(spec), false);
  });
}

void run_f(api_ptr self, const call_ptr& c) { run_flow_path(self, c, false); }
void wait_f(api_ptr self, const call_ptr& c) { run_flow_path(self, c, true); }
void run_pf(api_ptr self, const call_ptr& c) { run_preview_flow(self, c, false); }
void wait_pf(api_ptr self, const call_ptr& c) { run_preview_flow(self, c, true); }

} // namespace

std::vector<endpoint> flow_run_endpoints() {
  return {
    // A flow with a preprocessor takes any body with ?raw=true; the
    // others are checked for JSON by args_of (parse_body).
    {"POST", "/api/w/{workspace}/jobs/run/f/{path*}", access::token, run_f,
     "Run a flow by path; answers the flow job's id once it is durable", true},
    {"POST", "/api/w/{workspace}/jobs/run_wait_result/f/{path*}", access::token, wait_f,
     "Run a flow by path and answer its result", true},
    {"GET", "/api/w/{workspace}/jobs/run_wait_result/f/{path*}", access::token, wait_f,
     "Run a flow by path (args in ?payload=base64url(JSON)) and answer its result"},
    {"POST", "/api/w/{workspace}/jobs/run/preview_flow", access::token, run_pf,
     "Run a flow value sent inline ({value, args}); answers the flow job's id"},
    {"POST", "/api/w/{workspace}/jobs/run_wait_result/preview_flow", access::token, wait_pf,
     "Run a flow value sent inline and answer its result"},
    {"POST", "/api/w/{workspace}/jobs/restart/f/{id}/from/{step_id}", access::token, restart_from,
     "Run a finished flow again from a top-level step; the steps before keep their results"},
    {"POST", "/api/w/{workspace}/jobs/restart/f/{id}/from/{step_id}/{branch_or_iteration}",
     access::token, restart_from,
     "Run a finished flow again from an iteration of a top-level loop or a branch of a "
     "branchall; the steps, iterations or branches before keep their results"},
  };
}

} // namespace millrace::api
