// The commit path of batch_writer: building each statement's query for a
// batch, running a batch in one transaction (pipeline mode), and isolating
// the failing writes of a batch that did not commit.

#include "storage/batch_writer.hpp"

#include <spdlog/spdlog.h>

#include "storage/batch_plan.hpp"
#include "storage/pg/pipeline.hpp"
#include "storage/pg/binary_array.hpp"
#include "storage/pg/text_array.hpp"

namespace millrace::storage {

namespace {

bool transient_state(const std::string& s) {
  return s == "40001" || s == "40P01"; // serialization failure, deadlock
}

size_t bucket_of(size_t n) {
  if (n <= 1) return 0;
  if (n <= 4) return 1;
  if (n <= 16) return 2;
  if (n <= 64) return 3;
  if (n <= 256) return 4;
  if (n <= 1024) return 5;
  return 6;
}

} // namespace

// One query for `writes` (indices into batch) of statement `st`. Bulk
// parameters go as binary arrays where the element type allows it.
pg::pipeline_query batch_writer::make_query(const statement_def* st, const std::vector<item>& batch,
                                            const std::vector<size_t>& writes) const {
  pg::pipeline_query q;
  q.statement = st->name;
  auto n = static_cast<size_t>(st->param_count);
  q.values.resize(n);
  q.nulls.assign(n, false);
  q.binary.assign(n, false);
  if (st->mode == statement_mode::bulk) {
    std::vector<const std::vector<sql_value>*> rows;
    rows.reserve(writes.size());
    for (auto w : writes)
      rows.push_back(&batch[w].req.params);
    auto types = binary_types_.find(st);
    for (size_t p = 0; p < n; ++p) {
      uint32_t elem = types != binary_types_.end() && p < types->second.size()
                        ? types->second[p]
                        : 0;
      if (elem != 0 && pg::encode_binary_array(rows, p, elem, q.values[p])) {
        q.binary[p] = true;
        continue;
      }
      q.values[p] = pg::encode_text_array(rows, p);
    }
  } else {
    auto& params = batch[writes.front()].req.params;
    for (size_t p = 0; p < n; ++p) {
      q.values[p] = params[p].text;
      q.nulls[p] = params[p].null;
    }
  }
  return q;
}

void batch_writer::process(std::vector<item>& batch) {
  std::vector<completion> out;
  out.reserve(batch.size());
  auto size = batch.size();
  auto t0 = clock::now();
  bool resent = false;
  while (!batch.empty()) {
    expire(batch, out, false, storage_errc::timeout);
    if (batch.empty())
      break;
    if (!ensure_connected()) {
      bool stopping;
      {
        std::lock_guard<std::mutex> guard{mu_};
        stopping = stopping_;
      }
      if (stopping) {
        expire(batch, out, true, storage_errc::shutting_down);
        break;
      }
      backoff_sleep();
      continue;
    }
    auto r = attempt_batch(batch, out);
    if (r == attempt_outcome::isolate)
      r = attempt_isolated(batch, out);
    if (r == attempt_outcome::done)
      break;
    resent = true;
    if (!conn_.connected())
      backoff_sleep();
  }
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t0).count();
  {
    std::lock_guard<std::mutex> guard{stats_mu_};
    ++stats_.batches;
    stats_.writes += size;
    stats_.max_batch = std::max<uint64_t>(stats_.max_batch, size);
    ++stats_.size_buckets[bucket_of(size)];
    stats_.commit_micros += static_cast<uint64_t>(micros);
    for (size_t b = 0; b < 9; ++b)
      if (static_cast<uint64_t>(micros) <= commit_bounds_micros[b])
        ++stats_.commit_buckets[b];
    if (resent)
      ++stats_.resent_batches;
    for (auto& c : out)
      if (!c.second.ok())
        ++stats_.failed_writes;
  }
  for (auto& [reply, res] : out)
    if (reply)
      reply(std::move(res));
}

const statement_def* batch_writer::effective(const item& it, bool isolating) {
  // The careful twin only where applying a write twice is possible (a
  // re-send) or where one write's conflict must not fail the others.
  if (it.stmt->careful && (isolating || it.maybe_sent))
    return it.stmt->careful;
  return it.stmt;
}

