// The storage reader actor: a CAF face over storage::reader_pool. Detached for
// the same reason as the writer (stopping joins the pool's threads).

#include <mutex>
#include <unordered_map>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/storage/storage_tree.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors {

namespace {

struct reader_inbox {
  std::mutex mu;
  std::vector<std::pair<uint64_t, storage::op_result>> items;
};

struct reader_state {
  static inline const char* name = "storage_reader";

  reader_actor_config cfg;
  std::shared_ptr<reader_inbox> inbox = std::make_shared<reader_inbox>();
  std::unique_ptr<storage::reader_pool> pool;
  std::unordered_map<uint64_t, caf::typed_response_promise<storage::result_set>> pending;
  uint64_t next_token = 1;
  uint64_t reads = 0;
};

using reader_ptr = storage_reader_actor::stateful_pointer<reader_state>;

void deliver_ready(reader_ptr self) {
  std::vector<std::pair<uint64_t, storage::op_result>> ready;
  {
    std::lock_guard<std::mutex> guard{self->state.inbox->mu};
    ready.swap(self->state.inbox->items);
  }
  for (auto& [token, res] : ready) {
    auto i = self->state.pending.find(token);
    if (i == self->state.pending.end())
      continue;
    if (res.ok())
      i->second.deliver(std::move(res.rows));
    else
      i->second.deliver(caf::make_error(res.code, std::move(res.message)));
    self->state.pending.erase(i);
  }
}

storage_reader_actor::behavior_type reader_actor(reader_ptr self, reader_actor_config cfg,
                                                 std::string path) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  if (!init.cfg.reader.log)
    init.cfg.reader.log = logger_for(path);
  auto inbox = init.inbox;
  caf::actor_addr addr = self->address();
  init.pool = std::make_unique<storage::reader_pool>(
    init.cfg.reader, storage::statement_registry::builtin(),
    [inbox, addr](uint64_t token, storage::op_result&& res) {
      bool wake;
      {
        std::lock_guard<std::mutex> guard{inbox->mu};
        wake = inbox->items.empty();
        inbox->items.emplace_back(token, std::move(res));
      }
      if (wake)
        if (auto h = caf::actor_cast<storage_reader_actor>(addr))
          caf::anon_send(h, rdone_atom_v);
    });
  init.pool->start();
  self->set_exit_handler([self](caf::exit_msg& em) {
    self->state.pool->stop();
    deliver_ready(self);
    for (auto& [token, rp] : self->state.pending)
      rp.deliver(caf::make_error(storage::storage_errc::shutting_down,
                                 std::string("the storage reader stopped")));
    self->state.pending.clear();
    self->quit(em.reason);
  });
  return {
    [self](read_atom, storage::read_request& req) -> caf::result<storage::result_set> {
      auto& st = self->state;
      if (st.pending.size() >= st.cfg.queue_max)
        return caf::make_error(storage::storage_errc::overloaded,
                               "the storage reader has " + std::to_string(st.pending.size())
                                 + " reads queued; retry later");
      auto token = st.next_token++;
      ++st.reads;
      auto deadline = storage::reader_pool::clock::now()
                      + std::chrono::duration_cast<std::chrono::nanoseconds>(st.cfg.read_timeout);
      if (auto err = st.pool->submit(token, std::move(req), deadline))
        return caf::make_error(err->code, std::move(err->message));
      auto rp = self->make_response_promise<storage::result_set>();
      st.pending.emplace(token, rp);
      return rp;
    },
    [self](rdone_atom) { deliver_ready(self); },
    [self](status_atom) -> actor_status {
      auto& st = self->state;
      return make_status(self, "connections=" + std::to_string(st.cfg.reader.connections)
                                 + " pending=" + std::to_string(st.pending.size())
                                 + " reads=" + std::to_string(st.reads));
    },
  };
}

} // namespace

caf::actor spawn_storage_reader(caf::actor_system& sys, reader_actor_config cfg,
                                const std::string& path) {
  return caf::actor_cast<caf::actor>(sys.spawn<caf::detached>(reader_actor, std::move(cfg), path));
}

} // namespace millrace::actors
