// Logging through spdlog. Every logger is named after the actor path it speaks
// for (/millrace/storage/writer), so each line says which actor wrote it.
// Two formats: human (coloured on a terminal) and JSON lines. Logs go to
// stderr; stdout belongs to command output.

#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
} // namespace spdlog

namespace millrace::actors {

enum class log_format { human, json };

struct logging_config {
  log_format format = log_format::human;
  /// trace, debug, info, warn, error, critical or off.
  std::string level = "info";
};

/// Installs the sinks and format. Call once, before any logger_for().
void setup_logging(const logging_config& cfg);

/// The logger for an actor path (created on first use, sharing the sinks).
std::shared_ptr<spdlog::logger> logger_for(const std::string& path);

/// Escapes `in` for a JSON string (without the quotes): control characters as
/// \u00XX, invalid UTF-8 bytes as U+FFFD.
std::string json_escape(const std::string& in);

} // namespace millrace::actors
