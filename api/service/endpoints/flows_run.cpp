// Running flows: jobs/run/f/{path} answers the flow job's id once it is
// durable; jobs/run_wait_result/f/{path} answers its result. preview_flow
// runs a flow value sent inline ({value, args, path?}), after the same static
// checks as flows/create. The flow job pins the definition it runs (its
// raw_code), so a later update does not change a run in flight.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/service/api_state.hpp"
#include "api/service/json_out.hpp"
#include "api/service/run_support.hpp"
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

void run_flow_path(api_ptr self, const call_ptr& c, bool wait) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  std::string args;
  if (!args_of(c, args))
    return;
  read(self, c, "flow_by_path", {c->workspace(), path},
       [self, c, path, args, wait](storage::result_set& rs) {
         if (rs.empty() || col(rs, rs.rows[0], "archived").text == "t")
           return not_found(c, "flow '" + path + "'");
         auto& row = rs.rows[0];
         auto schema = col(rs, row, "schema");
         if (!schema.null && !check_args(c, schema.text, args))
           return;
         actors::job_spec spec;
         spec.kind = actors::job_kind::flow;
         spec.script_path = path;
         spec.code = col(rs, row, "value").text;
         if (!build_spec(self, c, spec, args))
           return;
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
  spec.code = std::move(value);
  if (!build_spec(self, c, spec, std::move(args)))
    return;
  submit(self, c, std::move(spec), wait);
}

void run_f(api_ptr self, const call_ptr& c) { run_flow_path(self, c, false); }
void wait_f(api_ptr self, const call_ptr& c) { run_flow_path(self, c, true); }
void run_pf(api_ptr self, const call_ptr& c) { run_preview_flow(self, c, false); }
void wait_pf(api_ptr self, const call_ptr& c) { run_preview_flow(self, c, true); }

} // namespace

std::vector<endpoint> flow_run_endpoints() {
  return {
    {"POST", "/api/w/{workspace}/jobs/run/f/{path*}", access::token, run_f,
     "Run a flow by path; answers the flow job's id once it is durable"},
    {"POST", "/api/w/{workspace}/jobs/run_wait_result/f/{path*}", access::token, wait_f,
     "Run a flow by path and answer its result"},
    {"GET", "/api/w/{workspace}/jobs/run_wait_result/f/{path*}", access::token, wait_f,
     "Run a flow by path (args in ?payload=base64url(JSON)) and answer its result"},
    {"POST", "/api/w/{workspace}/jobs/run/preview_flow", access::token, run_pf,
     "Run a flow value sent inline ({value, args}); answers the flow job's id"},
    {"POST", "/api/w/{workspace}/jobs/run_wait_result/preview_flow", access::token, wait_pf,
     "Run a flow value sent inline and answer its result"},
  };
}

} // namespace millrace::api
