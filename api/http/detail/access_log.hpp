// Text of access-log lines. Secrets stay out: headers are never logged, and
// a query string that carries a token is replaced by "?<redacted>".

#pragma once

#include <string>
#include <string_view>

namespace millrace::api::http::detail {

/// The target as logged: escaped (escape_for_log), with the query replaced
/// by "?<redacted>" when it mentions "token" in any case (token=,
/// access_token=, ...). Crude on purpose: a false positive costs nothing.
std::string loggable_target(std::string_view raw_target);

/// A method as a metric label: the standard methods as they are, anything
/// else "OTHER" (clients choose methods; labels must stay bounded).
std::string_view method_label(std::string_view method) noexcept;

} // namespace millrace::api::http::detail
