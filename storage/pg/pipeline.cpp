#include "storage/pg/pipeline.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>

namespace millrace::storage::pg {

namespace {

using clock_type = std::chrono::steady_clock;

bool lost_state(const std::string& s) {
  return s.compare(0, 2, "08") == 0 || s == "57P01" || s == "57P02" || s == "57P03";
}

// Position in the flattened stream of expected results.
struct cursor {
  size_t unit = 0;
  size_t query = 0; // == units[unit].size() means: waiting for the Sync
  bool have_result = false;
};

} // namespace

void enter_pipeline_mode(connection& conn) {
  auto* c = conn.native();
  if (PQsetnonblocking(c, 1) != 0)
    throw make_error(c, nullptr, "cannot make the connection non-blocking");
  if (PQpipelineStatus(c) == PQ_PIPELINE_OFF && PQenterPipelineMode(c) != 1)
    throw make_error(c, nullptr, "cannot enter pipeline mode");
}

pipeline_result run_pipeline(connection& conn, const pipeline_work& work,
                             clock_type::time_point deadline) {
  pipeline_result out;
  auto* c = conn.native();
  out.queries.resize(work.units.size());
  out.units.resize(work.units.size());
  for (size_t u = 0; u < work.units.size(); ++u)
    out.queries[u].resize(work.units[u].size());

  auto fail = [&](std::string why) {
    out.status = pipeline_status::connection_lost;
    out.error = std::move(why);
    conn.close();
    return std::move(out);
  };

  // -- send everything (libpq buffers it; flushing happens below) ------------
  size_t sent_syncs = 0;
  std::vector<const char*> ptrs;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (auto& unit : work.units) {
    for (auto& q : unit) {
      ptrs.clear();
      lengths.clear();
      formats.clear();
      for (size_t i = 0; i < q.values.size(); ++i) {
        ptrs.push_back(q.nulls[i] ? nullptr : q.values[i].data());
        lengths.push_back(static_cast<int>(q.values[i].size()));
        formats.push_back(i < q.binary.size() && q.binary[i] ? 1 : 0);
      }
      if (PQsendQueryPrepared(c, q.statement.c_str(), static_cast<int>(ptrs.size()), ptrs.data(),
                              lengths.data(), formats.data(), 0)
          != 1) {
        out.first_unsettled = out.first_unsent = sent_syncs;
        return fail("cannot send " + q.statement + ": " + conn.last_error());
      }
    }
    if (PQpipelineSync(c) != 1) {
      out.first_unsettled = out.first_unsent = sent_syncs;
      return fail("cannot send Sync: " + conn.last_error());
    }
    ++sent_syncs;
  }
  // Everything is in libpq's buffer; a Sync counts as sent from here on.
  out.first_unsent = work.units.size();

  // -- flush and read until every Sync is acknowledged -----------------------
  cursor cur;
  auto settle_unit = [&](size_t u) {
    bool any_error = false;
    for (auto& q : out.queries[u])
      if (q.state != query_outcome::ok)
        any_error = true;
    out.units[u].committed = !any_error;
    out.units[u].rolled_back = any_error;
  };
  bool flushing = true;
  while (cur.unit < work.units.size()) {
    if (flushing) {
      int f = PQflush(c);
      if (f < 0) {
        out.first_unsettled = cur.unit;
        return fail("cannot send to the server: " + conn.last_error());
      }
      flushing = f == 1;
    }
    // Read whatever is complete.
    while (cur.unit < work.units.size() && !PQisBusy(c)) {
      PGresult* raw = PQgetResult(c);
      if (PQstatus(c) == CONNECTION_BAD) {
        if (raw)
          PQclear(raw);
        out.first_unsettled = cur.unit;
        return fail("connection lost: " + conn.last_error());
      }
      auto& unit = work.units[cur.unit];
      if (raw == nullptr) {
        // End of one query's results. Spurious NULLs (none pending) are skipped.
        if (cur.query < unit.size() && cur.have_result) {
          ++cur.query;
          cur.have_result = false;
        }
        continue;
      }
      result r{raw};
      auto st = PQresultStatus(raw);
      if (st == PGRES_PIPELINE_SYNC) {
        settle_unit(cur.unit);
        ++cur.unit;
        cur.query = 0;
        cur.have_result = false;
        continue;
      }
      if (cur.query >= unit.size()) {
        // A result where a Sync was expected: protocol confusion. Treat the
        // connection as unusable rather than guess.
        out.first_unsettled = cur.unit;
        return fail("unexpected result while waiting for Sync");
      }
      auto& qo = out.queries[cur.unit][cur.query];
      cur.have_result = true;
      if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        qo.state = query_outcome::ok;
        qo.res = std::move(r);
      } else if (st == PGRES_PIPELINE_ABORTED) {
        qo.state = query_outcome::aborted;
      } else {
        auto e = make_error(c, raw, unit[cur.query].statement);
        qo.state = query_outcome::failed;
        qo.sqlstate = e.sqlstate();
        qo.message = e.what();
        if (lost_state(qo.sqlstate) || PQstatus(c) == CONNECTION_BAD) {
          out.first_unsettled = cur.unit;
          return fail(qo.message);
        }
      }
    }
    if (cur.unit >= work.units.size())
      break;
    // Wait for the socket.
    auto now = clock_type::now();
    if (now >= deadline) {
      out.first_unsettled = cur.unit;
      return fail("no answer from the server before the deadline");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    pollfd pfd{PQsocket(c), static_cast<short>(POLLIN | (flushing ? POLLOUT : 0)), 0};
    int pr = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (pr < 0 && errno != EINTR) {
      out.first_unsettled = cur.unit;
      return fail("poll failed");
    }
    if (pr > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP))) {
      if (PQconsumeInput(c) != 1) {
        out.first_unsettled = cur.unit;
        return fail("connection lost: " + conn.last_error());
      }
    }
    if (pr > 0 && (pfd.revents & POLLOUT))
      flushing = true;
  }
  out.first_unsettled = work.units.size();
  return out;
}

} // namespace millrace::storage::pg
