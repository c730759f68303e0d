// The storage reader actor: the CAF face of storage::reader_pool. Like the
// writer, the pool's threads answer requesters directly (direct_reply), and
// stopping is asynchronous (`rdone` once the last thread finished).

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/storage/direct_reply.hpp"
#include "actors/storage/storage_tree.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors {

namespace {

struct reader_state {
  static inline const char* name = "storage_reader";

  reader_actor_config cfg;
  std::unique_ptr<storage::reader_pool> pool;
  bool stopping = false;
  caf::error exit_reason;
  uint64_t reads = 0;
};

using reader_ptr = storage_reader_actor::stateful_pointer<reader_state>;

storage_reader_actor::behavior_type reader_actor(reader_ptr self, reader_actor_config cfg,
                                                 std::string path) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  if (!init.cfg.reader.log)
    init.cfg.reader.log = logger_for(path);
  auto* reg = init.cfg.statements ? init.cfg.statements : &storage::statement_registry::builtin();
  init.pool = std::make_unique<storage::reader_pool>(init.cfg.reader, *reg);
  init.pool->start();
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    if (st.stopping)
      return;
    st.stopping = true;
    st.exit_reason = em.reason;
    caf::actor_addr addr = self->address();
    st.pool->stop_async([addr] {
      if (auto h = caf::actor_cast<storage_reader_actor>(addr))
        caf::anon_send(h, rdone_atom_v);
    });
  });
  return {
    [self](read_atom, storage::read_request& req) -> caf::result<storage::result_set> {
      auto& st = self->state;
      auto queued = st.pool->pending();
      if (queued >= st.cfg.queue_max)
        return caf::make_error(storage::storage_errc::overloaded,
                               "the storage reader has " + std::to_string(queued)
                                 + " reads queued; retry later");
      auto deadline = storage::reader_pool::clock::now()
                      + std::chrono::duration_cast<std::chrono::nanoseconds>(st.cfg.read_timeout);
      auto rp = self->make_response_promise<storage::result_set>();
      direct_reply reply{rp};
      auto err = st.pool->submit(std::move(req), deadline, [reply](storage::op_result&& r) mutable {
        if (r.ok())
          reply(caf::make_message(std::move(r.rows)));
        else
          reply(caf::make_message(caf::make_error(r.code, std::move(r.message))));
      });
      if (err) {
        // The promise owns the answer now; an error returned here would be lost.
        rp.deliver(caf::make_error(err->code, std::move(err->message)));
        return rp;
      }
      ++st.reads;
      return rp;
    },
    [self](rdone_atom) {
      if (self->state.stopping)
        self->quit(self->state.exit_reason);
    },
    [self](status_atom) -> actor_status {
      auto& st = self->state;
      return make_status(self, "connections=" + std::to_string(st.cfg.reader.connections)
                                 + " pending=" + std::to_string(st.pool->pending())
                                 + " reads=" + std::to_string(st.reads));
    },
  };
}

} // namespace

caf::actor spawn_storage_reader(caf::actor_system& sys, reader_actor_config cfg,
                                const std::string& path) {
  return caf::actor_cast<caf::actor>(sys.spawn(reader_actor, std::move(cfg), path));
}

} // namespace millrace::actors
