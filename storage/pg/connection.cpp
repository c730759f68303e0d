#include "storage/pg/connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <unordered_map>

namespace millrace::storage::pg {

namespace {

void ignore_notices(void*, const char*) {
  // NOTICEs ("relation already exists, skipping") are expected during
  // migrations and carry nothing a user needs.
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

bool is_ok(ExecStatusType st) {
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE
         || st == PGRES_PIPELINE_SYNC;
}

std::vector<const char*> param_pointers(const std::vector<sql_value>& params) {
  std::vector<const char*> out;
  out.reserve(params.size());
  for (auto& p : params)
    out.push_back(p.null ? nullptr : p.text.c_str());
  return out;
}

} // namespace

// -- result ---------------------------------------------------------------------

result& result::operator=(result&& other) noexcept {
  if (this != &other) {
    if (res_)
      PQclear(res_);
    res_ = other.res_;
    other.res_ = nullptr;
  }
  return *this;
}

result::~result() {
  if (res_)
    PQclear(res_);
}

sql_row result::row_at(int r, int first) const {
  int ncols = PQnfields(res_);
  sql_row row;
  row.reserve(static_cast<size_t>(std::max(0, ncols - first)));
  for (int c = first; c < ncols; ++c) {
    if (PQgetisnull(res_, r, c))
      row.push_back(sql_value::null_value());
    else
      row.emplace_back(std::string(PQgetvalue(res_, r, c),
                                   static_cast<size_t>(PQgetlength(res_, r, c))));
  }
  return row;
}

result_set result::to_result_set(bool skip_first_column) const {
  result_set out;
  if (!res_)
    return out;
  int first = skip_first_column ? 1 : 0;
  int ncols = PQnfields(res_);
  int nrows = PQntuples(res_);
  for (int c = first; c < ncols; ++c)
    out.columns.emplace_back(PQfname(res_, c));
  out.rows.reserve(static_cast<size_t>(nrows));
  for (int r = 0; r < nrows; ++r) {
    out.rows.push_back(row_at(r, first));
  }
  return out;
}

bool result::split_by_ordinality(size_t n, std::vector<result_set>& out) const {
  out.assign(n, result_set{});
  if (!res_)
    return true;
  int ncols = PQnfields(res_);
  int nrows = PQntuples(res_);
  if (ncols < 1)
    return nrows == 0;
  std::vector<std::string> cols;
  for (int c = 1; c < ncols; ++c)
    cols.emplace_back(PQfname(res_, c));
  for (auto& rs : out)
    rs.columns = cols;
  for (int r = 0; r < nrows; ++r) {
    if (PQgetisnull(res_, r, 0))
      return false;
    char* end = nullptr;
    auto idx = std::strtoull(PQgetvalue(res_, r, 0), &end, 10);
    if (idx < 1 || idx > n)
      return false;
    out[idx - 1].rows.push_back(row_at(r, 1));
  }
  return true;
}

bool result::split_by_key(const std::vector<const std::string*>& keys,
                          std::vector<result_set>& out) const {
  out.assign(keys.size(), result_set{});
  if (!res_)
    return true;
  int ncols = PQnfields(res_);
  int nrows = PQntuples(res_);
  if (ncols < 1)
    return nrows == 0;
  std::unordered_map<std::string_view, size_t> index;
  index.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i)
    index.emplace(*keys[i], i);
  std::vector<std::string> cols;
  for (int c = 1; c < ncols; ++c)
    cols.emplace_back(PQfname(res_, c));
  for (auto& rs : out)
    rs.columns = cols;
  for (int r = 0; r < nrows; ++r) {
    if (PQgetisnull(res_, r, 0))
      return false;
    auto i = index.find(std::string_view(PQgetvalue(res_, r, 0),
                                         static_cast<size_t>(PQgetlength(res_, r, 0))));
    if (i == index.end())
      return false;
    out[i->second].rows.push_back(row_at(r, 1));
  }
  return true;
}

// -- errors ---------------------------------------------------------------------

error make_error(pg_conn* conn, pg_result* res, const std::string& what) {
  std::string msg;
  std::string state;
  if (res) {
    if (auto* s = PQresultErrorField(res, PG_DIAG_SQLSTATE))
      state = s;
    msg = trim(PQresultErrorMessage(res));
  }
  if (msg.empty() && conn)
    msg = trim(PQerrorMessage(conn));
  bool lost = conn == nullptr || PQstatus(conn) == CONNECTION_BAD
              || state.compare(0, 2, "08") == 0 || state == "57P01" || state == "57P02"
              || state == "57P03";
  std::string text = what;
  if (!msg.empty())
    text += ": " + msg;
  if (!state.empty())
    text += " [SQLSTATE " + state + "]";
  return error(text, state, lost);
}

std::string redact_conninfo(const std::string& conninfo) {
  std::string out = conninfo;
  // URI form: scheme://user:password@host
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    auto at = out.find('@', scheme + 3);
    auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      out.replace(colon + 1, at - colon - 1, "***");
  }
  // key=value form: password=secret or password = 'se cret'
  for (size_t pos = out.find("password"); pos != std::string::npos;
       pos = out.find("password", pos + 1)) {
    auto eq = out.find_first_not_of(' ', pos + 8);
    if (eq == std::string::npos || out[eq] != '=')
      continue;
    auto start = out.find_first_not_of(' ', eq + 1);
    if (start == std::string::npos)
      break;
    size_t end;
    if (out[start] == '\'') {
      end = out.find('\'', start + 1);
      end = end == std::string::npos ? out.size() : end + 1;
    } else {
      end = out.find(' ', start);
      if (end == std::string::npos)
        end = out.size();
    }
    out.replace(start, end - start, "***");
  }
  return out;
}

