// The dispatcher's test fixture: the dispatcher on the test coordinator
// (virtual clock, no threads) with a fake storage writer/reader and fake
// worker slots that record what they are told.

#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actors/dispatcher/dispatcher.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/paths.hpp"
#include "actors/system/registry.hpp"
#include "tests/fakes/fake_storage.hpp"
#include "tests/support/actor_test.hpp"

namespace millrace::test {

using namespace std::chrono_literals;
using namespace millrace::actors;

struct slot_log {
  std::vector<std::string> events;
  std::vector<job_assignment> runs;
  /// What the slot answers `sweep` with (its node's shared folders).
  std::set<std::string> folders;
};

// Registers like a real slot: with the attempt it holds, if any (a slot of a
// node that rejoins), and says `ready` unless it holds a running attempt.
inline worker_slot_actor::behavior_type fake_slot(worker_slot_actor::pointer self, slot_info info,
                                                  std::shared_ptr<slot_log> log,
                                                  dispatcher_actor d) {
  auto name = info.name;
  bool running = !info.job_id.empty() && !info.finished;
  self->send(d, register_atom_v, caf::actor_cast<worker_slot_actor>(self), std::move(info));
  if (!running)
    self->send(d, ready_atom_v, name);
  return {
    [log](run_atom, job_assignment& a, std::vector<job_watcher_actor>&) {
      log->events.push_back("run " + a.job_id + " #" + std::to_string(a.attempt));
      log->runs.push_back(a);
    },
    [log](claimed_atom, std::string& id, int32_t) { log->events.push_back("claimed " + id); },
    [log](cancel_atom, std::string& id, int32_t) { log->events.push_back("cancel " + id); },
    [log](abort_atom, std::string& id, int32_t) { log->events.push_back("abort " + id); },
    [](watch_atom, std::string&, job_watcher_actor&) {},
    [](output_atom, uint64_t, uint8_t, std::string&) {},
    [](exited_atom, uint64_t, exit_record&) {},
    [](tick_atom, uint64_t) {},
    [](register_atom) {},
    [log](unpin_atom, std::string& id) { log->events.push_back("unpin " + id); },
    [log](sweep_atom) {
      log->events.push_back("sweep");
      return log->folders;
    },
    [](status_atom) { return actor_status{"fake", 0}; },
  };
}

class DispatcherTest : public actor_test {
protected:
  std::shared_ptr<fake_db> db = std::make_shared<fake_db>();
  std::shared_ptr<registry> reg = std::make_shared<registry>();
  dispatcher_actor disp;
  std::vector<caf::actor> owned;

  void start(dispatcher_config dcfg = {}) {
    auto w = millrace::test::spawn_fake_writer(sys, db);
    auto r = millrace::test::spawn_fake_reader(sys, db);
    owned = {w, r};
    reg->put({paths::storage_writer, "fake", "", w, {}, 0});
    reg->put({paths::storage_reader, "fake", "", r, {}, 0});
    auto d = spawn_dispatcher(sys, dcfg, reg, paths::dispatcher);
    owned.push_back(d);
    reg->put({paths::dispatcher, "dispatcher", "", d, {}, 0});
    disp = caf::actor_cast<dispatcher_actor>(d);
    run();
  }

  /// `folders`: the shared folders its node holds.
  std::shared_ptr<slot_log> add_slot(const std::string& name, std::vector<std::string> tags,
                                     std::set<std::string> folders = {}) {
    return add_slot(slot_info{name, std::move(tags), {}, 0, {}, false}, std::move(folders));
  }

  /// A slot registering with `info` (which may name an attempt it holds).
  std::shared_ptr<slot_log> add_slot(slot_info info, std::set<std::string> folders = {}) {
    auto log = std::make_shared<slot_log>();
    log->folders = std::move(folders);
    owned.push_back(caf::actor_cast<caf::actor>(sys.spawn(fake_slot, std::move(info), log, disp)));
    run();
    return log;
  }

  static job_spec noop(const std::string& ws = "admins", int priority = 0,
                       const std::string& tag = "") {
    job_spec s;
    s.kind = job_kind::noop;
    s.workspace = ws;
    s.priority = priority;
    s.tag = tag;
    return s;
  }

  /// A job with a process (its claim is written on its own).
  static job_spec bash() {
    job_spec s;
    s.kind = job_kind::preview;
    s.language = "bash";
    s.code = "echo hi";
    return s;
  }

  // Submits and returns the job id (or the error text, prefixed "error: ").
  std::string submit(job_spec spec) {
    caf::scoped_actor self{sys};
    auto req = self->request(disp, caf::infinite, submit_atom_v, std::move(spec));
    run();
    std::string out;
    req.receive([&](submit_reply& r) { out = r.job_id; },
                [&](caf::error& e) { out = "error: " + describe(e); });
    return out;
  }

  void done(const job_assignment& a, const std::string& status = job_status::success) {
    caf::anon_send(disp, done_atom_v,
                   job_outcome{a.job_id, a.attempt, a.lease_owner, status, "null", 1, {}});
    run();
  }

  dispatcher_stats stats() {
    caf::scoped_actor self{sys};
    auto req = self->request(disp, caf::infinite, stats_atom_v);
    run();
    dispatcher_stats out;
    req.receive([&](dispatcher_stats& s) { out = s; }, [](caf::error&) {});
    return out;
  }

  void TearDown() override {
    for (auto& a : owned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    drain();
  }
};

inline dispatcher_config no_recovery() {
  dispatcher_config cfg;
  cfg.recover = false;
  return cfg;
}

// One job per slot at a time, to watch the order of service.
inline dispatcher_config one_at_a_time(dispatcher_config cfg = no_recovery()) {
  cfg.prefetch = 0;
  return cfg;
}

} // namespace millrace::test
