#include "api/http/detail/session.hpp"

#include <charconv>
#include <ctime>

#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "api/http/content_type.hpp"
#include "api/http/detail/access_log.hpp"
#include "api/http/detail/responder_state.hpp"
#include "api/http/utf8.hpp"

namespace millrace::api::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

std::string_view sv(beast::string_view s) noexcept {
  return {s.data(), s.size()};
}

/// Beast's own errors (malformed input, limits, early end of stream) get an
/// answer; the others (reset, aborted by close) mean nobody is listening.
bool parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category();
}

/// "Date" value, recomputed once per second per thread.
std::string_view http_date() {
  thread_local std::time_t cached = 0;
  thread_local char buf[40];
  thread_local std::size_t len = 0;
  auto now = std::time(nullptr);
  if (now != cached) {
    cached = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return {buf, len};
}

bool header_safe(std::string_view s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0')
      return false;
  return true;
}

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

} // namespace

session::session(core& c, socket_type socket, std::string ip, std::string remote)
  : core_(c), strand_(socket.get_executor()), socket_(std::move(socket)), timer_(strand_),
    ip_(std::move(ip)), remote_(std::move(remote)) {
  // nop
}

session::~session() = default;

void session::start() {
  error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay{true}, ec);
  wait_for_request();
}

// -- reading -------------------------------------------------------------------

void session::wait_for_request() {
  if (draining_ || core_.draining.load(std::memory_order_acquire))
    return close();
  auto& cfg = core_.cfg;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(cfg.max_url_bytes + cfg.max_header_bytes + 1024));
  parser_->body_limit(cfg.max_body_bytes);
  body_pending_ = false;
  route_ = -1;
  status_ = 0;
  handler_ = nullptr;
  method_label_ = "OTHER";
  log_target_.clear();
  if (buffer_.size() > 0) // pipelined: the next request is already here
    return read_header();
  deadline(phase::idle, first_request_ ? cfg.header_timeout : cfg.idle_timeout);
  socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](error_code ec) {
    if (self->phase_ == phase::closed)
      return;
    if (ec) // idle timeout, drain or a socket error: nothing to answer
      return self->close();
    self->read_header();
  });
}

void session::read_header() {
  started_ = clock::now();
  deadline(phase::header, core_.cfg.header_timeout);
  bhttp::async_read_header(socket_, buffer_, *parser_,
                           [self = shared_from_this()](error_code ec, std::size_t) {
                             self->on_header(ec);
                           });
}

void session::on_header(const error_code& ec) {
  if (phase_ == phase::closed)
    return;
  first_request_ = false;
  auto& cfg = core_.cfg;
  if (ec) {
    bool got_bytes = parser_->got_some() || buffer_.size() > 0;
    if (timed_out_)
      return got_bytes ? send_error(make_error(errc::request_timeout,
                                               "request header not received in time"),
                                    true)
                       : close();
    if (!parse_error(ec) || (ec == bhttp::error::end_of_stream && !got_bytes))
      return close(); // the client closed between requests, or the socket broke
    return send_error(read_error(ec, *parser_, cfg), true);
  }
  auto& msg = parser_->get();
  version_ = msg.version() >= 11 ? 11 : 10;
  method_label_ = std::string{method_label(sv(msg.method_string()))};
  if (core_.log->should_log(spdlog::level::debug))
    log_target_ = loggable_target(sv(msg.target()));
  if (auto e = check_header(*parser_, cfg))
    return send_error(*e, true);
  keep_alive_ = msg.keep_alive();
  auto length = parser_->content_length();
  body_pending_ = parser_->chunked() || (length && *length > 0);
  if (auto e = decode_target(sv(msg.target()), target_))
    return send_error(*e, body_pending_);
  auto method = sv(msg.method_string());
  auto found = core_.routes.match(method, target_.segments);
  if (found.kind == router::outcome::method_not_allowed) {
    auto r = to_response(found.error);
    r.headers.emplace_back("Allow", found.allow);
    return send(std::move(r), body_pending_);
  }
  if (found.kind != router::outcome::matched)
    return send_error(found.error, body_pending_);
  route_ = static_cast<int>(found.route);
  handler_ = found.target;
  match_ = std::move(found.match);
  method_label_ = core_.methods[found.route];
  if (cfg.require_json_bodies && !core_.any_body[found.route]) {
    auto it = msg.find(bhttp::field::content_type);
    std::string type = it == msg.end() ? std::string{} : std::string{sv(it->value())};
    if (auto e = check_json_content_type(method, body_pending_, it == msg.end() ? nullptr : &type))
      return send_error(*e, body_pending_);
  }
  if (!body_pending_)
    return dispatch();
  auto expect = msg.find(bhttp::field::expect);
  if (expect != msg.end() && version_ >= 11 && beast::iequals(expect->value(), "100-continue")) {
    deadline(phase::write, cfg.write_timeout);
    asio::async_write(socket_, asio::buffer(continue_line.data(), continue_line.size()),
                      [self = shared_from_this()](error_code wec, std::size_t) {
                        if (self->phase_ == phase::closed)
                          return;
                        if (wec)
                          return self->close();
                        self->read_body();
                      });
    return;
  }
  read_body();
}

