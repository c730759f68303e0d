#include "storage/errors.hpp"

namespace millrace::storage {

std::string to_string(storage_errc x) {
  switch (x) {
    case storage_errc::none: return "none";
    case storage_errc::unavailable: return "unavailable";
    case storage_errc::overloaded: return "overloaded";
    case storage_errc::outcome_unknown: return "outcome_unknown";
    case storage_errc::constraint_violation: return "constraint_violation";
    case storage_errc::invalid_input: return "invalid_input";
    case storage_errc::unknown_statement: return "unknown_statement";
    case storage_errc::timeout: return "timeout";
    case storage_errc::database_error: return "database_error";
    case storage_errc::schema_too_new: return "schema_too_new";
    case storage_errc::shutting_down: return "shutting_down";
  }
  return "storage_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

storage_errc errc_from_sqlstate(const std::string& s) {
  if (s.size() != 5)
    return storage_errc::database_error;
  if (s.compare(0, 2, "23") == 0)
    return storage_errc::constraint_violation;
  if (s.compare(0, 2, "22") == 0)
    return storage_errc::invalid_input;
  if (s == "57014") // query_canceled (statement_timeout)
    return storage_errc::timeout;
  if (s.compare(0, 2, "08") == 0 || s.compare(0, 3, "57P") == 0)
    return storage_errc::unavailable;
  return storage_errc::database_error;
}

} // namespace millrace::storage
