// Running jobs: jobs/run/{p,h,preview} answer the job id once the job is
// durable; jobs/run_wait_result/{p,h,preview} answer its result (or error)
// once it finished, up to service_config::max_wait.
//
// Options (query): scheduled_for (RFC 3339 or epoch milliseconds),
// scheduled_in_secs, tag, priority, timeout (seconds), job_id (a UUID chosen
// by the caller), parent_job. Header Idempotency-Key: a repeated request with
// the same key answers the first job; the same key with another request is a
// 422, never a second job.

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "actors/protocol/errors.hpp"
#include "actors/protocol/types/uuid.hpp"
#include "api/service/api_state.hpp"
#include "api/service/crypto.hpp"
#include "api/service/json_out.hpp"
#include "api/service/run_support.hpp"
#include "runtime/schema.hpp"

namespace millrace::api {

namespace {

bool parse_int(const std::string& s, long long& out) {
  if (s.empty() || s.size() > 18)
    return false;
  char* end = nullptr;
  out = std::strtoll(s.c_str(), &end, 10);
  return *end == '\0';
}

// The end of year 9999 (what PostgreSQL's timestamptz and RFC 3339 share).
constexpr int64_t max_time_ms = 253402300799999;

// RFC 3339 ("2026-11-22T10:00:00Z", "...+01:00", fractions) or epoch ms.
bool parse_time_ms(const std::string& s, int64_t& ms) {
  long long n = 0;
  if (parse_int(s, n)) {
    ms = n;
    return n >= 0 && n <= max_time_ms;
  }
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest)
    return false;
  int64_t frac_ms = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 3)
        frac_ms = frac_ms * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 3; ++digits)
      frac_ms *= 10;
  }
  int64_t offset_s = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int sign = *rest == '-' ? -1 : 1;
    // Exactly "+hh:mm".
    auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
    if (std::strlen(rest) < 6 || !digit(rest[1]) || !digit(rest[2]) || rest[3] != ':'
        || !digit(rest[4]) || !digit(rest[5]))
      return false;
    int hh = (rest[1] - '0') * 10 + (rest[2] - '0');
    int mm = (rest[4] - '0') * 10 + (rest[5] - '0');
    if (hh > 23 || mm > 59)
      return false;
    offset_s = sign * (hh * 3600 + mm * 60);
    rest += 6;
  } else {
    return false;
  }
  if (*rest != '\0')
    return false;
  ms = (static_cast<int64_t>(timegm(&tm)) - offset_s) * 1000 + frac_ms;
  return ms >= 0 && ms <= max_time_ms;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// The options every run route takes; answers 400 and returns false on a bad
// one. `args` is the job's args (JSON text).
} // namespace

bool build_spec(api_ptr self, const call_ptr& c, actors::job_spec& spec, std::string args) {
  spec.workspace = c->workspace();
  spec.created_by = c->who.name();
  spec.args = std::move(args);
  auto opt = [&](const char* name) { return query(c, name); };
  auto bad = [&](const char* field, const std::string& msg) {
    fail(c, 400, "invalid_field", std::string{field} + ": " + msg, std::string{"/"} + field);
    return false;
  };
  long long n = 0;
  if (auto v = opt("tag")) {
    auto& cfg = self->state.cfg;
    auto listed = [&](const std::vector<std::string>& tags) {
      return std::find(tags.begin(), tags.end(), *v) != tags.end();
    };
    if (!cfg.served_tags.empty() && !listed(cfg.served_tags)) {
      std::string served;
      for (auto& t : cfg.served_tags)
        served += (served.empty() ? "" : ", ") + t;
      return bad("tag", "no worker slot serves tag '" + *v + "' (served: " + served + ")");
    }
    bool flow_job = spec.kind == actors::job_kind::flow || spec.kind == actors::job_kind::flowpreview;
    if (flow_job != (*v == actors::job_kind::flow_tag))
      return bad("tag", flow_job ? "flow runs go to the flow engine's tag 'flow'; leave tag unset"
                                 : "tag 'flow' is the flow engine's; scripts cannot run there");
    if (listed(cfg.network_tags) && !c->who.admin()) {
      fail(c, 403, "forbidden", "tag '" + *v + "' gives jobs the network; only admin tokens may use it",
           "/tag");
      return false;
    }
    spec.tag = *v;
  }
  if (auto v = opt("priority")) {
    if (!parse_int(*v, n) || n < -32768 || n > 32767)
      return bad("priority", "expected an integer in -32768..32767, got '" + *v + "'");
    spec.priority = static_cast<int32_t>(n);
  }
  if (auto v = opt("timeout")) {
    if (!parse_int(*v, n) || n <= 0 || n > 10'000'000)
      return bad("timeout", "expected a positive number of seconds, got '" + *v + "'");
    spec.timeout_s = static_cast<int32_t>(n);
  }
  if (auto v = opt("scheduled_for")) {
    int64_t ms = 0;
    if (!parse_time_ms(*v, ms))
      return bad("scheduled_for", "expected an RFC 3339 time or epoch milliseconds, got '" + *v + "'");
    spec.scheduled_for_ms = ms;
  }
  if (auto v = opt("scheduled_in_secs")) {
    if (!parse_int(*v, n) || n < 0 || n > 10LL * 365 * 86400)
      return bad("scheduled_in_secs", "expected a number of seconds, got '" + *v + "'");
    spec.scheduled_for_ms = now_ms() + n * 1000;
  }
  if (auto v = opt("job_id"))
    spec.id = *v; // the dispatcher checks it is a UUID
  if (auto v = opt("parent_job")) {
    std::string id;
    if (!actors::normalize_uuid(*v, id))
      return bad("parent_job", "expected a job id (UUID), got '" + v->substr(0, 64) + "'");
    spec.parent_job = id;
  }
  if (auto* key = c->req.header("idempotency-key")) {
    if (key->empty() || key->size() > 255)
      return bad("Idempotency-Key", "expected 1 to 255 characters");
    spec.idempotency_key = *key;
    // What makes two requests "the same": route, parameters, query, body.
    std::string canon = c->req.method + '\n' + c->match.pattern + '\n';
    for (auto& [k, v] : c->match.params)
      canon += k + '=' + v + '\n';
    for (auto& [k, v] : c->req.query)
      canon += k + '=' + v + '\n';
    canon += c->req.body;
    spec.request_hash = sha256_hex(canon);
  }
  return true;
}

