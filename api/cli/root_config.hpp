// Translates options into the root tree's configuration.

#pragma once

#include <memory>
#include <string>

#include "actors/system/root.hpp"
#include "api/config/options.hpp"
#include "api/service/api_actor.hpp"
#include "sandbox/launcher.hpp"

namespace millrace::api {

/// `launcher`: the sandbox for this process's worker slots (null: no worker).
/// `cluster_server`: worker nodes serve tags of their own, so the API does
/// not limit tags to those of this process's slots.
actors::root_config make_root_config(const options& opts, const std::string& conninfo,
                                     std::shared_ptr<sandbox::launcher> launcher,
                                     bool cluster_server = false);

/// The worker node the options describe (worker.*, sandbox.*; the lease
/// renewal from dispatcher.lease), its slots sharing `launcher`.
actors::worker_config worker_config_of(const options& opts,
                                       std::shared_ptr<sandbox::launcher> launcher);

/// Logging as log.format and log.level say.
void setup_logging_of(const options& opts);

/// The shared cluster secret (cluster.secret_file, else
/// MILLRACE_CLUSTER_SECRET). Throws config_error saying what is wrong.
std::string cluster_secret_of(const options& opts);

/// The sandbox launcher the options describe. Throws std::runtime_error.
std::shared_ptr<sandbox::launcher> make_launcher(const options& opts);

/// The HTTP API's settings (api.* keys).
service_config service_config_of(const options& opts);

} // namespace millrace::api
