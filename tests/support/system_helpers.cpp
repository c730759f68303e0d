#include "tests/support/system_helpers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "storage/pg/connection.hpp"

namespace millrace::test {

std::string scalar(const std::string& conninfo, const std::string& sql,
                   const std::vector<storage::sql_value>& params) {
  // Generous: the database shares 2 cores with servers, workers and a
  // second test under ctest -j 2.
  storage::pg::connection c{
    storage::pg::connect_options{conninfo, std::chrono::seconds{30}, "system-test"}};
  auto rs = c.query(sql, params);
  return rs.empty() || rs.rows[0][0].null ? std::string{} : rs.rows[0][0].text;
}

uint16_t logged_port(const child_process& p, const std::string& marker) {
  std::smatch m;
  auto err = p.err();
  std::regex re{marker + " on 127\\.0\\.0\\.1:([0-9]+)"};
  return std::regex_search(err, m, re) ? static_cast<uint16_t>(std::stoi(m[1].str())) : 0;
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

} // namespace millrace::test
