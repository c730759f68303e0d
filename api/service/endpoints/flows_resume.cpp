// Approval steps (`suspend`) from the outside: signed resume and cancel URLs,
// the routes that hand them out, and the owner's resume.
//
// A URL's secret is HMAC-SHA-256(step key, "<job>/<resume_id>/<approver>"),
// where the step key is HMAC-SHA-256(server key "resume_key", job id): every
// step has its own key, and none is stored. An event is recorded (flow_resume,
// committed) before it is answered, then handed to the waiting step's actor;
// a flow resumed after a restart reads the events back.

#include <cstdlib>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/protocol/paths.hpp"
#include "actors/protocol/type_ids.hpp"
#include "actors/protocol/types/uuid.hpp"
#include "actors/system/registry.hpp"
#include "api/cli/http_client.hpp"
#include "api/service/api_state.hpp"
#include "api/service/crypto.hpp"
#include "api/service/json_out.hpp"

namespace millrace::api {

namespace {

constexpr size_t max_payload_bytes = 64 << 10;

bool uuid_param(const call_ptr& c, const char* name, std::string& out) {
  if (!actors::normalize_uuid(c->param(name), out)) {
    fail(c, 400, "invalid_field", "'" + c->param(name) + "' is not a job id (a UUID)",
         std::string{"/"} + name);
    return false;
  }
  return true;
}

// Windmill's resume ids are unsigned 32-bit numbers chosen by the caller.
bool resume_id_of(const call_ptr& c, std::string& out) {
  auto& text = c->param("resume_id");
  bool digits = !text.empty() && text.size() <= 10
                && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::strtoull(text.c_str(), nullptr, 10) > 4294967295ull) {
    fail(c, 400, "invalid_field",
         "'" + text + "' is not a resume id (an integer in 0..4294967295)", "/resume_id");
    return false;
  }
  out = std::to_string(std::strtoull(text.c_str(), nullptr, 10));
  return true;
}

std::string approver_of(const call_ptr& c) {
  auto a = query(c, "approver");
  return a && !a->empty() ? *a : std::string{"anonymous"};
}

std::string signature(const std::string& key, const std::string& job, const std::string& resume_id,
                      const std::string& approver) {
  auto step_key = hmac_sha256_hex(key, "step:" + job);
  return hmac_sha256_hex(step_key, job + "/" + resume_id + "/" + approver);
}

// The event's payload: the POST body, or GET's ?payload= (JSON text); none
// is null. Answers 400 when it is not JSON.
bool payload_of(const call_ptr& c, std::string& out) {
  std::string text;
  if (c->req.method == "POST")
    text = c->req.body;
  else if (auto p = query(c, "payload"))
    text = *p;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    out = "null";
    return true;
  }
  if (text.size() > max_payload_bytes) {
    fail(c, 413, "payload_too_large",
         "the resume payload has " + std::to_string(text.size()) + " bytes; at most "
           + std::to_string(max_payload_bytes));
    return false;
  }
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  if (d.HasParseError()) {
    fail(c, 400, "invalid_json",
         std::string{"the resume payload is not JSON: "} + rapidjson::GetParseError_En(d.GetParseError())
           + " at offset " + std::to_string(d.GetErrorOffset()));
    return false;
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  d.Accept(w);
  out.assign(buf.GetString(), buf.GetSize());
  return true;
}

struct event {
  std::string step_job, resume_id, approver, payload;
  bool cancel = false;
  bool signed_url = true; // false: the owner's authenticated route
};

// Checks the wait, records the event, hands it to the waiting step.
void record(api_ptr self, const call_ptr& c, event ev) {
  read(self, c, "flow_suspend_of", {ev.step_job, c->workspace()},
       [self, c, ev](storage::result_set& rs) {
         if (rs.empty())
           return fail(c, 404, "not_found",
                       "job " + ev.step_job
                         + " is not an approval step waiting in this workspace (no such step, "
                           "or its flow has not reached the approval yet)");
         auto& row = rs.rows[0];
         auto module = col(rs, row, "module_id").text;
         auto flow = col(rs, row, "flow_job").text;
         auto resolution = col(rs, row, "resolution");
         if (!resolution.null)
           return fail(c, 409, "already_resolved",
                       "approval step '" + module + "' of flow " + flow + " already ended: "
                         + resolution.text);
         if (col(rs, row, "flow_running").text != "t")
           return fail(c, 409, "flow_finished", "flow " + flow + " is no longer running");
         if (col(rs, row, "expired").text == "t")
           return fail(c, 409, "timed_out",
                       "approval step '" + module + "' of flow " + flow + " timed out");
         if (ev.signed_url && col(rs, row, "user_auth_required").text == "t")
           return fail(c, 403, "forbidden",
                       "approval step '" + module
                         + "' needs a signed-in approver: POST /api/w/" + c->workspace()
                         + "/jobs/flow/resume/" + flow + " with a token");
         auto creator = col(rs, row, "flow_created_by").text;
         if (!ev.signed_url && creator != c->who.name() && !c->who.admin())
           return fail(c, 403, "forbidden",
                       "only the flow's creator (" + creator + ") or an admin can resume flow "
                         + flow + " without a signed URL");
         if (!ev.cancel && col(rs, row, "self_approval_disabled").text == "t"
             && ev.approver == creator)
           return fail(c, 403, "forbidden",
                       "approval step '" + module + "' does not accept an approval from the "
                         + "flow's creator (" + creator + ")");
         auto required = std::atoll(col(rs, row, "required_events").text.c_str());
         auto approvals = std::atoll(col(rs, row, "approvals").text.c_str());
         storage::write_request w{"flow_resume_add",
                                  {ev.step_job, ev.resume_id, ev.approver, ev.payload,
                                   ev.cancel ? "true" : "false"},
                                  ev.step_job};
         write(self, c, std::move(w),
               [self, c, ev, flow, required, approvals](storage::result_set& added) {
                 if (added.empty())
                   return fail(c, 409, "resume_id_used",
                               "resume id " + ev.resume_id + " was already used for job "
                                 + ev.step_job + ", or its wait just ended");
                 auto waiter = self->state.reg->resolve(std::string{actors::paths::suspended_steps}
                                                        + "/" + ev.step_job);
                 if (waiter)
                   caf::anon_send(waiter, actors::resume_atom_v, ev.resume_id, ev.approver,
                                  ev.payload, ev.cancel);
                 json_out j;
                 j.begin_object()
                   .field("job_id", ev.step_job)
                   .field("flow_job_id", flow)
                   .field("resume_id", ev.resume_id)
                   .field("approver", ev.approver)
                   .field("canceled", ev.cancel)
                   .field("approvals", static_cast<int64_t>(approvals + (ev.cancel ? 0 : 1)))
                   .field("required_events", static_cast<int64_t>(required))
                   .end_object();
                 reply(c, 200, j.take());
               });
       });
}

void signed_event(api_ptr self, const call_ptr& c, bool cancel) {
  event ev;
  ev.cancel = cancel;
  if (!uuid_param(c, "job_id", ev.step_job) || !resume_id_of(c, ev.resume_id))
    return;
  ev.approver = approver_of(c);
  if (!payload_of(c, ev.payload))
    return;
  with_resume_key(self, c, [self, c, ev](const std::string& key) {
    auto expected = signature(key, ev.step_job, ev.resume_id, ev.approver);
    auto& given = c->param("secret");
    if (given.size() != expected.size() || !equal_ct(given, expected))
      return fail(c, 401, "invalid_signature",
                  "the URL's signature does not match job " + ev.step_job + ", resume id "
                    + ev.resume_id + " and approver '" + ev.approver + "'");
    record(self, c, ev);
  });
}

void resume(api_ptr self, const call_ptr& c) { signed_event(self, c, false); }
void cancel(api_ptr self, const call_ptr& c) { signed_event(self, c, true); }

std::string base_url(const call_ptr& c) {
  auto* host = c->req.header("host");
  auto* proto = c->req.header("x-forwarded-proto");
  return (proto && (*proto == "https" || *proto == "http") ? *proto : std::string{"http"}) + "://"
         + (host && !host->empty() ? *host : std::string{"localhost"});
}

void resume_urls(api_ptr self, const call_ptr& c) {
  std::string job, resume_id;
  if (!uuid_param(c, "job_id", job) || !resume_id_of(c, resume_id))
    return;
  auto approver = query(c, "approver");
  with_resume_key(self, c, [c, job, resume_id, approver](const std::string& key) {
    auto who = approver && !approver->empty() ? *approver : std::string{"anonymous"};
    auto tail = "/" + job + "/" + resume_id + "/" + signature(key, job, resume_id, who)
                + (approver && !approver->empty() ? "?approver=" + url_encode(*approver) : "");
    auto prefix = base_url(c) + "/api/w/" + c->workspace() + "/jobs_u/";
    json_out j;
    j.begin_object()
      .field("approvalPage", prefix + "resume" + tail)
      .field("resume", prefix + "resume" + tail)
      .field("cancel", prefix + "cancel" + tail)
      .end_object();
    reply(c, 200, j.take());
  });
}

void job_signature(api_ptr self, const call_ptr& c) {
  std::string job, resume_id;
  if (!uuid_param(c, "job_id", job) || !resume_id_of(c, resume_id))
    return;
  auto who = approver_of(c);
  with_resume_key(self, c, [c, job, resume_id, who](const std::string& key) {
    reply(c, 200, signature(key, job, resume_id, who), "text/plain");
  });
}

void owner_resume(api_ptr self, const call_ptr& c) {
  std::string flow;
  if (!uuid_param(c, "id", flow))
    return;
  event ev;
  ev.signed_url = false;
  ev.approver = c->who.name();
  if (!payload_of(c, ev.payload))
    return;
  read(self, c, "flow_waiting_step", {flow, c->workspace()},
       [self, c, flow, ev](storage::result_set& rs) mutable {
         if (rs.empty())
           return fail(c, 409, "not_waiting",
                       "flow " + flow + " is not waiting for an approval in this workspace");
         ev.step_job = col(rs, rs.rows[0], "step_job").text;
         // A fresh resume id: the owner's approvals each count once.
         ev.resume_id = std::to_string(std::strtoull(random_hex(4).c_str(), nullptr, 16));
         record(self, c, ev);
       });
}

} // namespace

