// What the flow integration tests share: a job tree with the flow engine,
// flow jobs, bash steps, a view of the database, and a server stop mid-step.

#pragma once

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "actors/flow/flow_engine.hpp"
#include "storage/pg/connection.hpp"
#include "tests/support/job_tree.hpp"

namespace millrace::test::flows {

using namespace millrace::actors;

inline constexpr size_t flow_slots = 4;

inline job_tree_options with_flows(size_t slots = 4,
                                   caf::timespan lease = std::chrono::seconds{30}) {
  job_tree_options o;
  o.slots = slots;
  o.lease = lease;
  flow_engine_config fc;
  fc.slots = flow_slots;
  fc.renew_every = lease / 3;
  o.extra = {flow_engine_spec(fc)};
  o.extra_slots = initial_flow_slots(fc);
  return o;
}

inline job_spec flow(const std::string& value, const std::string& args = "{}") {
  job_spec s;
  s.kind = job_kind::flowpreview;
  s.code = value;
  s.args = args;
  return s;
}

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A bash step: `body` runs with the named args as $1, $2, ...
inline std::string bash_step(const std::string& id, const std::string& body,
                             const std::string& transforms = "{}") {
  std::string content;
  for (char ch : body) {
    if (ch == '"' || ch == '\\')
      content += '\\';
    content += ch == '\n' ? std::string{"\\n"} : std::string(1, ch);
  }
  return R"({"id":")" + id + R"(","value":{"type":"rawscript","language":"bash","content":")"
         + content + R"(","input_transforms":)" + transforms + "}}";
}

struct db_view {
  storage::pg::connection c;
  explicit db_view(const std::string& conninfo) : c{storage::pg::connect_options{conninfo}} {}
  // Step jobs of a flow (direct children), oldest first: status and result.
  std::vector<std::pair<std::string, std::string>> steps(const std::string& flow_id) {
    auto rs = c.query("SELECT c.status, c.result::text FROM job j JOIN job_completed c "
                      "ON c.job_id = j.id WHERE j.parent_job = $1 ORDER BY j.created_at, j.id",
                      {flow_id});
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& row : rs.rows)
      out.emplace_back(row[0].text, row[1].text);
    return out;
  }
  // Waits (up to 30 s, on `self`'s clock) until a step job of the flow whose
  // code matches `like` (SQL LIKE) is running; false if none did.
  bool wait_step_running(const std::string& flow_id, const std::string& like,
                         caf::scoped_actor& self) {
    for (int i = 0; i < 3000; ++i) {
      auto rs = c.query("SELECT count(*) FROM job j JOIN job_queue q ON q.job_id = j.id "
                        "WHERE j.parent_job = $1 AND q.state = 'running' AND j.raw_code LIKE $2",
                        {flow_id, like});
      if (rs.rows[0][0].text == "1")
        return true;
      self->receive(caf::after(std::chrono::milliseconds{10}) >> [] {});
    }
    return false;
  }
  // Ids of the flow's step jobs (direct children), oldest first.
  std::vector<std::string> step_ids(const std::string& flow_id) {
    auto rs = c.query("SELECT id::text FROM job WHERE parent_job = $1 ORDER BY created_at, id",
                      {flow_id});
    std::vector<std::string> out;
    for (auto& row : rs.rows)
      out.push_back(row[0].text);
    return out;
  }
  // Field `field` of the finished flow's status entry `entry` (such as
  // "failure_module") as text; "" if absent.
  std::string status_field(const std::string& flow_id, const std::string& entry,
                           const std::string& field) {
    auto rs = c.query("SELECT flow_status->($2::text)->>($3::text) FROM job_completed "
                      "WHERE job_id = $1",
                      {flow_id, entry, field});
    return rs.rows.empty() || rs.rows[0][0].null ? std::string{} : rs.rows[0][0].text;
  }
  std::string flow_status(const std::string& flow_id) {
    auto rs = c.query("SELECT flow_status::text FROM job_completed WHERE job_id = $1", {flow_id});
    return rs.rows.empty() ? std::string{} : rs.rows[0][0].text;
  }
  // The most step jobs of a flow that ran at the same time.
  int max_overlap(const std::string& flow_id) {
    auto rs = c.query(
      "WITH s AS (SELECT c.started_at, c.completed_at FROM job j JOIN job_completed c "
      "ON c.job_id = j.id WHERE j.parent_job = $1) "
      "SELECT COALESCE(max((SELECT count(*) FROM s s2 WHERE s2.started_at <= s1.started_at "
      "AND s2.completed_at > s1.started_at)), 0) FROM s s1",
      {flow_id});
    return std::stoi(rs.rows[0][0].text);
  }
};

// Submits `spec` to a tree on `opts` (share opts.db to go on with the same
// data), waits until a step job whose code matches `like` (SQL LIKE) runs,
// then stops the tree: the rows stay as a server stop mid-step leaves them.
// Returns the flow job's id; "" (and a test failure) if that step never
// started.
inline std::string submit_and_stop_mid_step(const job_tree_options& opts, job_spec spec,
                                            const std::string& like) {
  job_tree t{opts};
  auto id = t.submit(std::move(spec));
  db_view view{t.conninfo()};
  caf::scoped_actor self{t.system()};
  if (!view.wait_step_running(id, like, self)) {
    ADD_FAILURE() << "no step matching '" << like << "' started";
    return {};
  }
  return id;
}

} // namespace millrace::test::flows
