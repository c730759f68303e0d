// The api actor's state and the helpers every endpoint uses: answering,
// failing, reading and writing through the storage actors, parsing bodies.
// Internal to api/service/ (includes CAF).

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <rapidjson/document.h>

#include "caf/all.hpp"

#include "actors/protocol/job_actors.hpp"
#include "actors/protocol/storage_actor.hpp"
#include "api/service/api_actor.hpp"
#include "api/service/call.hpp"
#include "api/service/endpoint.hpp"

namespace spdlog {
class logger;
}

namespace millrace::actors {
class registry;
}

namespace millrace::api {

class http_bridge;

/// An authenticated token, cached for a short while (revocations made
/// elsewhere, e.g. `millrace token revoke`, apply within `ttl`).
struct token_entry {
  bool valid = false;
  principal who;
  std::chrono::steady_clock::time_point until;
};

/// A script path's current version, cached for `jobs/run/p` (invalidated by
/// this actor's own script writes; others apply within the TTL).
struct script_entry {
  bool found = false;
  bool archived = false;
  std::string hash, language, content, schema;
  std::chrono::steady_clock::time_point until;
};

/// The answer of jobs_u/get for a finished job: it no longer changes (until
/// retention deletes it, which the TTL covers).
struct finished_job_entry {
  std::string body;
  std::chrono::steady_clock::time_point until;
};

struct api_state {
  static inline const char* name = "api";

  service_config cfg;
  std::shared_ptr<actors::registry> reg;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<http_bridge> http;
  std::unordered_map<std::string, token_entry> tokens;          // digest -> entry
  std::unordered_map<std::string, script_entry> scripts;        // ws '\n' path -> entry
  std::size_t scripts_bytes = 0; // content and schema bytes held by `scripts`
  std::unordered_map<std::string, finished_job_entry> finished_jobs; // ws '\n' id -> answer
  std::size_t finished_jobs_bytes = 0;
  std::unordered_map<std::string, std::vector<call_ptr>> token_waiters; // digest -> calls
  std::set<std::string> workspaces;                             // known to exist
  std::string cursor_key;                                       // signs page cursors
  std::string resume_key;                                       // signs resume/cancel URLs
  caf::actor schema_worker;                                     // detached: runs processes
};

constexpr auto token_ttl = std::chrono::seconds{1};
constexpr auto script_ttl = std::chrono::seconds{2};
constexpr auto finished_job_ttl = std::chrono::seconds{60};
constexpr auto storage_timeout = std::chrono::seconds{30};

// -- answering ---------------------------------------------------------------

void reply(const call_ptr& c, int status, std::string body,
           std::string content_type = "application/json");
void fail(const call_ptr& c, int status, const std::string& code, const std::string& message,
          const std::string& field = "");
/// An error from the actors (dispatcher, storage), mapped to a status.
void fail(const call_ptr& c, const caf::error& err);
void not_found(const call_ptr& c, const std::string& what);

// -- the other actors --------------------------------------------------------

actors::dispatcher_actor dispatcher_of(api_ptr self);

/// Runs a read statement; `ok` gets the rows, errors are answered.
void read(api_ptr self, const call_ptr& c, std::string statement,
          std::vector<storage::sql_value> params,
          std::function<void(storage::result_set&)> ok);
/// Runs one write statement; `ok` gets its rows, errors are answered.
void write(api_ptr self, const call_ptr& c, storage::write_request w,
           std::function<void(storage::result_set&)> ok);

// -- requests ----------------------------------------------------------------

/// The body as a JSON object (an empty body counts as {} when `empty_ok`).
/// Answers 415/400 and returns false when it is not one.
bool parse_body(const call_ptr& c, rapidjson::Document& doc, bool empty_ok = false);
/// Field `name` of a body object as a string. Answers 400 naming the field
/// (JSON pointer) and returns false when it is missing (and `required`) or
/// not a string.
bool get_string(const call_ptr& c, const rapidjson::Value& obj, const char* name,
                std::string& out, bool required);
/// A query parameter, if present.
std::optional<std::string> query(const call_ptr& c, const char* name);
/// A query flag: true when the parameter is "true" or "1".
bool query_flag(const call_ptr& c, const char* name);
/// per_page clamped to [1, page_max] (default page_default).
int page_size(api_ptr self, const call_ptr& c);

/// Checks a script path (Windmill's shape: u/<user>/<name> or
/// f/<folder>/<name>, segments of [A-Za-z0-9_.-], no "." or ".."); answers 400
/// naming `field` and returns false when it is not one.
bool valid_script_path(const call_ptr& c, const std::string& path, const std::string& field);

} // namespace millrace::api

namespace millrace::api {

// -- shared by several endpoint files ------------------------------------------

/// The current version of a script path (cached for script_ttl); answers 404
/// when there is none (or it is archived) and then does not call `ok`.
void resolve_script(api_ptr self, const call_ptr& c, const std::string& path,
                    std::function<void(const script_entry&)> ok);
/// Drops a cached script path (after this actor changed it).
void forget_script(api_ptr self, const std::string& ws, const std::string& path);

/// The key that signs page cursors (created on first use), then `ok`.
void with_cursor_key(api_ptr self, const call_ptr& c, std::function<void(const std::string&)> ok);
/// The key that signs the resume and cancel URLs of approval steps (created
/// on first use), then `ok`.
void with_resume_key(api_ptr self, const call_ptr& c, std::function<void(const std::string&)> ok);
/// An opaque cursor for `position` (signed), and back; std::nullopt when the
/// cursor is malformed or tampered with.
std::string make_cursor(const std::string& key, const std::string& position);
std::optional<std::string> open_cursor(const std::string& key, const std::string& cursor);

} // namespace millrace::api