// The args of a run: the body (a JSON object) or, for GET run_wait_result,
// ?payload=<base64url(JSON object)>.
bool args_of(const call_ptr& c, std::string& args) {
  if (c->req.method == "GET") {
    auto p = query(c, "payload");
    if (!p) {
      args = "{}";
      return true;
    }
    auto json = base64url_decode(*p);
    if (!json) {
      fail(c, 400, "invalid_field", "payload: not base64url", "/payload");
      return false;
    }
    c->req.body = std::move(*json);
    rapidjson::Document d;
    if (!parse_body(c, d, true))
      return false;
    args = c->req.body.empty() ? "{}" : c->req.body;
    return true;
  }
  rapidjson::Document d;
  if (!parse_body(c, d, true))
    return false;
  args = c->req.body.empty() ? "{}" : c->req.body;
  return true;
}

bool check_args(const call_ptr& c, const std::string& schema, const std::string& args) {
  if (schema.empty())
    return true;
  if (auto err = runtime::validate_args(schema, args)) {
    fail(c, 400, "invalid_field", "args" + err->pointer + ": " + err->message, err->pointer);
    return false;
  }
  return true;
}

void answer_result(const call_ptr& c, const actors::job_result& r) {
  if (r.status == actors::job_status::success) {
    reply(c, 200, r.result);
    return;
  }
  // Windmill answers a failed job with a server error; the body says why.
  json_out j;
  j.begin_object();
  j.field("error", "job_" + r.status);
  j.field("message", "job " + r.job_id + " ended " + r.status);
  j.field("job_id", r.job_id);
  j.key("result").raw(r.result);
  j.end_object();
  reply(c, 500, j.take());
}

// Submits; then answers the id (wait = false) or waits for the end.
void submit(api_ptr self, const call_ptr& c, actors::job_spec spec, bool wait) {
  auto d = dispatcher_of(self);
  if (!d) {
    fail(c, 503, "unavailable", "the dispatcher is not running; retry");
    return;
  }
  self->request(d, storage_timeout, actors::submit_atom_v, std::move(spec))
    .then(
      [self, c, wait](actors::submit_reply& r) {
        if (!wait) {
          reply(c, 201, r.job_id, "text/plain; charset=utf-8");
          return;
        }
        auto d2 = dispatcher_of(self);
        if (!d2) {
          fail(c, 503, "unavailable", "the dispatcher is not running; the job is " + r.job_id);
          return;
        }
        auto id = r.job_id;
        // A flow's early_return answers as soon as that step finished.
        self->request(d2, self->state.cfg.max_wait, actors::wait_atom_v, id, true)
          .then([c](actors::job_result& res) { answer_result(c, res); },
                [self, c, id](caf::error& err) {
                  if (err == caf::sec::request_timeout) {
                    json_out j;
                    j.begin_object().field("error", "wait_timeout");
                    j.field("message", "job " + id + " did not finish within "
                                         + std::to_string(self->state.cfg.max_wait.count())
                                         + " s; it goes on (see jobs_u/get)");
                    j.field("job_id", id).end_object();
                    reply(c, 504, j.take());
                    return;
                  }
                  fail(c, err);
                });
      },
      [c](caf::error& err) { fail(c, err); });
}

