// API tokens from the command line (`millrace token create|list|revoke`) and
// the first admin token of a new installation. Talks to the database
// directly: it is how the first token comes to exist.

#pragma once

#include <string>

#include "api/config/options.hpp"

namespace millrace::storage::pg {
class connection;
}

namespace millrace::api {

struct issued_token {
  std::string id;
  std::string token; // shown once
};

/// Creates a token: role "admin" (workspace empty) or "user" (of one
/// workspace); expires_in_secs 0: never. Throws storage::pg::error.
issued_token issue_token(storage::pg::connection& conn, const std::string& role,
                         const std::string& workspace, const std::string& label,
                         long long expires_in_secs, const std::string& created_by);

/// When the database has no token at all: creates an admin token, writes it
/// to `file` (mode 0600, directory created) and returns it; "" otherwise.
std::string ensure_first_admin_token(storage::pg::connection& conn, const std::string& file);

} // namespace millrace::api
