#include "api/cli/root_config.hpp"

#include <filesystem>
#include <system_error>

#include "actors/cluster/proof.hpp"
#include "actors/flow/flow_engine.hpp"
#include "actors/system/logging.hpp"
#include "actors/protocol/types/job.hpp"
#include "runtime/expr/evaluator.hpp"

namespace millrace::api {

void setup_logging_of(const options& opts) {
  actors::setup_logging({opts.log_format == "json" ? actors::log_format::json
                                                   : actors::log_format::human,
                         opts.log_level});
}

std::string cluster_secret_of(const options& opts) {
  try {
    return actors::cluster::read_secret(opts.cluster_secret_file);
  } catch (const std::exception& e) {
    throw config_error(e.what());
  }
}

std::shared_ptr<sandbox::launcher> make_launcher(const options& opts) {
  sandbox::launcher_config lc;
  lc.run_as = opts.run_as;
  lc.use_cgroups = opts.cgroups;
  lc.reuse = opts.reuse;
  lc.standby = static_cast<size_t>(opts.standby);
  return std::shared_ptr<sandbox::launcher>{sandbox::make_bwrap_launcher(lc)};
}

service_config service_config_of(const options& opts) {
  service_config sc;
  sc.bind = opts.api_bind;
  sc.port = static_cast<uint16_t>(opts.api_port);
  sc.io_threads = static_cast<size_t>(opts.api_io_threads);
  sc.body_limit = static_cast<size_t>(opts.api_body_limit);
  sc.max_wait = opts.api_max_wait;
  sc.page_max = opts.api_page_max;
  sc.page_default = std::min(100, opts.api_page_max);
  if (opts.worker_slots > 0) {
    sc.served_tags = opts.worker_tags;
    if (opts.flow_slots > 0)
      sc.served_tags.push_back(actors::job_kind::flow_tag);
  }
  sc.network_tags = opts.network_tags;
  return sc;
}

actors::worker_config worker_config_of(const options& opts,
                                       std::shared_ptr<sandbox::launcher> launcher) {
  actors::worker_config wk;
  wk.slots = static_cast<size_t>(opts.worker_slots);
  wk.tags = opts.worker_tags;
  auto& s = wk.slot;
  s.kill_grace = opts.kill_grace;
  s.renew_every = opts.lease / 3;
  s.log_max_bytes = static_cast<size_t>(opts.log_max_bytes);
  s.result_max_bytes = static_cast<size_t>(opts.result_max_bytes);
  s.log_flush_every = opts.log_flush_interval;
  s.limits.memory_bytes = opts.memory_bytes;
  s.limits.pids = static_cast<uint32_t>(opts.pids);
  s.limits.cpu_seconds = static_cast<uint32_t>(opts.cpu_seconds);
  s.limits.open_files = static_cast<uint32_t>(opts.open_files);
  s.limits.file_size_bytes = opts.file_size_bytes;
  s.limits.job_dir_bytes = opts.job_dir_bytes;
  s.launcher = std::move(launcher);
  std::error_code ec;
  auto shared = std::filesystem::absolute(opts.shared_dir, ec).lexically_normal().string();
  while (shared.size() > 1 && shared.back() == '/')
    shared.pop_back();
  s.shared_root = ec ? opts.shared_dir : shared;
  return wk;
}

actors::root_config make_root_config(const options& opts, const std::string& conninfo,
                                     std::shared_ptr<sandbox::launcher> launcher,
                                     bool cluster_server) {
  actors::root_config rc;
  auto& w = rc.storage.writer;
  w.writer.connect = {conninfo, opts.connect_timeout, "millrace-writer"};
  w.writer.batch_max = static_cast<size_t>(opts.batch_max);
  w.connections = static_cast<size_t>(opts.writer_connections);
  w.queue_max = static_cast<size_t>(opts.queue_max);
  w.write_timeout = opts.write_timeout;
  auto& r = rc.storage.reader;
  r.reader.connect = {conninfo, opts.connect_timeout, "millrace-reader"};
  r.reader.connections = static_cast<size_t>(opts.readers);
  r.read_timeout = opts.read_timeout;
  rc.storage.maintenance.retention_days = opts.retention_days;
  rc.storage.maintenance.partitions_ahead_days = opts.partitions_ahead_days;
  auto& d = rc.dispatcher;
  d.lease = opts.lease;
  d.flow_lease = opts.flow_lease;
  d.restart_limit = opts.restart_limit;
  d.default_timeout_s = static_cast<int32_t>(opts.default_timeout.count());
  d.max_timeout_s = static_cast<int32_t>(opts.max_timeout.count());
  d.max_unfinished_per_workspace = static_cast<size_t>(opts.max_unfinished_per_workspace);
  d.max_args_bytes = static_cast<size_t>(opts.max_args_bytes);
  d.prefetch = static_cast<size_t>(opts.prefetch);
  d.network_tags = opts.network_tags;
  for (auto& [tag, n] : opts.tag_limits)
    d.tag_limits[tag] = static_cast<size_t>(n);
  if (launcher && opts.worker_slots > 0)
    rc.worker = worker_config_of(opts, std::move(launcher));
  if (opts.flow_slots > 0) {
    actors::flow_engine_config fc;
    fc.slots = static_cast<size_t>(opts.flow_slots);
    fc.renew_every = opts.flow_lease / 3;
    expr::evaluator_config ec;
    ec.memory_mb = static_cast<int>(opts.expr_memory_bytes >> 20);
    fc.eval = std::make_shared<expr::evaluator>(ec);
    rc.extra.push_back(actors::flow_engine_spec(std::move(fc)));
  }
  if (opts.api_port >= 0) {
    auto sc = service_config_of(opts);
    if (cluster_server)
      sc.served_tags.clear();
    rc.extra.push_back(api_spec(std::move(sc)));
  }
  return rc;
}

} // namespace millrace::api
