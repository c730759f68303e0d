// The storage writer actor: the CAF face of storage::batch_writer.
//
// Writes are spread over `connections` batch writers (each a connection with
// its own thread) by key, so writes with one key keep their order and the
// database works on several batches at once. A barrier write (empty key) is
// fenced: every other connection first commits what it already holds, the
// barrier then runs on connection 0, and writes arriving meanwhile wait here.
//
// A write request is handed to a writer thread together with a direct_reply,
// so the writer thread answers the requester itself the moment the write's
// transaction committed (or failed); this actor never relays results.
// Stopping is asynchronous: every writer thread commits and answers what it
// accepted, then signals `wdone`; after the last one the actor leaves. So the
// actor never blocks, and libpq only ever runs on writer threads.

#include <atomic>
#include <deque>
#include <functional>

#include <spdlog/spdlog.h>

#include "caf/all.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "actors/storage/direct_reply.hpp"
#include "actors/storage/storage_tree.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/status.hpp"

namespace millrace::actors {

namespace {

using reply_fn = storage::batch_writer::reply_fn;
using deadline_t = storage::batch_writer::clock::time_point;

struct held_write {
  storage::write_request req;
  deadline_t deadline;
  reply_fn reply;
};

struct writer_state {
  static inline const char* name = "storage_writer";