namespace {

void run_path(api_ptr self, const call_ptr& c, bool wait) {
  auto path = c->param("path");
  if (!valid_script_path(c, path, "/path"))
    return;
  std::string args;
  if (!args_of(c, args))
    return;
  resolve_script(self, c, path, [self, c, path, args, wait](const script_entry& s) {
    if (!check_args(c, s.schema, args))
      return;
    actors::job_spec spec;
    spec.kind = actors::job_kind::script;
    spec.script_path = path;
    spec.script_hash = s.hash;
    spec.language = s.language;
    spec.code = s.content;
    if (!build_spec(self, c, spec, args))
      return;
    submit(self, c, std::move(spec), wait);
  });
}

void run_hash(api_ptr self, const call_ptr& c, bool wait) {
  auto hash = c->param("hash");
  if (hash.size() != 16 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
    fail(c, 400, "invalid_field", "a script hash is 16 lower-case hex digits", "/hash");
    return;
  }
  std::string args;
  if (!args_of(c, args))
    return;
  read(self, c, "script_by_hash", {c->workspace(), hash},
       [self, c, hash, args, wait](storage::result_set& rs) {
         if (rs.empty())
           return not_found(c, "script version '" + hash + "'");
         auto& row = rs.rows[0];
         if (!check_args(c, col(rs, row, "schema").text, args))
           return;
         actors::job_spec spec;
         spec.kind = actors::job_kind::script;
         spec.script_path = col(rs, row, "path").text;
         spec.script_hash = hash;
         spec.language = col(rs, row, "language").text;
         spec.code = col(rs, row, "content").text;
         if (!build_spec(self, c, spec, args))
           return;
         submit(self, c, std::move(spec), wait);
       });
}

// Body: {"content": code, "language": "python3", "args": {...}, "path": optional}
void run_preview(api_ptr self, const call_ptr& c, bool wait) {
  rapidjson::Document body;
  if (!parse_body(c, body))
    return;
  actors::job_spec spec;
  spec.kind = actors::job_kind::preview;
  // Windmill's Preview.kind: "code" (the default) runs `content`; "identity"
  // answers its args as its result without a process (Windmill's identity
  // step); "noop" (ours) succeeds with a null result.
  std::string kind, path;
  if (!get_string(c, body, "kind", kind, false))
    return;
  if (kind == "identity" || kind == "noop") {
    spec.kind = kind == "identity" ? actors::job_kind::identity : actors::job_kind::noop;
  } else if (!kind.empty() && kind != "code") {
    fail(c, 400, "invalid_field",
         "kind: expected \"code\", \"identity\" or \"noop\", got \"" + kind.substr(0, 64) + "\"",
         "/kind");
    return;
  }
  bool code = spec.kind == actors::job_kind::preview;
  if (!get_string(c, body, "content", spec.code, code)
      || !get_string(c, body, "language", spec.language, code)
      || !get_string(c, body, "path", path, false))
    return;
  if (!code && (!spec.code.empty() || !spec.language.empty())) {
    fail(c, 400, "invalid_field", "content and language go with kind \"code\" only",
         spec.code.empty() ? "/language" : "/content");
    return;
  }
  if (!path.empty() && !valid_script_path(c, path, "/path"))
    return;
  spec.script_path = path;
  std::string args = "{}";
  if (body.HasMember("args")) {
    auto& a = body["args"];
    if (!a.IsObject()) {
      fail(c, 400, "invalid_field", "args: expected an object", "/args");
      return;
    }
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w{sb};
    a.Accept(w);
    args.assign(sb.GetString(), sb.GetSize());
  }
  if (!build_spec(self, c, spec, std::move(args)))
    return;
  submit(self, c, std::move(spec), wait);
}

void run_p(api_ptr self, const call_ptr& c) { run_path(self, c, false); }
void run_h(api_ptr self, const call_ptr& c) { run_hash(self, c, false); }
void run_preview_async(api_ptr self, const call_ptr& c) { run_preview(self, c, false); }
void wait_p(api_ptr self, const call_ptr& c) { run_path(self, c, true); }
void wait_h(api_ptr self, const call_ptr& c) { run_hash(self, c, true); }
void wait_preview(api_ptr self, const call_ptr& c) { run_preview(self, c, true); }

} // namespace

std::vector<endpoint> job_run_endpoints() {
  return {
    {"POST", "/api/w/{workspace}/jobs/run/p/{path*}", access::token, run_p,
     "Run a script by path; answers the job id (text) once the job is durable"},
    {"POST", "/api/w/{workspace}/jobs/run/h/{hash}", access::token, run_h,
     "Run a script version by hash; answers the job id"},
    {"POST", "/api/w/{workspace}/jobs/run/preview", access::token, run_preview_async,
     "Run raw code ({content, language, args}, or kind identity/noop); answers the job id"},
    {"POST", "/api/w/{workspace}/jobs/run_wait_result/p/{path*}", access::token, wait_p,
     "Run a script by path and answer its result"},
    {"GET", "/api/w/{workspace}/jobs/run_wait_result/p/{path*}", access::token, wait_p,
     "Run a script by path (args in ?payload=base64url(JSON)) and answer its result"},
    {"POST", "/api/w/{workspace}/jobs/run_wait_result/h/{hash}", access::token, wait_h,
     "Run a script version by hash and answer its result"},
    {"GET", "/api/w/{workspace}/jobs/run_wait_result/h/{hash}", access::token, wait_h,
     "Run a script version by hash (args in ?payload=) and answer its result"},
    {"POST", "/api/w/{workspace}/jobs/run_wait_result/preview", access::token, wait_preview,
     "Run raw code and answer its result"},
  };
}

} // namespace millrace::api
