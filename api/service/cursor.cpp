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

void read_key(api_ptr self, const call_ptr& c, std::function<void(bool)> then) {
  read(self, c, "secret_get", {"cursor_key"}, [self, then](storage::result_set& rs) {
    if (!rs.empty())
      self->state.cursor_key = col(rs, rs.rows[0], "value").text;
    then(!rs.empty());
  });
}

} // namespace

void with_cursor_key(api_ptr self, const call_ptr& c, std::function<void(const std::string&)> ok) {
  if (!self->state.cursor_key.empty())
    return ok(self->state.cursor_key);
  // First use: read the key; if there is none yet, store a random one (the
  // first writer wins, so every node signs with the same key) and read again.
  read_key(self, c, [self, c, ok](bool found) {
    if (found)
      return ok(self->state.cursor_key);
    storage::write_request w{"secret_put", {"cursor_key", random_hex(32)}, "cursor_key"};
    write(self, c, std::move(w), [self, c, ok](storage::result_set&) {
      read_key(self, c, [self, c, ok](bool found_now) {
        if (!found_now)
          return fail(c, 500, "internal", "the cursor key could not be created");
        ok(self->state.cursor_key);
      });
    });
  });
}

} // namespace millrace::api
