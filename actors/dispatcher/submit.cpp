// Submissions: validation, admission, the durable write, and the start of a
// job on an idle slot, claimed by its submission's own statement.

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <spdlog/spdlog.h>

#include "actors/dispatcher/dispatcher_state.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/types/cluster.hpp"
#include "actors/protocol/types/uuid.hpp"
#include "actors/system/registry.hpp"
#include "runtime/languages.hpp"

namespace millrace::actors {

namespace {

caf::error invalid(const std::string& msg) {
  return caf::make_error(dispatch_errc::invalid_job, msg);
}

bool valid_workspace(const std::string& ws) {
  if (ws.empty() || ws.size() > 50)
    return false;
  for (size_t i = 0; i < ws.size(); ++i) {
    char c = ws[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
    if (!ok)
      return false;
  }
  return true;
}

bool valid_tag(const std::string& tag) {
  if (tag.empty() || tag.size() > 100)
    return false;
  for (char c : tag)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
          || c == '-' || c == '.' || c == ':' || c == '/'))
      return false;
  return true;
}

caf::error storage_error(const storage::op_result& r) {
  return caf::make_error(r.code, r.message);
}

// Takes an idle slot serving `tag`, or returns empty.
std::string take_idle_slot(dispatcher_ptr self, const std::string& tag) {
  auto& st = self->state;
  auto it = st.idle_by_tag.find(tag);
  if (it == st.idle_by_tag.end())
    return {};
  auto& q = it->second;
  while (!q.empty()) {
    auto name = q.front();
    q.pop_front();
    auto s = st.slots.find(name);
    if (s != st.slots.end() && s->second.idle) {
      s->second.idle = false;
      return name;
    }
  }
  return {};
}

// A job submitted and claimed in one statement (enqueue_claimed_job) is
// committed: start it on its reserved slot, or give the attempt back if the
// slot went away meanwhile.
void start_claimed(dispatcher_ptr self, job_entry& e, const std::string& slot) {
  auto& s = self->state;
  auto slot_it = s.slots.find(slot);
  e.st = job_entry::state::running;
  e.claimed = true;
  e.seq = ++s.seq;
  auto id = e.spec.id;
  if (slot_it == s.slots.end()) {
    s.jobs.emplace(id, std::move(e));
    lose_attempt(self, s.jobs[id], "its worker slot went away", false);
    return;
  }
  e.slot = slot;
  e.renewed = self->clock().now();
  auto& entry = s.jobs.emplace(id, std::move(e)).first->second;
  slot_it->second.job = id;
  ++s.stats.started;
  count_running(self, entry);
  // Runnable and started in the same commit: no wait for a slot.
  record_dispatch(s.stats, caf::timespan{0});
  self->send(slot_it->second.handle, run_atom_v, assignment_of(self, entry), entry.watchers);
  self->send(slot_it->second.handle, claimed_atom_v, entry.spec.id, entry.attempt);
  arm_lease_sweep(self);
}

// The submission named an existing job (its id or idempotency key): answer
// with that job, or say why not.
void reply_existing(dispatcher_ptr self, const job_spec& spec,
                    caf::typed_response_promise<submit_reply> rp) {
  auto& s = self->state;
  auto reader = s.reg->resolve_as<storage_reader_actor>(paths::storage_reader);
  if (!reader) {
    rp.deliver(caf::make_error(storage::storage_errc::unavailable,
                               std::string("the storage reader is not running")));
    return;
  }
  auto hash = spec.request_hash;
  self
    ->request(reader, std::chrono::seconds{30}, read_atom_v,
              storage::read_request{"find_job_by_key",
                                    {spec.id, spec.workspace,
                                     spec.idempotency_key.empty()
                                       ? storage::sql_value::null_value()
                                       : storage::sql_value{spec.idempotency_key}}})
    .then(
      [rp, hash](storage::result_set& rs) mutable {
        if (rs.empty()) {
          rp.deliver(caf::make_error(dispatch_errc::not_found,
                                     std::string("the job named by this id or key vanished")));
          return;
        }
        auto& row = rs.rows[0];
        if (row[rs.column("by_key")].text != "t") {
          // The id alone matched: a job id given twice, or one that a
          // job of another workspace has. Never answer with that job.
          rp.deliver(caf::make_error(dispatch_errc::id_taken,
                                     "job id " + row[rs.column("id")].text
                                       + " is already taken; omit job_id to get a new one"));
          return;
        }
        auto prior_hash = row[rs.column("request_hash")];
        if (!hash.empty() && !prior_hash.null && prior_hash.text != hash) {
          rp.deliver(caf::make_error(dispatch_errc::idempotency_conflict,
                                     "this Idempotency-Key was used for a different request (job "
                                       + row[rs.column("id")].text + ")"));
          return;
        }
        rp.deliver(submit_reply{row[rs.column("id")].text, row[rs.column("created_at")].text,
                                true, {}});
      },
      [rp](caf::error& err) mutable { rp.deliver(err); });
}

} // namespace

