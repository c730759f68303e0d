// Parameter schema inference off the actor scheduler: it runs a process
// (python's ast), so it runs on a detached actor of its own, one script at
// a time.

#pragma once

#include <functional>
#include <string>

#include "api/service/endpoint.hpp"

namespace millrace::api {

/// Infers the schema of `code`; `done(schema, "")` on success,
/// `done("", message)` when the script cannot be analysed (the message is
/// for the user). Called on the api actor.
void infer_schema(api_ptr self, const std::string& language, const std::string& code,
                  std::function<void(std::string, std::string)> done);

} // namespace millrace::api