// -- connection -----------------------------------------------------------------

connection::connection(const connect_options& opts) {
  auto timeout = std::to_string(std::max<long long>(1, opts.connect_timeout.count()));
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* vals[] = {opts.conninfo.c_str(), timeout.c_str(), opts.application_name.c_str(),
                        nullptr};
  // expand_dbname=1: the conninfo string (or URI) in "dbname" is expanded and
  // its own settings win over the defaults that follow it.
  conn_ = PQconnectdbParams(keys, vals, 1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    auto e = make_error(conn_, nullptr, "cannot connect to PostgreSQL ("
                                          + redact_conninfo(opts.conninfo) + ")");
    close();
    throw error(e.what(), e.sqlstate(), true);
  }
  PQsetNoticeProcessor(conn_, ignore_notices, nullptr);
  // Timestamps travel as text: one time zone for every session, so the API
  // can render them as RFC 3339 UTC.
  try {
    exec("SET TimeZone = 'UTC'");
  } catch (...) {
    close();
    throw;
  }
}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    close();
    conn_ = other.conn_;
    other.conn_ = nullptr;
  }
  return *this;
}

connection::~connection() {
  close();
}

bool connection::connected() const noexcept {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

int connection::backend_pid() const noexcept {
  return conn_ ? PQbackendPID(conn_) : 0;
}

void connection::close() noexcept {
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

std::string connection::last_error() const {
  return conn_ ? trim(PQerrorMessage(conn_)) : std::string{"not connected"};
}

void connection::check(const result& r, const char* what) const {
  if (!r || !is_ok(PQresultStatus(r.get())))
    throw make_error(conn_, r.get(), what);
}

void connection::exec(const std::string& sql) {
  if (!conn_)
    throw error("not connected", "", true);
  result r{PQexec(conn_, sql.c_str())};
  check(r, "query failed");
}

result_set connection::query(const std::string& sql, const std::vector<sql_value>& params) {
  if (!conn_)
    throw error("not connected", "", true);
  auto ptrs = param_pointers(params);
  result r{PQexecParams(conn_, sql.c_str(), static_cast<int>(ptrs.size()), nullptr,
                        ptrs.data(), nullptr, nullptr, 0)};
  check(r, "query failed");
  return r.to_result_set();
}

void connection::prepare(const std::string& name, const std::string& sql) {
  if (!conn_)
    throw error("not connected", "", true);
  result r{PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr)};
  check(r, ("prepare " + name).c_str());
}

std::vector<uint32_t> connection::describe_params(const std::string& name) {
  if (!conn_)
    throw error("not connected", "", true);
  result r{PQdescribePrepared(conn_, name.c_str())};
  check(r, ("describe " + name).c_str());
  std::vector<uint32_t> out;
  for (int i = 0; i < PQnparams(r.get()); ++i)
    out.push_back(PQparamtype(r.get(), i));
  return out;
}

result_set connection::query_prepared(const std::string& name,
                                      const std::vector<sql_value>& params) {
  if (!conn_)
    throw error("not connected", "", true);
  auto ptrs = param_pointers(params);
  result r{PQexecPrepared(conn_, name.c_str(), static_cast<int>(ptrs.size()), ptrs.data(),
                          nullptr, nullptr, 0)};
  check(r, name.c_str());
  return r.to_result_set();
}

} // namespace millrace::storage::pg
