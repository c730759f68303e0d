// One HTTP/1.1 connection: reads requests one after another (keep-alive,
// pipelined input is kept in the buffer), enforces limits and timeouts,
// routes, calls the handler and writes its answer. Internal.
//
// Everything runs on the connection's strand. The only entry points from
// other threads are post_response() (through a responder) and the posts of
// server::stop() (drain, force_close).

#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http/api_error.hpp"
#include "api/http/detail/core.hpp"
#include "api/http/detail/header_checks.hpp"
#include "api/http/types.hpp"
#include "api/http/uri.hpp"

namespace millrace::api::http::detail {

class session : public std::enable_shared_from_this<session> {
public:
  using executor = boost::asio::strand<boost::asio::io_context::executor_type>;
  using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, executor>;
  using clock = std::chrono::steady_clock;

  session(core& c, socket_type socket, std::string ip, std::string remote);
  ~session();

  /// First call, on the strand.
  void start();

  /// server::stop(): close now if idle, else after the current response.
  void drain();

  /// server::stop() past its deadline: close now.
  void force_close();

  /// From a responder (any thread, through the lifeline): answer request
  /// number `seq` unless it was already answered or timed out.
  void post_response(uint64_t seq, response r);

  const std::string& ip() const noexcept {
    return ip_;
  }
  const executor& strand() const noexcept {
    return strand_;
  }

private:
  enum class phase : uint8_t { idle, header, body, handler, write, linger, closed };

  void wait_for_request();
  void read_header();
  void on_header(const boost::beast::error_code& ec);
  void read_body();
  void on_body(const boost::beast::error_code& ec);
  void dispatch();
  void on_response(uint64_t seq, response r);
  void on_handler_timeout();

  /// Writes `r`; `close` ends the connection after it (with lingering).
  void send(response r, bool close);
  void send_error(const api_error& e, bool close);
  void on_written(const boost::beast::error_code& ec, bool close);
  void linger();
  void linger_read();
  void close();

  /// Sets the deadline of the current phase. One timer serves all phases:
  /// it is re-armed only when the new deadline is earlier than the pending
  /// wait, otherwise the wait re-checks when it fires.
  void deadline(phase p, std::chrono::milliseconds d);
  void arm_timer();
  void on_timer(uint64_t gen, const boost::system::error_code& ec);

  void record(int status);

  core& core_;
  executor strand_;
  socket_type socket_;
  boost::asio::basic_waitable_timer<clock, boost::asio::wait_traits<clock>, executor> timer_;
  uint64_t timer_gen_ = 0;
  boost::beast::flat_buffer buffer_;
  std::optional<request_parser> parser_;
  boost::beast::http::response<boost::beast::http::string_body> res_;
  std::string ip_;
  std::string remote_;

  phase phase_ = phase::idle;
  clock::time_point deadline_;
  clock::time_point timer_expiry_;
  bool timer_pending_ = false;
  bool timed_out_ = false;
  bool draining_ = false;
  bool first_request_ = true;
  bool body_pending_ = false; // header read, body not (yet) read

  // The request in progress.
  uint64_t seq_ = 0;
  bool awaiting_ = false;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  int route_ = -1; // route index, -1 for unmatched
  int status_ = 0;
  std::string method_label_;
  std::string log_target_;
  clock::time_point started_;
  const handler* handler_ = nullptr;
  route_match match_;
  decoded_target target_;
};

} // namespace millrace::api::http::detail