caf::error validate(dispatcher_ptr self, job_spec& spec) {
  auto& cfg = self->state.cfg;
  if (!valid_workspace(spec.workspace))
    return invalid("workspace: '" + spec.workspace
                   + "' is not a workspace id (lowercase letters, digits, _ and -)");
  if (!spec.id.empty()) {
    std::string norm;
    if (!normalize_uuid(spec.id, norm))
      return invalid("job_id: '" + spec.id + "' is not a UUID");
    spec.id = norm;
  }
  bool runs_code = spec.kind == job_kind::preview || spec.kind == job_kind::script;
  bool is_flow = spec.kind == job_kind::flow || spec.kind == job_kind::flowpreview;
  if (!runs_code && !is_flow && spec.kind != job_kind::identity && spec.kind != job_kind::noop)
    return invalid("kind: '" + spec.kind
                   + "' is not one of script, preview, flow, flowpreview, identity, noop");
  if (is_flow) {
    if (spec.code.empty())
      return invalid("code: a " + spec.kind + " job needs its flow definition");
    if (spec.tag.empty())
      spec.tag = job_kind::flow_tag;
    if (spec.tag != job_kind::flow_tag)
      return invalid("tag: flow runs go to the flow engine's tag '" + std::string{job_kind::flow_tag}
                     + "', not '" + spec.tag + "'");
  } else if (spec.tag == job_kind::flow_tag || spec.tag == job_kind::subflow_lane) {
    return invalid("tag: '" + spec.tag + "' is the flow engine's; a " + spec.kind
                   + " job cannot run there");
  }
  if (is_flow) {
    // checked above
  } else if (runs_code) {
    auto* lang = runtime::find_language(spec.language);
    if (!lang) {
      std::string known;
      for (auto& l : runtime::languages())
        known += (known.empty() ? "" : ", ") + l.name;
      return invalid("language: '" + spec.language + "' is not supported (supported: " + known
                     + ")");
    }
    if (spec.code.empty())
      return invalid("code: a " + spec.kind + " job needs code to run");
    if (spec.tag.empty())
      spec.tag = lang->default_tag;
  } else if (spec.tag.empty()) {
    spec.tag = runtime::noop_tag;
  }
  if (!spec.node.empty()) {
    if (!runs_code)
      return invalid("node: only script and preview jobs can be pinned to a worker node, not a "
                     + spec.kind + " job");
    if (!valid_node_name(spec.node))
      return invalid("node: '" + spec.node + "' is not a worker node name (1-64 of letters, "
                     "digits, _ - .)");
    if (auto why = node_refuses(self, spec.node, spec.tag); !why.empty())
      return invalid("node: " + why);
  }
  if (!valid_tag(spec.tag))
    return invalid("tag: '" + spec.tag + "' is not a tag (1-100 of letters, digits, _ - . : /)");
  if (spec.args.size() > cfg.max_args_bytes)
    return invalid("args: " + std::to_string(spec.args.size()) + " bytes, more than the limit of "
                   + std::to_string(cfg.max_args_bytes));
  rapidjson::Document doc;
  doc.Parse(spec.args.data(), spec.args.size());
  if (doc.HasParseError())
    return invalid(std::string("args: not valid JSON at offset ")
                   + std::to_string(doc.GetErrorOffset()) + ": "
                   + rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject())
    return invalid("args: must be a JSON object");
  if (spec.priority < -32768 || spec.priority > 32767)
    return invalid("priority: " + std::to_string(spec.priority)
                   + " is outside -32768..32767");
  if (spec.timeout_s < 0 || spec.timeout_s > cfg.max_timeout_s)
    return invalid("timeout: " + std::to_string(spec.timeout_s) + " s is outside 0.."
                   + std::to_string(cfg.max_timeout_s));
  if (spec.scheduled_for_ms < 0)
    return invalid("scheduled_for: must not be before 1970");
  return {};
}

void admit(dispatcher_ptr self, job_entry entry) {
  auto& st = self->state;
  auto id = entry.spec.id;
  auto [it, inserted] = st.jobs.emplace(id, std::move(entry));
  if (!inserted)
    return;
  auto& e = it->second;
  if (e.seq == 0)
    e.seq = ++st.seq;
  make_runnable(self, e);
  dispatch(self);
}

