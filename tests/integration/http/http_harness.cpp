#include "http_harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace millrace::test::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

mh::server_config test_config() {
  mh::server_config cfg;
  cfg.address = "127.0.0.1";
  cfg.port = 0;
  cfg.io_threads = 2;
  cfg.header_timeout = 500ms;
  cfg.body_timeout = 500ms;
  cfg.idle_timeout = 2s;
  cfg.response_timeout = 5s;
  cfg.write_timeout = 2s;
  cfg.linger_timeout = 500ms;
  cfg.stop_timeout = 2s;
  return cfg;
}

// -- test_server ------------------------------------------------------------------

test_server::test_server(mh::server_config cfg)
  : srv_(std::make_unique<mh::server>(std::move(cfg), reg_)) {
  // nop
}

test_server::~test_server() {
  srv_.reset();
}

void test_server::start() {
  srv_->start();
}

double test_server::sample(std::string_view series) {
  auto text = reg_.render();
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0
        && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

// -- reply ------------------------------------------------------------------------

std::string reply::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k.size() == name.size()
        && std::equal(k.begin(), k.end(), name.begin(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return v;
  return {};
}

// -- client -----------------------------------------------------------------------

struct client::impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

client::client(uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->stream.expires_after(5s);
  impl_->stream.connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
}

client::~client() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

reply client::request(std::string method, std::string target, std::string body,
                      std::vector<std::pair<std::string, std::string>> headers, unsigned version) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(version);
  req.set(bhttp::field::host, "127.0.0.1");
  for (auto& [k, v] : headers)
    req.insert(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.body() = std::move(body);
    req.prepare_payload();
  }
  impl_->stream.expires_after(10s);
  bhttp::write(impl_->stream, req);
  bhttp::response<bhttp::string_body> res;
  beast::error_code ec;
  bhttp::read(impl_->stream, impl_->buffer, res, ec);
  reply out;
  if (ec)
    return out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (auto& f : res)
    out.headers.emplace_back(std::string{f.name_string()}, std::string{f.value()});
  return out;
}

// -- raw_conn ---------------------------------------------------------------------

raw_conn::raw_conn(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error(std::string{"connect failed: "} + std::strerror(errno));
}

raw_conn::~raw_conn() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool raw_conn::send(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void raw_conn::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

bool raw_conn::fill(std::chrono::steady_clock::time_point until) {
  if (eof_)
    return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    until - std::chrono::steady_clock::now());
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
  if (r <= 0)
    return false;
  char buf[16384];
  auto n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  in_.append(buf, static_cast<std::size_t>(n));
  return true;
}

reply raw_conn::read_reply(std::chrono::milliseconds timeout, bool keep_interim) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto end = in_.find("\r\n\r\n");
    while (end == std::string::npos) {
      if (!fill(until))
        return {};
      end = in_.find("\r\n\r\n");
    }
    reply out;
    std::istringstream head{in_.substr(0, end)};
    std::string line;
    std::getline(head, line);
    if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0)
      return {};
    out.status = std::stoi(line.substr(9, 3));
    std::size_t length = 0;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos)
        continue;
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      out.headers.emplace_back(line.substr(0, colon), value);
    }
    if (auto cl = out.header("content-length"); !cl.empty())
      length = std::stoul(cl);
    while (in_.size() < end + 4 + length)
      if (!fill(until))
        return {};
    out.body = in_.substr(end + 4, length);
    in_.erase(0, end + 4 + length);
    if (out.status == 100 && !keep_interim)
      continue;
    return out;
  }
}

bool raw_conn::closed_within(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    fill(until);
  }
  return true;
}

bool raw_conn::readable_within(std::chrono::milliseconds timeout) {
  if (!in_.empty() || eof_)
    return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::string raw_request(std::string_view method, std::string_view target,
                        std::string_view extra_headers, std::string_view body) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  out.append(extra_headers);
  out.append("\r\n");
  out.append(body);
  return out;
}

} // namespace millrace::test::http
