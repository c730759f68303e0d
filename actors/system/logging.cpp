#include "actors/system/logging.hpp"

#include <cstdio>
#include <mutex>
#include <unordered_map>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace millrace::actors {

namespace {

std::mutex mu;
spdlog::sink_ptr sink;
spdlog::level::level_enum level = spdlog::level::info;
std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t utf8_len(const std::string& s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size())
    return 0;
  for (size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
      || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return 0;
  return n;
}

class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto t = msg.time;
    auto secs = time_point_cast<seconds>(t);
    auto millis = duration_cast<milliseconds>(t - secs).count();
    std::time_t tt = system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char ts[64];
    std::snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis));
    std::string out = "{\"ts\":\"";
    out += ts;
    out += "\",\"level\":\"";
    auto lv = spdlog::level::to_string_view(msg.level);
    out.append(lv.data(), lv.size());
    out += "\",\"actor\":\"";
    out += json_escape(std::string(msg.logger_name.data(), msg.logger_name.size()));
    out += "\",\"msg\":\"";
    out += json_escape(std::string(msg.payload.data(), msg.payload.size()));
    out += "\"}\n";
    dest.append(out.data(), out.data() + out.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

} // namespace

std::string json_escape(const std::string& in) {
  std::string out;
  out.reserve(in.size() + 8);
  for (size_t i = 0; i < in.size();) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (auto n = utf8_len(in, i); n > 0) {
      out.append(in, i, n);
      i += n;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  return out;
}

void setup_logging(const logging_config& cfg) {
  std::lock_guard<std::mutex> guard{mu};
  auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  if (cfg.format == log_format::json)
    s->set_formatter(std::make_unique<json_formatter>());
  else
    s->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%Y-%m-%d %H:%M:%S.%e %^%-5!l%$ %n  %v"));
  sink = s;
  level = spdlog::level::from_str(cfg.level);
  for (auto& [name, lg] : loggers) {
    lg->sinks().clear();
    lg->sinks().push_back(sink);
    lg->set_level(level);
  }
}

std::shared_ptr<spdlog::logger> logger_for(const std::string& path) {
  std::lock_guard<std::mutex> guard{mu};
  auto i = loggers.find(path);
  if (i != loggers.end())
    return i->second;
  if (!sink) {
    auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    s->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%Y-%m-%d %H:%M:%S.%e %^%-5!l%$ %n  %v"));
    sink = s;
  }
  auto lg = std::make_shared<spdlog::logger>(path, sink);
  lg->set_level(level);
  loggers.emplace(path, lg);
  return lg;
}

} // namespace millrace::actors
