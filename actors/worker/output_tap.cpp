#include "actors/worker/output_tap.hpp"

namespace millrace::actors {

namespace {

constexpr size_t stderr_tail_max = 4096;
constexpr size_t line_max = 1 << 20;

} // namespace

std::string output_tap::on_output(sandbox::stream s, std::string_view bytes) {
  std::lock_guard<std::mutex> guard{mu_};
  if (s == sandbox::stream::result) {
    if (result_.size() + bytes.size() > result_max_)
      result_too_large_ = true;
    else
      result_.append(bytes);
    return {};
  }
  if (s == sandbox::stream::out) {
    for (char c : bytes) {
      if (c == '\n') {
        if (current_line_.find_first_not_of(" \t\r") != std::string::npos)
          last_line_ = current_line_;
        current_line_.clear();
      } else if (current_line_.size() < line_max) {
        current_line_ += c;
      }
    }
  } else {
    stderr_tail_.append(bytes);
    if (stderr_tail_.size() > stderr_tail_max)
      stderr_tail_.erase(0, stderr_tail_.size() - stderr_tail_max);
  }
  size_t room = logged_ < log_max_ ? log_max_ - logged_ : 0;
  size_t take = std::min(room, bytes.size());
  logged_ += take;
  dropped_ += bytes.size() - take;
  return std::string(bytes.substr(0, take));
}

runtime::captured_output output_tap::captured() const {
  std::lock_guard<std::mutex> guard{mu_};
  runtime::captured_output out;
  out.last_stdout_line = current_line_.find_first_not_of(" \t\r") != std::string::npos
                           ? current_line_
                           : last_line_;
  while (!out.last_stdout_line.empty() && out.last_stdout_line.back() == '\r')
    out.last_stdout_line.pop_back();
  out.stderr_tail = stderr_tail_;
  out.result_channel = result_;
  out.result_too_large = result_too_large_;
  return out;
}

uint64_t output_tap::dropped() const {
  std::lock_guard<std::mutex> guard{mu_};
  return dropped_;
}

std::string sanitize_log_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0)
        out += "\xEF\xBF\xBD";
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    uint32_t cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; ok && k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    ok = ok && !((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
                 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

} // namespace millrace::actors