batch_writer::attempt_outcome batch_writer::attempt_batch(std::vector<item>& batch,
                                                          std::vector<completion>& out) {
  std::vector<plan_input> in;
  in.reserve(batch.size());
  for (auto& it : batch)
    in.push_back(plan_input{effective(it, false), &it.req.key});
  auto plan = plan_batch(in);
  auto t0 = clock::now();
  pg::pipeline_work work;
  work.units.resize(1);
  work.units[0].reserve(plan.size());
  for (auto& ex : plan)
    work.units[0].push_back(make_query(ex.stmt, batch, ex.writes));
  auto t1 = clock::now();
  auto res = pg::run_pipeline(conn_, work, t1 + cfg_.exec_timeout);
  auto t2 = clock::now();
  auto micros = [](clock::duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  };
  {
    std::lock_guard<std::mutex> guard{stats_mu_};
    stats_.executions += plan.size();
    stats_.encode_micros += micros(t1 - t0);
    stats_.server_micros += micros(t2 - t1);
  }
  if (res.status == pg::pipeline_status::connection_lost) {
    backend_pid_ = 0;
    bool ambiguous = res.first_unsent > 0;
    log_warn("storage writer lost its connection during a batch of "
             + std::to_string(batch.size()) + " writes (" + res.error + "); "
             + (ambiguous ? "commit outcome unknown, re-sending idempotent writes"
                          : "nothing was committed, re-sending"));
    if (ambiguous) {
      size_t keep = 0;
      for (size_t idx = 0; idx < batch.size(); ++idx) {
        auto& it = batch[idx];
        if (!it.stmt->idempotent) {
          out.emplace_back(std::move(it.reply),
                           op_result::failure(storage_errc::outcome_unknown,
                                              "the database connection broke after the commit "
                                              "was sent; statement '" + it.stmt->name
                                                + "' is not idempotent, so it is not re-sent "
                                                  "and may or may not have been applied"));
          continue;
        }
        it.maybe_sent = true;
        if (keep != idx)
          batch[keep] = std::move(it);
        ++keep;
      }
      batch.resize(keep);
    }
    return attempt_outcome::retry;
  }
  if (res.units[0].committed) {
    std::vector<op_result> results(batch.size());
    std::vector<result_set> split;
    for (size_t k = 0; k < plan.size(); ++k) {
      auto& ex = plan[k];
      auto& qo = res.queries[0][k];
      if (ex.stmt->mode == statement_mode::bulk) {
        bool ok;
        if (ex.stmt->match == row_match::key) {
          std::vector<const std::string*> keys;
          keys.reserve(ex.writes.size());
          for (auto w : ex.writes)
            keys.push_back(&batch[w].req.params.at(0).text);
          ok = qo.res.split_by_key(keys, split);
        } else {
          ok = qo.res.split_by_ordinality(ex.writes.size(), split);
        }
        if (!ok) {
          for (auto w : ex.writes)
            results[w] = op_result::failure(storage_errc::database_error,
                                            "bulk statement '" + ex.stmt->name
                                              + "' returned a row that matches none of its writes "
                                                "(the write was committed)");
          continue;
        }
        for (size_t j = 0; j < ex.writes.size(); ++j)
          results[ex.writes[j]].rows = std::move(split[j]);
      } else {
        results[ex.writes.front()].rows = qo.res.to_result_set();
      }
    }
    for (size_t i = 0; i < batch.size(); ++i)
      out.emplace_back(std::move(batch[i].reply), std::move(results[i]));
    batch.clear();
    std::lock_guard<std::mutex> guard{stats_mu_};
    stats_.decode_micros += micros(clock::now() - t2);
    return attempt_outcome::done;
  }
  // Rolled back: one of the statements failed.
  for (auto& qo : res.queries[0]) {
    if (qo.state == pg::query_outcome::failed) {
      if (transient_state(qo.sqlstate))
        return attempt_outcome::retry;
      if (batch.size() == 1 && !batch[0].stmt->careful) {
        out.emplace_back(std::move(batch[0].reply), op_result::failure(errc_from_sqlstate(qo.sqlstate),
                                                            qo.message));
        batch.clear();
        return attempt_outcome::done;
      }
      log_warn("storage writer: a batch of " + std::to_string(batch.size())
               + " writes failed (" + qo.message + "); re-running it one write per transaction");
      return attempt_outcome::isolate;
    }
  }
  return attempt_outcome::isolate;
}

batch_writer::attempt_outcome batch_writer::attempt_isolated(std::vector<item>& batch,
                                                             std::vector<completion>& out) {
  {
    std::lock_guard<std::mutex> guard{stats_mu_};
    ++stats_.isolations;
  }
  pg::pipeline_work work;
  work.units.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i)
    work.units[i].push_back(make_query(effective(batch[i], true), batch, {i}));
  auto res = pg::run_pipeline(conn_, work, clock::now() + cfg_.exec_timeout);
  size_t settled = res.status == pg::pipeline_status::complete ? batch.size()
                                                                : res.first_unsettled;
  std::vector<result_set> split;
  for (size_t i = 0; i < settled; ++i) {
    auto& qo = res.queries[i][0];
    if (res.units[i].committed) {
      op_result r;
      auto* st = batch[i].stmt;
      if (st->mode == statement_mode::bulk
          && (st->match == row_match::key
                ? qo.res.split_by_key({&batch[i].req.params.at(0).text}, split)
                : qo.res.split_by_ordinality(1, split)))
        r.rows = std::move(split[0]);
      else if (batch[i].stmt->mode == statement_mode::single)
        r.rows = qo.res.to_result_set();
      out.emplace_back(std::move(batch[i].reply), std::move(r));
    } else {
      out.emplace_back(std::move(batch[i].reply),
                       op_result::failure(errc_from_sqlstate(qo.sqlstate), qo.message));
    }
  }
  if (res.status == pg::pipeline_status::complete) {
    batch.clear();
    return attempt_outcome::done;
  }
  backend_pid_ = 0;
  std::vector<item> rest;
  for (size_t i = settled; i < batch.size(); ++i) {
    auto& it = batch[i];
    if (i < res.first_unsent) {
      if (!it.stmt->idempotent) {
        out.emplace_back(std::move(it.reply),
                         op_result::failure(storage_errc::outcome_unknown,
                                            "the database connection broke after the commit "
                                            "was sent; the write may or may not have been "
                                            "applied"));
        continue;
      }
      it.maybe_sent = true;
    }
    rest.push_back(std::move(it));
  }
  batch = std::move(rest);
  return attempt_outcome::retry;
}

} // namespace millrace::storage
