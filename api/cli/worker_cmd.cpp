// `millrace worker --server HOST:PORT[,HOST:PORT] --tags T1,T2 --slots N`: a
// worker node. It runs N slots and the sandbox, joins a server through the
// cluster link, and carries on across server restarts and failovers. SIGTERM
// (or SIGINT) drains it: no new jobs; running jobs get cluster.drain_grace to
// finish and report; then it stops, and what still runs is handed back for
// new attempts elsewhere. A second signal stops it at once.
//
//   /millrace            supervisor, rest_for_one
//   ├── worker           the slots (actors/worker/)
//   └── link             the cluster link (actors/cluster/link.hpp)

#include <signal.h>

#include <atomic>
#include <iostream>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/cluster/link.hpp"
#include "actors/cluster/node_config.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/protocol/type_ids.hpp"
#include "actors/system/actor_config.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/registry.hpp"
#include "actors/worker/worker_node.hpp"
#include "api/cli/commands.hpp"
#include "api/cli/root_config.hpp"
#include "api/cli/shutdown.hpp"
#include "runtime/runtime.hpp"

namespace millrace::api {

namespace {

/// --server/--tags/--slots/--node (with a value as the next argument or
/// after '=') become the settings they stand for.
std::vector<std::string> translate(const std::vector<std::string>& args) {
  static const std::pair<const char*, const char*> aliases[] = {
    {"--server", "--cluster.servers"}, {"--tags", "--worker.tags"},
    {"--slots", "--worker.slots"},     {"--node", "--cluster.node"}};
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    bool done = false;
    for (auto& [alias, key] : aliases) {
      std::string a = alias;
      if (args[i] == a && i + 1 < args.size()) {
        out.push_back(std::string(key) + "=" + args[++i]);
        done = true;
      } else if (args[i].rfind(a + "=", 0) == 0) {
        out.push_back(std::string(key) + args[i].substr(a.size()));
        done = true;
      }
      if (done)
        break;
    }
    if (!done)
      out.push_back(args[i]);
  }
  return out;
}

struct outcome {
  std::atomic<bool> fatal{false};
};

// Like wait_for_shutdown, with a drain first: the first signal drains the
// node and stops it once drained or after the grace period.
int wait_and_drain(caf::actor_system& sys, const caf::actor& root, const actors::registry& reg,
                   const options& opts, const std::shared_ptr<std::atomic<bool>>& drained,
                   const outcome& out) {
  auto log = actors::logger_for(actors::paths::root);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  enum class phase { running, draining, stopping } ph = phase::running;
  auto deadline = std::chrono::steady_clock::time_point::max();
  bool down = false;
  caf::error reason;
  caf::scoped_actor self{sys, true};
  self->monitor(root);
  auto stop = [&] {
    ph = phase::stopping;
    deadline = std::chrono::steady_clock::now() + opts.shutdown_timeout;
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
  };
  while (!down) {
    timespec ts{0, 50 * 1000 * 1000};
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) {
      if (ph == phase::running) {
        log->info("received {}; draining: running jobs get up to {} s to finish (send it again "
                  "to stop at once)",
                  sig == SIGINT ? "SIGINT" : "SIGTERM", opts.drain_grace.count());
        ph = phase::draining;
        deadline = std::chrono::steady_clock::now() + opts.drain_grace;
        if (auto link = reg.resolve(std::string(actors::paths::root) + "/link"))
          caf::anon_send(link, actors::drain_atom_v);
      } else {
        log->warn("received a second signal; exiting without a clean stop");
        spdlog::shutdown();
        std::_Exit(130);
      }
    }
    if (out.fatal.load() && ph != phase::stopping)
      stop();
    if (ph == phase::draining && drained->load()) {
      log->info("drained; stopping");
      stop();
    } else if (ph == phase::draining && std::chrono::steady_clock::now() > deadline) {
      log->warn("the drain grace of {} s is over; stopping: jobs still running are handed back "
                "for new attempts",
                opts.drain_grace.count());
      stop();
    } else if (ph == phase::stopping && std::chrono::steady_clock::now() > deadline) {
      log->error("clean shutdown took longer than {} s; exiting", opts.shutdown_timeout.count());
      spdlog::shutdown();
      std::_Exit(1);
    }
    self->receive([&](caf::down_msg& dm) {
                    down = true;
                    reason = dm.reason;
                  },
                  caf::after(std::chrono::seconds{0}) >> [] {});
  }
  if (out.fatal.load())
    return 3;
  if (ph == phase::stopping) {
    log->info("stopped cleanly");
    return 0;
  }
  log->error("the root supervisor stopped on its own: {}", actors::describe(reason));
  return 1;
}

} // namespace

