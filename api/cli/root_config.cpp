#include "api/cli/root_config.hpp"

namespace millrace::api {

actors::root_config make_root_config(const options& opts, const std::string& conninfo) {
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
  return rc;
}

} // namespace millrace::api