caf::result<submit_reply> submit(dispatcher_ptr self, job_spec spec,
                                 std::vector<job_watcher_actor> watchers) {
  auto& st = self->state;
  if (auto err = validate(self, spec)) {
    ++st.stats.rejected;
    return err;
  }
  auto& unfinished = st.unfinished_by_ws[spec.workspace];
  if (unfinished >= st.cfg.max_unfinished_per_workspace) {
    ++st.stats.rejected;
    return caf::make_error(dispatch_errc::overloaded,
                           "workspace " + spec.workspace + " has "
                             + std::to_string(unfinished)
                             + " unfinished jobs (the limit); retry later");
  }
  ++unfinished;
  ++st.stats.submitted;
  // A fresh id cannot name an existing job, so such a job may be claimed by
  // its submission's own statement: one commit, then it starts.
  bool fresh = (spec.id.empty() || spec.id_is_new) && spec.idempotency_key.empty();
  if (spec.id.empty())
    spec.id = make_uuid_v7();
  bool now = spec.scheduled_for_ms == 0 || spec.scheduled_for_ms <= wall_ms(self);
  std::string slot = fresh && now && !st.recovering && tag_has_room(self, spec.tag)
                       ? take_idle_slot(self, lane_of(spec))
                       : "";
  auto rp = self->make_response_promise<submit_reply>();
  auto p = std::make_shared<job_entry>();
  p->spec = std::move(spec);
  p->scheduled_ms = p->spec.scheduled_for_ms;
  p->watchers = std::move(watchers);
  storage::write_request req;
  if (slot.empty()) {
    req = enqueue_write(p->spec, fresh);
  } else {
    // The slot is taken for it now: it is submitted and claimed as attempt
    // 1 in one statement, so one commit makes it durable and started.
    count_running(self, *p);
    p->attempt = 1;
    p->owner = st.node_id + "/" + slot;
    req = enqueue_claimed_write(*p, lease_ms(self, *p));
  }
  write(self, std::move(req), [self, p, rp, slot](storage::op_result& r) mutable {
    auto& s = self->state;
    auto& e = *p;
    if (!r.ok() || r.rows.empty()) {
      --s.unfinished_by_ws[e.spec.workspace];
      if (!slot.empty()) {
        // Neither submitted nor claimed: free the slot.
        uncount_running(self, e);
        if (s.slots.count(slot) > 0)
          slot_ready(self, slot);
      }
      if (!r.ok())
        rp.deliver(storage_error(r));
      else // the id or the idempotency key names an existing job
        reply_existing(self, e.spec, rp);
      return;
    }
    e.created_at = r.rows.rows[0][0].text;
    rp.deliver(submit_reply{e.spec.id, e.created_at, false, {}});
    if (slot.empty())
      admit(self, std::move(e));
    else
      start_claimed(self, e, slot);
  });
  return rp;
}

caf::result<std::vector<submit_reply>> submit_many(dispatcher_ptr self,
                                                   std::vector<job_spec> specs) {
  auto& st = self->state;
  for (size_t i = 0; i < specs.size(); ++i)
    if (auto err = validate(self, specs[i])) {
      ++st.stats.rejected;
      return invalid("job " + std::to_string(i) + ": " + describe(err));
    }
  std::map<std::string, size_t> per_ws;
  for (auto& s : specs)
    ++per_ws[s.workspace];
  for (auto& [ws, n] : per_ws)
    if (st.unfinished_by_ws[ws] + n > st.cfg.max_unfinished_per_workspace) {
      st.stats.rejected += specs.size();
      return caf::make_error(dispatch_errc::overloaded,
                             "workspace " + ws + " has " + std::to_string(st.unfinished_by_ws[ws])
                               + " unfinished jobs and cannot take " + std::to_string(n)
                               + " more (limit " + std::to_string(st.cfg.max_unfinished_per_workspace)
                               + "); retry later");
    }
  for (auto& [ws, n] : per_ws)
    st.unfinished_by_ws[ws] += n;
  st.stats.submitted += specs.size();
  auto rp = self->make_response_promise<std::vector<submit_reply>>();
  struct pending {
    std::vector<submit_reply> replies;
    size_t left;
  };
  auto p = std::make_shared<pending>();
  p->replies.resize(specs.size());
  p->left = specs.size();
  if (specs.empty()) {
    rp.deliver(std::vector<submit_reply>{});
    return rp;
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    bool fresh = (specs[i].id.empty() || specs[i].id_is_new) && specs[i].idempotency_key.empty();
    if (specs[i].id.empty())
      specs[i].id = make_uuid_v7();
    auto entry = std::make_shared<job_entry>();
    entry->spec = std::move(specs[i]);
    entry->scheduled_ms = entry->spec.scheduled_for_ms;
    write(self, enqueue_write(entry->spec, fresh),
          [self, p, rp, entry, i](storage::op_result& r) mutable {
      auto& s = self->state;
      if (!r.ok() || r.rows.empty()) {
        --s.unfinished_by_ws[entry->spec.workspace];
        p->replies[i].error = r.ok() ? "id " + entry->spec.id + " already exists"
                                     : describe(storage_error(r));
      } else {
        entry->created_at = r.rows.rows[0][0].text;
        p->replies[i] = submit_reply{entry->spec.id, entry->created_at, false, {}};
        admit(self, std::move(*entry));
      }
      if (--p->left == 0)
        rp.deliver(std::move(p->replies));
    });
  }
  return rp;
}

} // namespace millrace::actors