void session::read_body() {
  deadline(phase::body, core_.cfg.body_timeout);
  bhttp::async_read(socket_, buffer_, *parser_,
                    [self = shared_from_this()](error_code ec, std::size_t) { self->on_body(ec); });
}

void session::on_body(const error_code& ec) {
  if (phase_ == phase::closed)
    return;
  if (ec) {
    if (timed_out_)
      return send_error(make_error(errc::request_timeout, "request body not received in time"),
                        true);
    if (!parse_error(ec))
      return close();
    return send_error(read_error(ec, *parser_, core_.cfg), true);
  }
  body_pending_ = false;
  dispatch();
}

// -- the handler ---------------------------------------------------------------

void session::dispatch() {
  auto& msg = parser_->get();
  request req;
  req.method = std::string{sv(msg.method_string())};
  req.target = std::string{sv(msg.target())};
  req.path = std::move(target_.path);
  req.query = std::move(target_.query);
  for (const auto& f : msg) {
    std::string name{sv(f.name_string())};
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string{sv(f.value())});
  }
  req.body = std::move(msg.body());
  req.remote = remote_;
  ++seq_;
  awaiting_ = true;
  deadline(phase::handler, core_.cfg.response_timeout);
  auto state = std::make_shared<responder_state>(weak_from_this(), core_.life, core_.log,
                                                 core_.m.dropped, seq_,
                                                 req.method + " " + match_.pattern);
  try {
    (*handler_)(std::move(req), std::move(match_), make_responder(std::move(state)));
  } catch (const std::exception& e) {
    core_.log->error("http: handler of {} threw: {}", core_.patterns[route_], e.what());
  } catch (...) {
    core_.log->error("http: handler of {} threw a non-exception", core_.patterns[route_]);
  }
}

void session::post_response(uint64_t seq, response r) {
  on_response(seq, std::move(r));
}

void session::on_response(uint64_t seq, response r) {
  if (phase_ == phase::closed || !awaiting_ || seq != seq_)
    return; // answered already, timed out, or the connection is gone
  awaiting_ = false;
  if (r.status < 200 || r.status > 599) {
    core_.log->error("http: handler of {} answered with status {}; sending 500",
                     core_.patterns[route_], r.status);
    return send_error(make_error(errc::internal, "invalid response status"), false);
  }
  send(std::move(r), false);
}

void session::on_handler_timeout() {
  if (!awaiting_)
    return;
  awaiting_ = false;
  core_.log->warn("http: handler of {} did not answer within {} ms; sent 503",
                  core_.patterns[route_], core_.cfg.response_timeout.count());
  send_error(make_error(errc::unavailable, "the request handler did not answer in time"), false);
}

// -- writing -------------------------------------------------------------------

void session::send_error(const api_error& e, bool close_after) {
  send(to_response(e), close_after);
}

