#include "api/cli/tokens.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <cstring>
#include <stdexcept>

#include "actors/protocol/types/uuid.hpp"
#include "api/cli/commands.hpp"
#include "api/cli/database.hpp"
#include "api/service/crypto.hpp"
#include "storage/embedded_cluster.hpp"
#include "storage/pg/connection.hpp"

namespace millrace::api {

namespace fs = std::filesystem;

issued_token issue_token(storage::pg::connection& conn, const std::string& role,
                         const std::string& workspace, const std::string& label,
                         long long expires_in_secs, const std::string& created_by) {
  issued_token out;
  out.id = actors::make_uuid_v7();
  out.token = new_token();
  auto ws = workspace.empty() ? storage::sql_value::null_value() : storage::sql_value{workspace};
  auto expires = storage::sql_value::null_value();
  if (expires_in_secs > 0)
    expires = storage::sql_value{std::to_string(expires_in_secs)};
  conn.query("INSERT INTO api_token (id, digest, prefix, label, workspace_id, role, created_by, "
             "expires_at) VALUES ($1::uuid, decode($2, 'hex'), $3, $4, $5, $6, $7, "
             "now() + $8::bigint * interval '1 second')",
             {out.id, sha256_hex(out.token), out.token.substr(0, 10), label, ws, role, created_by,
              expires});
  return out;
}

std::string ensure_first_admin_token(storage::pg::connection& conn, const std::string& file) {
  // One transaction-level advisory lock: two servers starting at once create
  // one token, not two.
  conn.exec("BEGIN");
  try {
    conn.exec("SELECT pg_advisory_xact_lock(7310001)");
    auto rs = conn.query("SELECT count(*) FROM api_token");
    if (rs.rows.at(0).at(0).text != "0") {
      conn.exec("COMMIT");
      return {};
    }
    auto t = issue_token(conn, "admin", "", "first admin token", 0, "millrace");
    if (!file.empty()) {
      auto dir = fs::path{file}.parent_path();
      if (!dir.empty())
        fs::create_directories(dir);
      int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0)
        throw std::runtime_error("cannot write " + file + ": " + std::strerror(errno));
      ::fchmod(fd, 0600);
      auto line = t.token + "\n";
      bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
      ::close(fd);
      if (!ok)
        throw std::runtime_error("cannot write " + file);
    }
    conn.exec("COMMIT");
    return t.token;
  } catch (...) {
    try {
      conn.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

namespace {

int usage_error(const std::string& msg) {
  std::cerr << "millrace token: " << msg << "\n"
            << "usage: millrace token create [--workspace W] [--label L] [--expires-in SECONDS]\n"
               "       millrace token list [--workspace W]\n"
               "       millrace token revoke ID\n"
               "  (--workspace W: a user token of workspace W; without it, an admin token)\n"
               "  settings flags as for standalone (--config, --database.url=...)\n";
  return 2;
}

// The database of the configured installation: its URL, the embedded
// cluster a running standalone owns, or the embedded cluster started for the
// duration of the command.
struct admin_db {
  database_handle handle;
  storage::pg::connection conn;
};

std::unique_ptr<admin_db> connect_admin(const options& opts) {
  auto db = std::make_unique<admin_db>();
  std::string conninfo = opts.database_url;
  if (conninfo.empty()) {
    storage::embedded_config ec;
    ec.dir = opts.embedded_dir;
    conninfo = storage::embedded_cluster::running_conninfo(ec);
  }
  if (conninfo.empty()) {
    db->handle = open_database(opts);
    conninfo = db->handle.conninfo;
  }
  db->conn = storage::pg::connection{storage::pg::connect_options{conninfo, opts.connect_timeout,
                                                                 "millrace-token"}};
  return db;
}

} // namespace

int cmd_token(const std::vector<std::string>& args) {
  if (args.empty())
    return usage_error("expected create, list or revoke");
  auto verb = args[0];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    usage_error("usage");
    return 0;
  }
  // Checked before anything starts a database.
  if (verb != "create" && verb != "list" && verb != "revoke")
    return usage_error("unknown subcommand '" + verb + "'");
  std::string workspace, label, id;
  long long expires = 0;
  std::vector<std::string> rest;
  for (size_t i = 1; i < args.size(); ++i) {
    auto& a = args[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= args.size())
        throw std::invalid_argument(std::string{name} + " needs a value");
      return args[++i];
    };
    try {
      if (a == "--workspace")
        workspace = value("--workspace");
      else if (a == "--label")
        label = value("--label");
      else if (a == "--expires-in") {
        auto v = value("--expires-in");
        char* end = nullptr;
        errno = 0;
        expires = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || errno != 0 || expires <= 0)
          return usage_error("--expires-in: expected a positive number of seconds, got '" + v + "'");
      } else if (a == "--help" || a == "-h") {
        usage_error("usage");
        return 0;
      }
      else if (a.rfind("--", 0) == 0)
        rest.push_back(a);
      else if (id.empty())
        id = a;
      else
        return usage_error("unexpected argument '" + a + "'");
    } catch (const std::exception& e) {
      return usage_error(e.what());
    }
  }
  if (verb == "revoke") {
    std::string norm;
    if (!actors::normalize_uuid(id, norm))
      return usage_error("revoke needs a token id (a UUID; see `millrace token list`)");
  } else if (!id.empty()) {
    return usage_error("unexpected argument '" + id + "'");
  }
  options opts;
  try {
    opts = load_options(rest);
  } catch (const config_error& e) {
    std::cerr << "millrace: config error: " << e.what() << "\n";
    return 2;
  }
  try {
    auto db = connect_admin(opts);
    auto& conn = db->conn;
    if (verb == "create") {
      if (!workspace.empty()
          && conn.query("SELECT 1 FROM workspace WHERE id = $1", {workspace}).empty()) {
        std::cerr << "millrace token: no workspace '" << workspace << "'\n";
        return 1;
      }
      auto t = issue_token(conn, workspace.empty() ? "admin" : "user", workspace, label, expires,
                           "cli");
      std::cerr << "token " << t.id << " created; it is shown once:\n";
      std::cout << t.token << "\n";
      return 0;
    }
    if (verb == "list") {
      auto rs = conn.query(
        "SELECT id, prefix, role, COALESCE(workspace_id, '*'), label, created_at, "
        "COALESCE(expires_at::text, '-'), COALESCE(revoked_at::text, '-') FROM api_token "
        "WHERE $1::text IS NULL OR workspace_id = $1 ORDER BY created_at",
        {workspace.empty() ? storage::sql_value::null_value() : storage::sql_value{workspace}});
      std::cout << "id\tprefix\trole\tworkspace\tlabel\tcreated_at\texpires_at\trevoked_at\n";
      for (auto& row : rs.rows) {
        for (size_t i = 0; i < row.size(); ++i)
          std::cout << (i ? "\t" : "") << row[i].text;
        std::cout << "\n";
      }
      return 0;
    }
    if (verb == "revoke") {
      std::string norm;
      if (!actors::normalize_uuid(id, norm))
        return usage_error("revoke needs a token id (a UUID; see `millrace token list`)");
      auto rs = conn.query("UPDATE api_token SET revoked_at = COALESCE(revoked_at, now()) "
                           "WHERE id = $1::uuid RETURNING revoked_at",
                           {norm});
      if (rs.empty()) {
        std::cerr << "millrace token: no token " << norm << "\n";
        return 1;
      }
      std::cerr << "token " << norm << " revoked (running servers stop accepting it within 1 s)\n";
      return 0;
    }
    return usage_error("unknown subcommand '" + verb + "'");
  } catch (const std::exception& e) {
    std::cerr << "millrace token: " << e.what() << "\n";
    return 1;
  }
}

} // namespace millrace::api
