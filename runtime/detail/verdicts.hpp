// Verdict pieces shared by the runtimes: the failures that do not depend on
// the language (out of memory, signals, sandbox errors, exit codes) and JSON
// helpers.

#pragma once

#include <optional>
#include <string>

#include "runtime/runtime.hpp"

namespace millrace::runtime::detail {

/// The failure a process ending like this means, or nothing when it exited 0.
/// `exit_code_is_failure`: a non-zero exit fails the job (bash); python
/// decides from its result channel instead.
std::optional<verdict> process_failure(const sandbox::exit_info& exit, const captured_output& out,
                                       bool exit_code_is_failure = true);

/// `text` as JSON when it parses as JSON, otherwise as a JSON string.
std::string json_or_string(const std::string& text);

/// Builds {"name":..., "message":..., extra fields...} with proper escaping.
std::string error_object(const std::string& name, const std::string& message,
                         const std::string& extra_key = {}, const std::string& extra_json = {});

/// `json` with every U+0000 in its strings replaced by U+FFFD: valid JSON
/// may contain \u0000, but PostgreSQL's jsonb refuses it.
std::string without_nul(const std::string& json);

/// `s` as a JSON string literal (quotes included; invalid UTF-8 replaced).
std::string json_string(const std::string& s);

} // namespace millrace::runtime::detail