void session::send(response r, bool close_after) {
  close_after = close_after || !keep_alive_ || draining_
                || core_.draining.load(std::memory_order_acquire) || body_pending_;
  status_ = r.status;
  res_ = {};
  res_.version(version_);
  res_.result(static_cast<unsigned>(r.status));
  if (auto reason = reason_phrase(r.status); !reason.empty())
    res_.reason(beast::string_view{reason.data(), reason.size()});
  auto date = http_date();
  res_.set(bhttp::field::date, beast::string_view{date.data(), date.size()});
  bool no_body = r.status == 204 || r.status == 304;
  if (!no_body && header_safe(r.content_type))
    res_.set(bhttp::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers) {
    if (name.empty() || !header_safe(name) || !header_safe(value)) {
      core_.log->error("http: dropped response header with CR, LF or NUL ({})",
                       escape_for_log(name, 64));
      continue;
    }
    res_.insert(beast::string_view{name.data(), name.size()}, value);
  }
  if (!no_body)
    res_.body() = std::move(r.body);
  res_.keep_alive(!close_after);
  res_.prepare_payload();
  deadline(phase::write, core_.cfg.write_timeout);
  bhttp::async_write(socket_, res_,
                     [self = shared_from_this(), close_after](error_code ec, std::size_t) {
                       self->on_written(ec, close_after);
                     });
}

void session::on_written(const error_code& ec, bool close_after) {
  if (phase_ == phase::closed)
    return;
  record(status_);
  if (ec)
    return close();
  if (close_after)
    return linger();
  wait_for_request();
}

void session::record(int status) {
  char buf[8];
  auto end = std::to_chars(buf, buf + sizeof buf, status).ptr;
  std::string_view code{buf, static_cast<std::size_t>(end - buf)};
  std::string_view route = route_ >= 0 ? std::string_view{core_.patterns[route_]} : "unmatched";
  core_.m.requests->with({route, method_label_, code}).inc();
  auto seconds = std::chrono::duration<double>(clock::now() - started_).count();
  (route_ >= 0 ? core_.m.route_latency[route_] : core_.m.unmatched_latency)->observe(seconds);
  if (core_.log->should_log(spdlog::level::debug))
    core_.log->debug("{} \"{} {}\" {} {}B {:.3f}ms", remote_, method_label_, log_target_, status,
                     res_.body().size(), seconds * 1e3);
}

// -- closing -------------------------------------------------------------------

void session::linger() {
  error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_send, ec);
  if (ec)
    return close();
  deadline(phase::linger, core_.cfg.linger_timeout);
  linger_read();
}

void session::linger_read() {
  buffer_.clear();
  socket_.async_read_some(buffer_.prepare(16 * 1024),
                          [self = shared_from_this()](error_code ec, std::size_t) {
                            if (self->phase_ == phase::closed)
                              return;
                            if (ec) // EOF, reset or the linger deadline
                              return self->close();
                            self->linger_read();
                          });
}

void session::drain() {
  draining_ = true;
  if (phase_ == phase::idle)
    close();
}

void session::force_close() {
  close();
}

void session::close() {
  if (phase_ == phase::closed)
    return;
  phase_ = phase::closed;
  awaiting_ = false;
  error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_both, ec);
  socket_.close(ec);
  timer_.cancel();
  core_.unregister(this, ip_);
}

// -- deadlines -----------------------------------------------------------------

void session::deadline(phase p, std::chrono::milliseconds d) {
  phase_ = p;
  timed_out_ = false;
  deadline_ = clock::now() + d;
  if (!timer_pending_ || deadline_ < timer_expiry_)
    arm_timer();
}

void session::arm_timer() {
  timer_expiry_ = deadline_;
  timer_pending_ = true;
  auto gen = ++timer_gen_;
  timer_.expires_at(timer_expiry_);
  timer_.async_wait([self = shared_from_this(), gen](error_code ec) { self->on_timer(gen, ec); });
}

void session::on_timer(uint64_t gen, const error_code& ec) {
  if (gen != timer_gen_ || phase_ == phase::closed)
    return; // superseded by a re-arm, or closed
  timer_pending_ = false;
  if (ec)
    return;
  if (clock::now() < deadline_)
    return arm_timer(); // the deadline moved later meanwhile
  timed_out_ = true;
  if (phase_ == phase::handler)
    return on_handler_timeout();
  error_code ignored;
  socket_.cancel(ignored); // the pending read/write/wait completes with an error
}

} // namespace millrace::api::http::detail