int cmd_worker(const std::vector<std::string>& raw) {
  options opts;
  std::vector<std::pair<std::string, uint16_t>> servers;
  std::string secret;
  try {
    opts = load_options(translate(raw));
    try {
      servers = actors::parse_servers(opts.cluster_servers);
    } catch (const std::exception& e) {
      throw config_error(std::string("cluster.servers (--server): ") + e.what());
    }
    if (opts.worker_slots < 1)
      throw config_error("worker.slots (--slots): a worker needs at least 1 slot");
    secret = cluster_secret_of(opts);
  } catch (const config_error& e) {
    std::cerr << "millrace: config error: " << e.what() << "\n";
    return 2;
  }
  setup_logging_of(opts);
  block_shutdown_signals();
  auto log = actors::logger_for(actors::paths::root);
  std::shared_ptr<sandbox::launcher> launcher;
  try {
    launcher = make_launcher(opts);
    log->info("sandbox: {}", launcher->describe());
    runtime::install_support_files();
  } catch (const std::exception& e) {
    log->error("cannot start: {}", e.what());
    return 1;
  }
  auto node = actors::this_node(opts.cluster_node, opts.worker_tags, opts.worker_slots);
  int rc;
  {
    actors::millrace_config cfg{static_cast<size_t>(opts.threads), *actors::parse_scheduler_policy(opts.scheduler)};
    actors::cluster_tls tls{opts.tls_certificate, opts.tls_key, opts.tls_cafile};
    actors::enable_cluster(cfg, opts.cluster_heartbeat, opts.cluster_timeout,
                           opts.cluster_tls ? &tls : nullptr);
    caf::actor_system sys{cfg};
    auto reg = std::make_shared<actors::registry>();
    auto wk = worker_config_of(opts, launcher);
    wk.node = node.name;
    wk.slot.registered_by_link = true;
    outcome out;
    actors::link_config lc;
    lc.servers = servers;
    lc.secret = secret;
    lc.node = node;
    lc.on_fatal = [&out](const std::string&) { out.fatal.store(true); };
    auto drained = lc.drained;
    actors::supervisor_config sc;
    sc.path = actors::paths::root;
    sc.flags.strategy = actors::restart_strategy::rest_for_one;
    sc.flags.intensity = 3;
    sc.flags.period = std::chrono::seconds{60};
    sc.reg = reg;
    sc.log = log;
    sc.children.push_back(actors::worker_node_spec(std::move(wk)));
    sc.children.push_back(actors::link_spec(std::move(lc)));
    auto root = actors::spawn_root_supervisor(sys, std::move(sc));
    std::string tags;
    for (auto& t : opts.worker_tags)
      tags += (tags.empty() ? "" : ",") + t;
    log->info("millrace {} worker '{}' is running: {} slots, tags {}; joining {}", MILLRACE_VERSION,
              node.name, opts.worker_slots, tags, opts.cluster_servers);
    rc = wait_and_drain(sys, root, *reg, opts, drained, out);
  }
  launcher.reset();
  return rc;
}

} // namespace millrace::api
