// Page cursors: "<base64url(position)>.<first 16 hex of HMAC(key, position)>".
// Opaque to clients; an altered cursor is refused (400), so a cursor can only
// resume a listing the server handed out.

#include "api/service/api_state.hpp"
#include "api/service/crypto.hpp"
#include "api/service/json_out.hpp"

namespace millrace::api {

std::string make_cursor(const std::string& key, const std::string& position) {
  return base64url_encode(position) + "." + hmac_sha256_hex(key, position).substr(0, 16);
}

std::optional<std::string> open_cursor(const std::string& key, const std::string& cursor) {
  auto dot = cursor.find('.');
  if (dot == std::string::npos || cursor.size() > 1024)
    return std::nullopt;
  auto pos = base64url_decode(std::string_view{cursor}.substr(0, dot));
  if (!pos)
    return std::nullopt;
  auto mac = hmac_sha256_hex(key, *pos).substr(0, 16);
  if (!equal_ct(mac, std::string_view{cursor}.substr(dot + 1)))
    return std::nullopt;
  return pos;
}

namespace {

using key_field = std::string api_state::*;

void read_key(api_ptr self, const call_ptr& c, const char* name, key_field field,
              std::function<void(bool)> then) {
  read(self, c, "secret_get", {name}, [self, field, then](storage::result_set& rs) {
    if (!rs.empty())
      self->state.*field = col(rs, rs.rows[0], "value").text;
    then(!rs.empty());
  });
}

// A server-wide key (server_secret), created on first use: if there is none
// yet, store a random one (the first writer wins, so every node signs with
// the same key) and read again.
void with_key(api_ptr self, const call_ptr& c, const char* name, key_field field,
              std::function<void(const std::string&)> ok) {
  if (!(self->state.*field).empty())
    return ok(self->state.*field);
  read_key(self, c, name, field, [self, c, name, field, ok](bool found) {
    if (found)
      return ok(self->state.*field);
    storage::write_request w{"secret_put", {name, random_hex(32)}, name};
    write(self, c, std::move(w), [self, c, name, field, ok](storage::result_set&) {
      read_key(self, c, name, field, [self, c, name, field, ok](bool found_now) {
        if (!found_now)
          return fail(c, 500, "internal", std::string{"the server key '"} + name
                                            + "' could not be created");
        ok(self->state.*field);
      });
    });
  });
}

} // namespace

void with_cursor_key(api_ptr self, const call_ptr& c, std::function<void(const std::string&)> ok) {
  with_key(self, c, "cursor_key", &api_state::cursor_key, std::move(ok));
}

void with_resume_key(api_ptr self, const call_ptr& c, std::function<void(const std::string&)> ok) {
  with_key(self, c, "resume_key", &api_state::resume_key, std::move(ok));
}

} // namespace millrace::api
