#include "api/service/metrics_text.hpp"

#include <cstdio>

namespace millrace::api {

namespace {

std::string esc(const std::string& v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"')
      out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out;
}

void head(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void line(std::string& out, const std::string& name, uint64_t v) {
  out += name + " " + std::to_string(v) + "\n";
}

std::string le(uint64_t micros) {
  if (micros == UINT64_MAX)
    return "+Inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(micros) / 1e6);
  return buf;
}

std::string seconds(uint64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6f", static_cast<double>(micros) / 1e6);
  return buf;
}

} // namespace

std::string dispatcher_metrics(const actors::dispatcher_stats& s) {
  std::string out;
  head(out, "millrace_queue_depth", "gauge", "Runnable jobs waiting for a worker slot, by tag.");
  for (auto& [tag, n] : s.queued_by_tag)
    line(out, "millrace_queue_depth{tag=\"" + esc(tag) + "\"}", n);
  head(out, "millrace_jobs_delayed", "gauge", "Jobs scheduled for later.");
  line(out, "millrace_jobs_delayed", s.delayed);
  head(out, "millrace_jobs_running", "gauge", "Attempts running on worker slots.");
  line(out, "millrace_jobs_running", s.running);
  head(out, "millrace_worker_slots", "gauge", "Registered worker slots, and idle ones.");
  line(out, "millrace_worker_slots{state=\"all\"}", s.slots);
  line(out, "millrace_worker_slots{state=\"idle\"}", s.idle_slots);
  head(out, "millrace_jobs_submitted_total", "counter", "Jobs accepted.");
  line(out, "millrace_jobs_submitted_total", s.submitted);
  head(out, "millrace_jobs_rejected_total", "counter", "Submissions refused (invalid, overloaded).");
  line(out, "millrace_jobs_rejected_total", s.rejected);
  head(out, "millrace_jobs_completed_total", "counter", "Terminal states recorded, by status.");
  for (const char* st : {"success", "failure", "canceled", "timed_out"}) {
    auto i = s.completed_by_status.find(st);
    line(out, std::string{"millrace_jobs_completed_total{status=\""} + st + "\"}",
         i == s.completed_by_status.end() ? 0 : i->second);
  }
  head(out, "millrace_attempts_requeued_total", "counter",
       "Attempts given back (worker lost, lease expired, recovery).");
  line(out, "millrace_attempts_requeued_total", s.requeued);
  head(out, "millrace_jobs_poisoned_total", "counter", "Jobs failed after too many lost attempts.");
  line(out, "millrace_jobs_poisoned_total", s.poisoned);
  head(out, "millrace_writes_fenced_total", "counter", "Writes of stale attempts rejected.");
  line(out, "millrace_writes_fenced_total", s.fenced);
  head(out, "millrace_dispatch_latency_seconds", "histogram",
       "From a job being runnable to a worker slot receiving it.");
  auto& bounds = actors::dispatch_bounds_micros();
  uint64_t count = 0;
  for (size_t b = 0; b < bounds.size() && b < s.dispatch_buckets.size(); ++b) {
    line(out, "millrace_dispatch_latency_seconds_bucket{le=\"" + le(bounds[b]) + "\"}",
         s.dispatch_buckets[b]);
    count = s.dispatch_buckets[b];
  }
  out += "millrace_dispatch_latency_seconds_sum " + seconds(s.dispatch_micros_sum) + "\n";
  line(out, "millrace_dispatch_latency_seconds_count", count);
  return out;
}

std::string writer_metrics(const storage::writer_stats& w) {
  std::string out;
  head(out, "millrace_storage_batch_size", "histogram",
       "Writes per group commit of the storage writer.");
  const uint64_t size_bounds[7] = {1, 4, 16, 64, 256, 1024, UINT64_MAX};
  uint64_t cum = 0;
  for (size_t b = 0; b < 7; ++b) {
    cum += w.size_buckets[b];
    line(out, "millrace_storage_batch_size_bucket{le=\"" + (b == 6 ? std::string{"+Inf"} : std::to_string(size_bounds[b])) + "\"}", cum);
  }
  line(out, "millrace_storage_batch_size_sum", w.writes);
  line(out, "millrace_storage_batch_size_count", w.batches);
  head(out, "millrace_storage_commit_latency_seconds", "histogram",
       "From taking a batch to answering its writes (one commit).");
  for (size_t b = 0; b < 9; ++b)
    line(out, "millrace_storage_commit_latency_seconds_bucket{le=\"" + le(storage::commit_bounds_micros[b]) + "\"}",
         w.commit_buckets[b]);
  out += "millrace_storage_commit_latency_seconds_sum " + seconds(w.commit_micros) + "\n";
  line(out, "millrace_storage_commit_latency_seconds_count", w.batches);
  head(out, "millrace_storage_reconnects_total", "counter", "Writer connections re-established.");
  line(out, "millrace_storage_reconnects_total", w.reconnects);
  head(out, "millrace_storage_failed_writes_total", "counter", "Writes answered with an error.");
  line(out, "millrace_storage_failed_writes_total", w.failed_writes);
  head(out, "millrace_storage_isolated_batches_total", "counter",
       "Batches that failed and were re-run one write per transaction.");
  line(out, "millrace_storage_isolated_batches_total", w.isolations);
  return out;
}

} // namespace millrace::api
