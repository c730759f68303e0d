// How a worker slot stores an attempt's log (in chunks, never splitting a
// character, fenced on the attempt) and reports the attempt's end: the
// runtime's verdict, or canceled or timed out. The behavior: slot.cpp.

#include "actors/worker/detail/slot_state.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "runtime/runtime.hpp"

namespace millrace::actors::slot_detail {

namespace {

sandbox::exit_info to_info(const exit_record& x) {
  sandbox::exit_info i;
  i.exit_code = x.exit_code;
  i.signal = x.signal;
  i.out_of_memory = x.out_of_memory;
  i.pids_limit_hit = x.pids_limit_hit;
  i.terminated = x.terminated;
  i.killed = x.killed;
  i.cpu_seconds = x.cpu_seconds;
  i.max_memory_bytes = x.max_memory_bytes;
  i.wall = std::chrono::microseconds{x.wall_us};
  i.sandbox_error = x.sandbox_error;
  return i;
}

// Length of `s` without a trailing, incomplete UTF-8 sequence, so a chunk
// never splits a character (the rest waits for the next chunk).
size_t utf8_safe_prefix(const std::string& s) {
  size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80)
      continue; // continuation byte: look further back
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return len > back ? n - back : n;
  }
  return n;
}

// The write of the next `take` bytes of the attempt's log.
storage::write_request log_write(current_job& j, size_t take) {
  auto chunk = sanitize_log_text(std::string_view{j.log_buf}.substr(0, take));
  j.log_buf.erase(0, take);
  return storage::write_request{"append_log",
                                {j.a.job_id, std::to_string(j.a.attempt), j.a.lease_owner,
                                 std::to_string(j.seq++), std::move(chunk), j.a.job_created_at},
                                j.a.job_id};
}

} // namespace

exit_record to_record(const sandbox::exit_info& x) {
  return exit_record{x.exit_code,  x.signal, x.out_of_memory, x.pids_limit_hit,
                     x.terminated, x.killed, x.cpu_seconds,   x.max_memory_bytes,
                     x.wall.count(), x.sandbox_error};
}

void send_log(slot_ptr self, storage_writer_actor writer, storage::write_request req) {
  auto id = req.key;
  self->request(writer, std::chrono::minutes{2}, write_atom_v, std::move(req))
    .then(
      [self, id](storage::result_set& rs) {
        if (rs.empty()) {
          // Fenced: this attempt no longer owns the job (the dispatcher
          // aborts it too).
          ++self->state.log_writes_fenced;
          self->state.log->warn("job {}: a log write was fenced", id);
        }
      },
      [self, id](caf::error& err) {
        self->state.log->warn("job {}: a log chunk was not stored: {}", id, describe(err));
      });
}

void flush_logs(slot_ptr self, bool final) {
  auto& j = *self->state.job;
  if (!j.claimed || j.log_buf.empty())
    return;
  size_t take = final ? j.log_buf.size() : utf8_safe_prefix(j.log_buf);
  if (take == 0)
    return;
  auto writer = self->state.reg->resolve_as<storage_writer_actor>(paths::storage_writer);
  if (!writer)
    return; // kept (bounded by the tap) until the storage writer is back
  send_log(self, writer, log_write(j, take));
}

void report(slot_ptr self, const std::string& status, std::string result) {
  auto& j = *self->state.job;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - j.started)
              .count();
  if (self->state.cfg.probe)
    self->state.cfg.probe(self->state.cfg.name, j.a.job_id, j.a.args, false);
  job_outcome out{j.a.job_id, j.a.attempt, j.a.lease_owner, status, std::move(result), ms, {}};
  if (j.claimed && !j.log_buf.empty())
    self->state.last_log = log_write(j, j.log_buf.size()); // no writer now: on rejoin
  ++self->state.jobs_run;
  self->state.job.reset();
  self->state.last = out;
  if (auto d = dispatcher_of(self))
    self->send(d, done_atom_v, std::move(out));
  else
    self->state.log->info("job {} attempt {} ended while no server is reachable; it is reported "
                          "when this node rejoins",
                          out.job_id, out.attempt);
}

// The attempt's process ended and its claim is committed: store the rest of
// the log, judge, report.
void finish(slot_ptr self) {
  auto& j = *self->state.job;
  if (j.tap && j.tap->dropped() > 0)
    j.log_buf += "\n[log truncated: " + std::to_string(j.tap->dropped())
                 + " bytes were not stored (limit " + std::to_string(self->state.cfg.log_max_bytes)
                 + " bytes)]\n";
  flush_logs(self, true);
  if (j.canceled) {
    report(self, job_status::canceled, runtime::error_json("Canceled", "the job was canceled"));
    return;
  }
  if (j.timed_out) {
    report(self, job_status::timed_out,
           runtime::error_json("Timeout", "the job ran longer than its timeout of "
                                            + std::to_string(j.a.timeout_s) + " s and was killed"));
    return;
  }
  auto* rt = runtime::find_runtime(j.a.language);
  auto v = rt->judge(to_info(j.exit), j.tap->captured());
  report(self, v.status, std::move(v.result));
}

} // namespace millrace::actors::slot_detail
