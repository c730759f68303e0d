#include "tests/support/job_tree.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <system_error>

#include <gtest/gtest.h>

#include "actors/protocol/errors.hpp"
#include "actors/protocol/paths.hpp"
#include "runtime/runtime.hpp"
#include "storage/pg/connection.hpp"

namespace millrace::test {

using namespace std::chrono_literals;

job_tree::job_tree(job_tree_options opts)
  : db_(opts.db ? opts.db : std::make_shared<scratch_database>()) {
  runtime::install_support_files();
  sandbox::launcher_config lc;
  lc.standby = opts.standby;
  launcher_ = std::shared_ptr<sandbox::launcher>{sandbox::make_bwrap_launcher(lc)};
  actors::root_config rc;
  rc.storage.writer.writer.connect = {db_->conninfo(), std::chrono::seconds{5}, "test"};
  rc.storage.reader.reader.connect = {db_->conninfo(), std::chrono::seconds{5}, "test"};
  rc.dispatcher.lease = opts.lease;
  rc.dispatcher.network_tags = opts.network_tags;
  actors::worker_config w;
  w.node = "test";
  w.slots = opts.slots;
  w.tags = opts.tags;
  w.slot.kill_grace = opts.kill_grace;
  w.slot.log_max_bytes = opts.log_max_bytes;
  w.slot.limits = opts.limits;
  w.slot.renew_every = opts.lease / 3;
  w.slot.launcher = launcher_;
  shared_root_ = opts.shared_root;
  if (shared_root_.empty()) {
    static std::atomic<int> trees{0};
    shared_root_ = "/tmp/millrace-test-shared-" + std::to_string(::getpid()) + "-"
                   + std::to_string(++trees);
    own_shared_root_ = true;
  }
  w.slot.shared_root = shared_root_;
  rc.worker = w;
  rc.extra = opts.extra;
  root_ = actors::spawn_root(sys_, reg_, rc);
  // Wait until every slot registered with the dispatcher. At least: a flow
  // recovered from the database may have started already, and the flow
  // pool keeps its spares beside it (the extra slots leave a tick later).
  caf::scoped_actor self{sys_, true};
  for (int i = 0; i < 1000; ++i) {
    if (auto d = reg_->resolve_as<actors::dispatcher_actor>(actors::paths::dispatcher)) {
      bool ready = false;
      self->request(d, 5s, actors::stats_atom_v)
        .receive([&](actors::dispatcher_stats& s) {
                   ready = s.slots >= opts.slots + opts.extra_slots
                           && s.idle_slots >= opts.slots + opts.extra_slots && !s.recovering;
                 },
                 [](caf::error&) {});
      if (ready)
        return;
    }
    self->receive(caf::after(10ms) >> [] {});
  }
  ADD_FAILURE() << "the dispatcher did not recover or the worker slots did not register";
}

job_tree::~job_tree() {
  caf::scoped_actor self{sys_, true};
  self->monitor(root_);
  self->send_exit(root_, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {}, caf::after(60s) >> [] { ADD_FAILURE() << "slow stop"; });
  if (own_shared_root_) {
    std::error_code ec;
    std::filesystem::remove_all(shared_root_, ec);
  }
}

actors::dispatcher_actor job_tree::dispatcher() {
  return reg_->resolve_as<actors::dispatcher_actor>(actors::paths::dispatcher);
}

actors::job_spec job_tree::script(const std::string& language, const std::string& code,
                                  const std::string& args) {
  actors::job_spec s;
  s.kind = actors::job_kind::preview;
  s.language = language;
  s.code = code;
  s.args = args;
  s.created_by = "test";
  return s;
}

std::string job_tree::submit(actors::job_spec spec) {
  caf::scoped_actor self{sys_, true};
  std::string id;
  self->request(dispatcher(), 60s, actors::submit_atom_v, std::move(spec))
    .receive([&](actors::submit_reply& r) { id = r.job_id; },
             [&](caf::error& e) { ADD_FAILURE() << "submit: " << actors::describe(e); });
  return id;
}

std::string job_tree::submit_error(actors::job_spec spec) {
  caf::scoped_actor self{sys_, true};
  std::string err;
  self->request(dispatcher(), 60s, actors::submit_atom_v, std::move(spec))
    .receive([&](actors::submit_reply&) {}, [&](caf::error& e) { err = actors::describe(e); });
  return err;
}

actors::job_result job_tree::wait(const std::string& job_id, std::chrono::seconds limit) {
  caf::scoped_actor self{sys_, true};
  actors::job_result out;
  self->request(dispatcher(), limit, actors::wait_atom_v, job_id)
    .receive([&](actors::job_result& r) { out = r; },
             [&](caf::error& e) { ADD_FAILURE() << "wait: " << actors::describe(e); });
  return out;
}

actors::cancel_reply job_tree::cancel(const std::string& job_id) {
  caf::scoped_actor self{sys_, true};
  actors::cancel_reply out;
  self->request(dispatcher(), 60s, actors::cancel_atom_v, job_id, std::string("test"),
                std::string("asked by the test"))
    .receive([&](actors::cancel_reply& r) { out = r; },
             [&](caf::error& e) { ADD_FAILURE() << "cancel: " << actors::describe(e); });
  return out;
}

std::string job_tree::logs(const std::string& job_id) {
  storage::pg::connection c{storage::pg::connect_options{db_->conninfo()}};
  auto rs = c.query("SELECT string_agg(l.chunk, '' ORDER BY l.attempt, l.seq) FROM job_log l "
                    "JOIN job j ON j.id = l.job_id AND j.created_at = l.job_created_at "
                    "WHERE j.id = $1",
                    {job_id});
  return rs.rows[0][0].null ? std::string{} : rs.rows[0][0].text;
}

std::vector<std::string> job_tree::events(const std::string& job_id) {
  storage::pg::connection c{storage::pg::connect_options{db_->conninfo()}};
  auto rs = c.query("SELECT e.attempt || ':' || e.kind FROM job_event e JOIN job j ON j.id = "
                    "e.job_id AND j.created_at = e.job_created_at WHERE j.id = $1 "
                    "ORDER BY e.at, e.attempt, CASE e.kind WHEN 'queued' THEN 0 WHEN 'running' THEN 1 "
                    "WHEN 'cancel_requested' THEN 2 WHEN 'requeued' THEN 3 ELSE 4 END",
                    {job_id});
  std::vector<std::string> out;
  for (auto& r : rs.rows)
    out.push_back(r[0].text);
  return out;
}

} // namespace millrace::test