  writer_actor_config cfg;
  std::vector<std::unique_ptr<storage::batch_writer>> shards;
  // A barrier in progress: first the fences on the other connections, then
  // the barrier itself on connection 0; writes arriving meanwhile are held.
  enum class phase { idle, fencing, barrier } phase = phase::idle;
  size_t fences_left = 0;
  held_write barrier;
  std::deque<held_write> held;
  bool stopping = false;
  size_t shards_running = 0;
  caf::error exit_reason;
  uint64_t accepted = 0;
  uint64_t overloaded = 0;
  uint64_t barriers = 0;
};

using writer_ptr = storage_writer_actor::stateful_pointer<writer_state>;

caf::message to_message(storage::op_result&& r) {
  if (r.ok())
    return caf::make_message(std::move(r.rows));
  return caf::make_message(caf::make_error(r.code, std::move(r.message)));
}

size_t pending(writer_state& st) {
  size_t n = st.held.size() + (st.phase == writer_state::phase::fencing ? 1 : 0);
  for (auto& s : st.shards)
    n += s->pending();
  return n;
}

// Returns a callable that sends `Atom` to this actor; writer threads call it.
template <class Atom>
std::function<void()> notify(writer_ptr self, Atom) {
  caf::actor_addr addr = self->address();
  return [addr] {
    if (auto h = caf::actor_cast<storage_writer_actor>(addr))
      caf::anon_send(h, Atom{});
  };
}

void route(writer_ptr self, held_write w);

void submit_to(writer_ptr self, size_t shard, held_write w) {
  auto reply = std::move(w.reply);
  auto err = self->state.shards[shard]->submit(std::move(w.req), w.deadline, reply);
  if (err)
    reply(std::move(*err));
}

void run_barrier(writer_ptr self);

void start_barrier(writer_ptr self, held_write w) {
  auto& st = self->state;
  ++st.barriers;
  st.phase = writer_state::phase::fencing;
  st.barrier = std::move(w);
  st.fences_left = st.shards.size() - 1;
  auto done = notify(self, fence_atom_v);
  for (size_t i = 1; i < st.shards.size(); ++i) {
    auto err = st.shards[i]->submit(storage::write_request{"fence", {}, ""}, st.barrier.deadline,
                                    [done](storage::op_result&&) { done(); });
    if (err)
      done();
  }
}

void route(writer_ptr self, held_write w) {
  auto& st = self->state;
  if (st.phase != writer_state::phase::idle) {
    st.held.push_back(std::move(w));
    return;
  }
  if (st.shards.size() == 1)
    return submit_to(self, 0, std::move(w));
  if (w.req.key.empty())
    return start_barrier(self, std::move(w));
  auto shard = std::hash<std::string>{}(w.req.key) % st.shards.size();
  submit_to(self, shard, std::move(w));
}

// Every other connection committed what it held before the barrier: run the
// barrier on connection 0, which holds everything sent there before it.
void run_barrier(writer_ptr self) {
  auto& st = self->state;
  st.phase = writer_state::phase::barrier;
  auto reply = std::move(st.barrier.reply);
  auto done = notify(self, barrier_atom_v);
  submit_to(self, 0, held_write{std::move(st.barrier.req), st.barrier.deadline,
                                [reply, done](storage::op_result&& r) mutable {
                                  reply(std::move(r));
                                  done();
                                }});
}

// The barrier was answered: route the writes held behind it, in order.
void release_held(writer_ptr self) {
  auto& st = self->state;
  st.phase = writer_state::phase::idle;
  auto held = std::move(st.held);
  st.held.clear();
  while (!held.empty() && st.phase == writer_state::phase::idle) {
    route(self, std::move(held.front()));
    held.pop_front();
  }
  // A barrier among the held writes started a new phase: keep the rest held.
  while (!held.empty()) {
    st.held.push_back(std::move(held.front()));
    held.pop_front();
  }
}

storage::writer_stats sum_stats(writer_state& st) {
  storage::writer_stats out;
  out.connected = true;
  for (auto& s : st.shards) {
    auto x = s->stats();
    out.batches += x.batches;
    out.writes += x.writes;
    out.executions += x.executions;
    out.max_batch = std::max(out.max_batch, x.max_batch);
    out.reconnects += x.reconnects;
    out.resent_batches += x.resent_batches;
    out.isolations += x.isolations;
    out.failed_writes += x.failed_writes;
    out.commit_micros += x.commit_micros;
    out.encode_micros += x.encode_micros;
    out.server_micros += x.server_micros;
    out.decode_micros += x.decode_micros;
    for (size_t b = 0; b < 7; ++b)
      out.size_buckets[b] += x.size_buckets[b];
    for (size_t b = 0; b < 9; ++b)
      out.commit_buckets[b] += x.commit_buckets[b];
    out.connected = out.connected && x.connected;
  }
  return out;
}

storage_writer_actor::behavior_type writer_actor(writer_ptr self, writer_actor_config cfg,
                                                 std::string path) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  if (!init.cfg.writer.log)
    init.cfg.writer.log = logger_for(path);
  auto* reg = init.cfg.statements ? init.cfg.statements : &storage::statement_registry::builtin();
  for (size_t i = 0; i < std::max<size_t>(1, init.cfg.connections); ++i) {
    init.shards.push_back(std::make_unique<storage::batch_writer>(init.cfg.writer, *reg));
    init.shards.back()->start();
  }
  self->set_exit_handler([self](caf::exit_msg& em) {
    // Commit what was accepted and answer every request, then leave.
    auto& st = self->state;
    if (st.stopping)
      return;
    st.stopping = true;
    st.exit_reason = em.reason;
    // Writes waiting behind a barrier were accepted: hand them over (the
    // barrier first, if it still waits for its fences) before the stop.
    if (st.phase == writer_state::phase::fencing)
      submit_to(self, 0, std::move(st.barrier));
    st.phase = writer_state::phase::idle;
    for (auto& w : st.held) {
      auto shard = w.req.key.empty() ? 0 : std::hash<std::string>{}(w.req.key) % st.shards.size();
      submit_to(self, shard, std::move(w));
    }
    st.held.clear();
    st.shards_running = st.shards.size();
    auto done = notify(self, wdone_atom_v);
    for (auto& s : st.shards)
      s->stop_async(done);
  });
  return {
    [self](write_atom, storage::write_request& req) -> caf::result<storage::result_set> {
      auto& st = self->state;
      auto queued = pending(st);
      if (queued >= st.cfg.queue_max) {
        ++st.overloaded;
        return caf::make_error(storage::storage_errc::overloaded,
                               "the storage writer has " + std::to_string(queued)
                                 + " writes queued (storage.queue_max); retry later");
      }
      if (st.stopping)
        return caf::make_error(storage::storage_errc::shutting_down,
                               std::string("the storage writer is stopping"));
      auto deadline = storage::batch_writer::clock::now()
                      + std::chrono::duration_cast<std::chrono::nanoseconds>(st.cfg.write_timeout);
      auto rp = self->make_response_promise<storage::result_set>();
      direct_reply reply{rp};
      ++st.accepted;
      route(self, held_write{std::move(req), deadline,
                             [reply](storage::op_result&& r) mutable {
                               reply(to_message(std::move(r)));
                             }});
      return rp;
    },
    [self](write_atom, std::vector<storage::write_request>& reqs)
      -> caf::result<std::vector<storage::op_result>> {
      auto& st = self->state;
      auto queued = pending(st);
      if (queued + reqs.size() > st.cfg.queue_max) {
        ++st.overloaded;
        return caf::make_error(storage::storage_errc::overloaded,
                               "the storage writer has " + std::to_string(queued)
                                 + " writes queued and cannot take " + std::to_string(reqs.size())
                                 + " more (storage.queue_max); retry later");
      }
      if (st.stopping)
        return caf::make_error(storage::storage_errc::shutting_down,
                               std::string("the storage writer is stopping"));
      auto deadline = storage::batch_writer::clock::now()
                      + std::chrono::duration_cast<std::chrono::nanoseconds>(st.cfg.write_timeout);
      auto rp = self->make_response_promise<std::vector<storage::op_result>>();
      // Each slot of `results` is written by one thread (a writer thread, or
      // this actor for a write refused at the door); the acq_rel count makes
      // them all visible to whoever settles the last one. The count starts
      // one higher, for this handler itself, so the reply cannot go out before
      // every write was routed.
      struct group {
        std::vector<storage::op_result> results;
        std::atomic<size_t> remaining;
        direct_reply reply;
        group(size_t n, direct_reply r) : results(n), remaining(n + 1), reply(std::move(r)) {}
      };
      auto g = std::make_shared<group>(reqs.size(), direct_reply{rp});
      auto done_one = [g] {
        if (g->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1)
          g->reply(caf::make_message(std::move(g->results)));
      };
      for (size_t i = 0; i < reqs.size(); ++i)
        route(self, held_write{std::move(reqs[i]), deadline,
                               [g, i, done_one](storage::op_result&& r) {
                                 g->results[i] = std::move(r);
                                 done_one();
                               }});
      st.accepted += reqs.size();
      done_one();
      return rp;
    },
    [self](fence_atom) {
      auto& st = self->state;
      if (st.phase == writer_state::phase::fencing && --st.fences_left == 0)
        run_barrier(self);
    },
    [self](barrier_atom) {
      if (self->state.phase == writer_state::phase::barrier)
        release_held(self);
    },
    [self](wdone_atom) {
      // A writer thread answered its last write after the stop request.
      auto& st = self->state;
      if (st.stopping && --st.shards_running == 0)
        self->quit(st.exit_reason);
    },
    [self](stats_atom) -> storage::writer_stats { return sum_stats(self->state); },
    [self](status_atom) -> actor_status {
      auto& st = self->state;
      auto s = sum_stats(st);
      std::string summary = std::string(s.connected ? "connected" : "disconnected")
                            + " connections=" + std::to_string(st.shards.size())
                            + " pending=" + std::to_string(pending(st))
                            + " batches=" + std::to_string(s.batches)
                            + " writes=" + std::to_string(s.writes)
                            + " max_batch=" + std::to_string(s.max_batch)
                            + " reconnects=" + std::to_string(s.reconnects)
                            + " barriers=" + std::to_string(st.barriers)
                            + " overloaded=" + std::to_string(st.overloaded);
      return make_status(self, std::move(summary));
    },
  };
}

} // namespace

caf::actor spawn_storage_writer(caf::actor_system& sys, writer_actor_config cfg,
                                const std::string& path) {
  return caf::actor_cast<caf::actor>(sys.spawn(writer_actor, std::move(cfg), path));
}

} // namespace millrace::actors
