// Service routes, no token needed: version, liveness, readiness (the
// database answers and the dispatcher is not recovering), Prometheus metrics,
// the OpenAPI document.

#include "actors/protocol/paths.hpp"
#include "actors/system/registry.hpp"
#include "api/openapi_doc.hpp"
#include "api/service/api_state.hpp"
#include "api/service/http_bridge.hpp"
#include "api/service/json_out.hpp"
#include "api/service/metrics_text.hpp"

namespace millrace::api {

namespace {

void version(api_ptr, const call_ptr& c) {
  reply(c, 200, std::string{"v"} + MILLRACE_VERSION, "text/plain; charset=utf-8");
}

void live(api_ptr, const call_ptr& c) { reply(c, 200, R"({"status":"ok"})"); }

void ready(api_ptr self, const call_ptr& c) {
  auto reader = self->state.reg->resolve_as<actors::storage_reader_actor>(
    actors::paths::storage_reader);
  auto d = dispatcher_of(self);
  auto not_ready = [c](const std::string& why) {
    json_out j;
    j.begin_object().field("status", "not_ready").field("reason", why).end_object();
    reply(c, 503, j.take());
  };
  if (!reader || !d)
    return not_ready("the storage reader or the dispatcher is not running");
  self->request(reader, std::chrono::seconds{2}, actors::read_atom_v, storage::read_request{"db_now", {}})
    .then(
      [self, c, d, not_ready](storage::result_set&) {
        self->request(d, std::chrono::seconds{2}, actors::stats_atom_v)
          .then(
            [c, not_ready](actors::dispatcher_stats& s) {
              if (s.recovering)
                return not_ready("the dispatcher is still recovering the queue");
              reply(c, 200, R"({"status":"ready","database":"ok","dispatcher":"ok"})");
            },
            [not_ready](caf::error& err) { not_ready("dispatcher: " + caf::to_string(err)); });
      },
      [not_ready](caf::error& err) { not_ready("database: " + caf::to_string(err)); });
}

void metrics(api_ptr self, const call_ptr& c) {
  auto text = std::make_shared<std::string>(self->state.http->render_metrics());
  auto finish = [c, text] { reply(c, 200, *text, "text/plain; version=0.0.4; charset=utf-8"); };
  auto d = dispatcher_of(self);
  auto writer = self->state.reg->resolve_as<actors::storage_writer_actor>(
    actors::paths::storage_writer);
  auto with_writer = [self, writer, text, finish] {
    if (!writer)
      return finish();
    self->request(writer, std::chrono::seconds{2}, actors::stats_atom_v)
      .then(
        [text, finish](storage::writer_stats& w) {
          *text += writer_metrics(w);
          finish();
        },
        [finish](caf::error&) { finish(); });
  };
  if (!d)
    return with_writer();
  self->request(d, std::chrono::seconds{2}, actors::stats_atom_v)
    .then(
      [text, with_writer](actors::dispatcher_stats& s) {
        *text += dispatcher_metrics(s);
        with_writer();
      },
      [with_writer](caf::error&) { with_writer(); });
}

void openapi(api_ptr, const call_ptr& c) { reply(c, 200, openapi_json()); }

} // namespace

std::vector<endpoint> service_endpoints() {
  return {
    {"GET", "/api/version", access::open, version, "Server version (text)"},
    {"GET", "/api/health/live", access::open, live, "Liveness: the process answers"},
    {"GET", "/api/health/ready", access::open, ready,
     "Readiness: the database answers and the dispatcher has recovered the queue (503 otherwise)"},
    {"GET", "/metrics", access::open, metrics, "Prometheus metrics (text format 0.0.4)"},
    {"GET", "/api/openapi.json", access::open, openapi, "This API's OpenAPI 3 document"},
  };
}

const std::vector<endpoint>& all_endpoints() {
  static const std::vector<endpoint> all = [] {
    std::vector<endpoint> out;
    for (auto list : {service_endpoints(), admin_endpoints(), script_endpoints(),
                      job_run_endpoints(), job_read_endpoints(), job_compat_endpoints(), flow_endpoints(),
                      flow_run_endpoints(), flow_resume_endpoints(), worker_endpoints()})
      out.insert(out.end(), list.begin(), list.end());
    return out;
  }();
  return all;
}

} // namespace millrace::api
