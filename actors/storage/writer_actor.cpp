// The storage writer actor: a thin CAF face over storage::batch_writer.
//
// It runs detached (its own thread), because stopping it joins the writer
// thread; libpq itself only ever runs on the writer thread. Requests are
// answered through response promises, delivered when the writer thread hands
// back a batch's results (through a mutex-guarded inbox plus a coalesced
// `wdone` wake-up message; a promise must be delivered by its own actor).

#include <deque>
#include <mutex>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/storage/storage_tree.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors {

namespace {

struct writer_inbox {
  std::mutex mu;
  std::vector<storage::batch_writer::completion> items;
};

struct writer_state {
  static inline const char* name = "storage_writer";

  writer_actor_config cfg;
  std::string path;
  std::shared_ptr<writer_inbox> inbox = std::make_shared<writer_inbox>();
  std::unique_ptr<storage::batch_writer> writer;
  std::unordered_map<uint64_t, caf::typed_response_promise<storage::result_set>> pending;
  uint64_t next_token = 1;
  uint64_t overloaded = 0;
};

using writer_ptr = storage_writer_actor::stateful_pointer<writer_state>;

void deliver_ready(writer_ptr self) {
  std::vector<storage::batch_writer::completion> ready;
  {
    std::lock_guard<std::mutex> guard{self->state.inbox->mu};
    ready.swap(self->state.inbox->items);
  }
  auto& pending = self->state.pending;
  for (auto& [token, res] : ready) {
    auto i = pending.find(token);
    if (i == pending.end())
      continue;
    if (res.ok())
      i->second.deliver(std::move(res.rows));
    else
      i->second.deliver(caf::make_error(res.code, std::move(res.message)));
    pending.erase(i);
  }
}

storage_writer_actor::behavior_type writer_actor(writer_ptr self, writer_actor_config cfg,
                                                 std::string path) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.path = path;
  if (!init.cfg.writer.log)
    init.cfg.writer.log = logger_for(path);
  auto inbox = init.inbox;
  caf::actor_addr addr = self->address();
  init.writer = std::make_unique<storage::batch_writer>(
    init.cfg.writer, storage::statement_registry::builtin(),
    [inbox, addr](std::vector<storage::batch_writer::completion>&& done) {
      bool wake;
      {
        std::lock_guard<std::mutex> guard{inbox->mu};
        wake = inbox->items.empty();
        if (wake)
          inbox->items = std::move(done);
        else
          for (auto& c : done)
            inbox->items.push_back(std::move(c));
      }
      if (wake)
        if (auto h = caf::actor_cast<storage_writer_actor>(addr))
          caf::anon_send(h, wdone_atom_v);
    });
  init.writer->start();
  self->set_exit_handler([self](caf::exit_msg& em) {
    // Commit what was accepted, answer every request, then leave.
    self->state.writer->stop();
    deliver_ready(self);
    for (auto& [token, rp] : self->state.pending)
      rp.deliver(caf::make_error(storage::storage_errc::shutting_down,
                                 std::string("the storage writer stopped")));
    self->state.pending.clear();
    self->quit(em.reason);
  });
  return {
    [self](write_atom, storage::write_request& req) -> caf::result<storage::result_set> {
      auto& st = self->state;
      if (st.pending.size() >= st.cfg.queue_max) {
        ++st.overloaded;
        return caf::make_error(storage::storage_errc::overloaded,
                               "the storage writer has " + std::to_string(st.pending.size())
                                 + " writes queued (storage.queue_max); retry later");
      }
      auto token = st.next_token++;
      auto deadline = storage::batch_writer::clock::now()
                      + std::chrono::duration_cast<std::chrono::nanoseconds>(st.cfg.write_timeout);
      if (auto err = st.writer->submit(token, std::move(req), deadline))
        return caf::make_error(err->code, std::move(err->message));
      auto rp = self->make_response_promise<storage::result_set>();
      st.pending.emplace(token, rp);
      return rp;
    },
    [self](wdone_atom) { deliver_ready(self); },
    [self](stats_atom) -> storage::writer_stats { return self->state.writer->stats(); },
    [self](status_atom) -> actor_status {
      auto& st = self->state;
      auto s = st.writer->stats();
      std::string summary = std::string(s.connected ? "connected" : "disconnected")
                            + " pending=" + std::to_string(st.pending.size())
                            + " batches=" + std::to_string(s.batches)
                            + " writes=" + std::to_string(s.writes)
                            + " max_batch=" + std::to_string(s.max_batch)
                            + " reconnects=" + std::to_string(s.reconnects)
                            + " overloaded=" + std::to_string(st.overloaded);
      return make_status(self, std::move(summary));
    },
  };
}

} // namespace

caf::actor spawn_storage_writer(caf::actor_system& sys, writer_actor_config cfg,
                                const std::string& path) {
  return caf::actor_cast<caf::actor>(sys.spawn<caf::detached>(writer_actor, std::move(cfg), path));
}

} // namespace millrace::actors