std::vector<endpoint> flow_resume_endpoints() {
  return {
    {"GET", "/api/w/{workspace}/jobs_u/resume/{job_id}/{resume_id}/{secret}", access::open,
     resume, "Approve a waiting approval step (signed URL; ?approver=, ?payload= JSON)"},
    {"POST", "/api/w/{workspace}/jobs_u/resume/{job_id}/{resume_id}/{secret}", access::open,
     resume, "Approve a waiting approval step (signed URL; the body is the resume payload)"},
    {"GET", "/api/w/{workspace}/jobs_u/cancel/{job_id}/{resume_id}/{secret}", access::open,
     cancel, "Refuse a waiting approval step: the flow ends canceled (signed URL)"},
    {"POST", "/api/w/{workspace}/jobs_u/cancel/{job_id}/{resume_id}/{secret}", access::open,
     cancel, "Refuse a waiting approval step: the flow ends canceled (signed URL)"},
    {"GET", "/api/w/{workspace}/jobs/resume_urls/{job_id}/{resume_id}", access::token,
     resume_urls, "Signed resume and cancel URLs of an approval step's job (?approver=)"},
    {"GET", "/api/w/{workspace}/jobs/job_signature/{job_id}/{resume_id}", access::token,
     job_signature, "The secret of a resume/cancel URL (?approver=), as text"},
    {"POST", "/api/w/{workspace}/jobs/flow/resume/{id}", access::token, owner_resume,
     "Approve the step a flow waits on, as its creator or an admin (body: the payload)"},
  };
}

} // namespace millrace::api
