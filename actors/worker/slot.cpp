// The worker slot's behavior: registration, running an attempt, its claim,
// cancel and timeout. How it stores the log and reports the end:
// slot_report.cpp. See slot.hpp.

#include "actors/worker/slot.hpp"

#include <algorithm>

#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/status.hpp"
#include "actors/worker/detail/slot_state.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors {

namespace slot_detail {

shared_folders_actor folders_of(slot_ptr self) {
  auto& st = self->state;
  if (!st.folders && !st.cfg.shared_root.empty())
    st.folders = self->spawn<caf::detached + caf::linked>(shared_folders, st.cfg.shared_root);
  return st.folders;
}

dispatcher_actor dispatcher_of(slot_ptr self) {
  return self->state.reg->resolve_as<dispatcher_actor>(paths::dispatcher);
}

} // namespace slot_detail

namespace {

using namespace slot_detail;

// A running attempt's log is stored once this much is buffered.
constexpr size_t log_flush_bytes = 64 << 10;

// One timer per slot. A running attempt has three deadlines: its timeout,
// the next log flush and the next lease renewal. The slot keeps a single
// `tick` in the actor clock, due at the earliest deadline of the attempt;
// each tick does what is due and arms the next. CAF 0.17's clock cannot
// cancel a delayed message, so a timer per deadline per attempt (as
// before) left each short job's timeout (900 s by default) and renewal
// waiting in the clock long after the job, and woke the clock's thread
// three times per job. Now a job that starts while a tick is already due
// no later than its own first deadline adds nothing: short jobs back to
// back cost about one tick per log_flush_every, whatever their number.
void arm_tick(slot_ptr self) {
  auto& st = self->state;
  if (!st.job || st.job->exited)
    return;
  auto& j = *st.job;
  auto next = std::min({j.timeout_at, j.flush_at, j.renew_at});
  if (st.tick_at && *st.tick_at <= next)
    return; // the pending tick comes first and arms the next one
  st.tick_at = next;
  auto delay = next - self->clock().now();
  self->delayed_send(self, std::max(delay, decltype(delay)::zero()), tick_atom_v, ++st.tick_seq);
}

void on_tick(slot_ptr self) {
  auto& st = self->state;
  if (!st.job || st.job->exited)
    return;
  auto& j = *st.job;
  auto now = self->clock().now();
  if (now >= j.timeout_at) {
    j.timeout_at = caf::actor_clock::time_point::max();
    if (!j.canceled && !j.timed_out) {
      j.timed_out = true;
      st.log->info("job {} exceeded its timeout of {} s; stopping it", j.a.job_id, j.a.timeout_s);
      j.proc->terminate(st.cfg.kill_grace);
    }
  }
  if (now >= j.flush_at) {
    flush_logs(self, false);
    j.flush_at = now + st.cfg.log_flush_every;
  }
  if (now >= j.renew_at) {
    // The lease is renewed from this loop, the one that handles the job's
    // process: if the slot hangs, renewals stop and the lease expires.
    if (auto d = dispatcher_of(self))
      self->send(d, renew_atom_v, j.a.job_id, j.a.attempt);
    if (j.claimed && !j.log_buf.empty())
      flush_logs(self, false); // logs held while the server was away
    j.renew_at = now + st.cfg.renew_every;
  }
  arm_tick(self);
}

void run(slot_ptr self, job_assignment a, std::vector<job_watcher_actor> watchers) {
  auto& st = self->state;
  if (st.job) {
    st.log->error("asked to run job {} while running job {}; refused", a.job_id, st.job->a.job_id);
    return;
  }
  st.job.emplace();
  st.last.reset();
  st.last_log.reset();
  auto& j = *st.job;
  j.a = std::move(a);
  j.token = st.next_token++;
  j.started = self->clock().now();
  j.watchers = std::move(watchers);
  if (st.cfg.probe)
    st.cfg.probe(st.cfg.name, j.a.job_id, j.a.args, true);
  if (j.a.kind == job_kind::noop || j.a.kind == job_kind::identity) {
    // No process: the result is the args.
    auto args = j.a.args;
    report(self, job_status::success, std::move(args));
    return;
  }
  auto* rt = runtime::find_runtime(j.a.language);
  if (!rt) {
    report(self, job_status::failure,
           runtime::error_json("UnsupportedLanguage", "no runtime for '" + j.a.language + "'"));
    return;
  }
  runtime::job_input in;
  in.job_id = j.a.job_id;
  in.workspace = j.a.workspace;
  in.script_path = j.a.script_path;
  in.code = j.a.code;
  in.args = j.a.args;
  in.network = j.a.network;
  in.env = {{"WM_JOB_ID", j.a.job_id},
            {"WM_WORKSPACE", j.a.workspace},
            {"WM_JOB_PATH", j.a.script_path},
            {"MILLRACE_ATTEMPT", std::to_string(j.a.attempt)}};
  sandbox::launch_plan plan;
  try {
    plan = rt->plan(in);
  } catch (const std::exception& e) {
    report(self, job_status::failure, runtime::error_json("InvalidArguments", e.what()));
    return;
  }
  if (!j.a.shared_folder.empty()) {
    plan.shared_dir = shared_folder_path(st.cfg.shared_root, j.a.shared_folder);
    if (plan.shared_dir.empty()) {
      report(self, job_status::failure,
             runtime::error_json("SandboxError",
                                 st.cfg.shared_root.empty()
                                   ? "this step of a same_worker flow needs a shared folder, and "
                                     "worker node slot " + st.cfg.name + " has none (sandbox.shared_dir)"
                                   : "shared folder id '" + j.a.shared_folder + "' is not a job id"));
      return;
    }
  }
  j.tap = std::make_shared<output_tap>(st.cfg.log_max_bytes, st.cfg.result_max_bytes);
  auto tap = j.tap;
  auto token = j.token;
  caf::actor_addr addr = self->address();
  sandbox::process_events events;
  events.on_output = [tap, addr, token](sandbox::stream s, std::string_view bytes) {
    auto text = tap->on_output(s, bytes);
    if (text.empty())
      return;
    if (auto h = caf::actor_cast<worker_slot_actor>(addr))
      caf::anon_send(h, output_atom_v, token, static_cast<uint8_t>(s), std::move(text));
  };
  events.on_exit = [addr, token](const sandbox::exit_info& x) {
    if (auto h = caf::actor_cast<worker_slot_actor>(addr))
      caf::anon_send(h, exited_atom_v, token, to_record(x));
  };
  std::string error;
  j.proc = st.cfg.launcher->start(plan, st.cfg.limits, std::move(events), error);
  if (!j.proc) {
    report(self, job_status::failure, runtime::error_json("SandboxError", error));
    return;
  }
  auto now = self->clock().now();
  j.timeout_at = now + std::chrono::seconds{j.a.timeout_s};
  j.flush_at = now + st.cfg.log_flush_every;
  j.renew_at = now + st.cfg.renew_every;
  arm_tick(self);
}

bool is_current(slot_ptr self, const std::string& job_id, int32_t attempt) {
  auto& j = self->state.job;
  return j && j->a.job_id == job_id && j->a.attempt == attempt;
}

bool is_current(slot_ptr self, uint64_t token) {
  return self->state.job && self->state.job->token == token;
}

void register_with_dispatcher(slot_ptr self) {
  auto d = dispatcher_of(self);
  if (!d) {
    // The dispatcher starts before the workers; it may be restarting. On a
    // cluster node, the link says when to register.
    if (!self->state.cfg.registered_by_link)
      self->delayed_send(self, std::chrono::milliseconds{100}, register_atom_v);
    return;
  }
  auto& st = self->state;
  slot_info info{st.cfg.name, st.cfg.tags, {}, 0, {}, false};
  if (st.job) {
    info.job_id = st.job->a.job_id;
    info.attempt = st.job->a.attempt;
    info.lease_owner = st.job->a.lease_owner;
  } else if (st.last) {
    info.job_id = st.last->job_id;
    info.attempt = st.last->attempt;
    info.lease_owner = st.last->lease_owner;
    info.finished = true;
  }
  self->send(d, register_atom_v, caf::actor_cast<worker_slot_actor>(self), std::move(info));
  if (st.job) {
    // The dispatcher adopts the attempt (and says `claimed` again) or tells
    // us to abort it (then it gives us our next job).
    if (st.job->claimed)
      flush_logs(self, false);
    return;
  }
  if (st.last_log)
    if (auto writer = st.reg->resolve_as<storage_writer_actor>(paths::storage_writer)) {
      // Sent before `done` on the same connection, so it reaches the writer
      // before the completion the dispatcher writes (same key: in order).
      send_log(self, writer, std::move(*st.last_log));
      st.last_log.reset();
    }
  if (st.last)
    self->send(d, done_atom_v, *st.last);
  self->send(d, ready_atom_v, st.cfg.name);
}

worker_slot_actor::behavior_type slot(slot_ptr self, slot_config cfg,
                                      std::shared_ptr<registry> reg, std::string path) {
  self->state.cfg = std::move(cfg);
  self->state.reg = std::move(reg);
  self->state.log = logger_for(path);
  register_with_dispatcher(self);
  return {
    [self](run_atom, job_assignment& a, std::vector<job_watcher_actor>& w) {
      run(self, std::move(a), std::move(w));
    },
    [self](claimed_atom, std::string& id, int32_t attempt) {
      if (!is_current(self, id, attempt))
        return;
      auto& j = *self->state.job;
      j.claimed = true;
      if (j.exited)
        finish(self);
      else
        flush_logs(self, false);
    },
    [self](cancel_atom, std::string& id, int32_t attempt) {
      if (!is_current(self, id, attempt))
        return;
      auto& j = *self->state.job;
      if (j.exited || j.canceled)
        return;
      j.canceled = true;
      if (j.proc)
        j.proc->terminate(self->state.cfg.kill_grace);
    },
    [self](abort_atom, std::string& id, int32_t attempt) {
      if (!is_current(self, id, attempt))
        return;
      // The attempt lost its job: kill its process and forget it at once.
      // The dispatcher already counts this slot as free; the process's late
      // events carry a stale token and are ignored.
      auto& j = *self->state.job;
      if (!j.exited && j.proc)
        j.proc->kill();
      self->state.log->info("job {} attempt {} aborted: the attempt no longer owns the job", id,
                            attempt);
      self->state.job.reset();
    },
    [self](watch_atom, std::string& id, job_watcher_actor& w) {
      if (self->state.job && self->state.job->a.job_id == id)
        self->state.job->watchers.push_back(w);
    },
    [self](output_atom, uint64_t token, uint8_t, std::string& text) {
      if (!is_current(self, token))
        return;
      auto& j = *self->state.job;
      for (auto& w : j.watchers)
        self->send(w, log_atom_v, log_chunk{j.a.job_id, j.a.attempt, text});
      j.log_buf += text;
      if (j.log_buf.size() >= log_flush_bytes)
        flush_logs(self, false);
    },
    [self](exited_atom, uint64_t token, exit_record& rec) {
      if (!is_current(self, token))
        return;
      auto& j = *self->state.job;
      j.exited = true;
      j.exit = std::move(rec);
      if (j.claimed)
        finish(self); // otherwise `claimed` finishes it
    },
    [self](tick_atom, uint64_t seq) {
      if (seq != self->state.tick_seq)
        return; // an earlier tick was armed after this one
      self->state.tick_at.reset();
      on_tick(self);
    },
    [self](register_atom) { register_with_dispatcher(self); },
    [self](unpin_atom, std::string& flow_job) {
      if (auto folders = folders_of(self))
        self->send(folders, unpin_atom_v, std::move(flow_job));
    },
    [self](sweep_atom) -> caf::result<std::set<std::string>> {
      if (auto folders = folders_of(self))
        return self->delegate(folders, sweep_atom_v);
      return std::set<std::string>{};
    },
    [self](status_atom) {
      auto& st = self->state;
      std::string summary = st.job ? "running job " + st.job->a.job_id + " attempt "
                                       + std::to_string(st.job->a.attempt)
                                   : std::string("idle");
      summary += " jobs_run=" + std::to_string(st.jobs_run);
      return make_status(self, std::move(summary));
    },
  };
}

} // namespace

caf::actor spawn_slot(caf::actor_system& sys, slot_config cfg, std::shared_ptr<registry> reg,
                      const std::string& path) {
  return caf::actor_cast<caf::actor>(sys.spawn(slot, std::move(cfg), std::move(reg), path));
}

} // namespace millrace::actors
