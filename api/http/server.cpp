#include "api/http/server.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "api/http/detail/core.hpp"
#include "api/http/detail/session.hpp"

namespace millrace::api::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

void detail::core::unregister(session* s, const std::string& ip) {
  std::shared_ptr<session> keep; // released outside the lock
  {
    std::lock_guard<std::mutex> guard{mutex};
    auto it = sessions.find(s);
    if (it == sessions.end())
      return;
    keep = std::move(it->second);
    sessions.erase(it);
    if (auto c = per_ip.find(ip); c != per_ip.end() && --c->second == 0)
      per_ip.erase(c);
  }
  m.open->dec();
  cv.notify_all();
}

struct server::impl {
  impl(server_config cfg, metrics::registry& r)
    : c(std::make_unique<detail::core>(std::move(cfg))), reg(r) {
    // nop
  }

  void resolve_metrics();
  void do_accept();
  void on_accept(const error_code& ec, detail::session::socket_type socket);
  void admit(detail::session::socket_type socket);
  std::vector<std::shared_ptr<detail::session>> snapshot();
  bool on_io_thread() const;

  std::unique_ptr<detail::core> c;
  metrics::registry& reg;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> retry;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::vector<std::thread::id> thread_ids;
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

void server::impl::resolve_metrics() {
  auto& m = c->m;
  m.requests = &reg.counters("millrace_http_requests_total", "HTTP requests answered.",
                             {"route", "method", "status"});
  auto& latency = reg.histograms("millrace_http_request_duration_seconds",
                                 "From the first byte of a request to the end of its response.",
                                 {"route"});
  for (auto& p : c->patterns)
    m.route_latency.push_back(&latency.with({p}));
  m.unmatched_latency = &latency.with({"unmatched"});
  m.open = &reg.gauges("millrace_http_connections_open", "Open HTTP connections.").with({});
  auto& rejected = reg.counters("millrace_http_connections_rejected_total",
                                "Connections closed at accept.", {"reason"});
  m.rejected_total = &rejected.with({"max_connections"});
  m.rejected_per_ip = &rejected.with({"max_connections_per_ip"});
  m.rejected_draining = &rejected.with({"stopping"});
  m.dropped = &reg.counters("millrace_http_responders_dropped_total",
                            "Requests whose handler dropped the responder (answered 500).")
                 .with({});
}

void server::impl::do_accept() {
  acceptor->async_accept(asio::make_strand(c->ioc),
                         [this](const error_code& ec, detail::session::socket_type socket) {
                           on_accept(ec, std::move(socket));
                         });
}

void server::impl::on_accept(const error_code& ec, detail::session::socket_type socket) {
  if (ec == asio::error::operation_aborted || !acceptor->is_open())
    return;
  if (ec) {
    c->log->warn("http: accept failed: {}", ec.message());
    // Out of descriptors or memory: back off instead of spinning.
    retry->expires_after(std::chrono::milliseconds{100});
    retry->async_wait([this](const error_code& wec) {
      if (!wec && acceptor->is_open())
        do_accept();
    });
    return;
  }
  admit(std::move(socket));
  do_accept();
}

void server::impl::admit(detail::session::socket_type socket) {
  error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec)
    return; // already gone
  auto ip = ep.address().to_string();
  auto remote = (ep.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(ep.port());
  metrics::counter* rejected = nullptr;
  std::shared_ptr<detail::session> s;
  {
    std::lock_guard<std::mutex> guard{c->mutex};
    auto& per_ip = c->per_ip[ip];
    if (c->draining.load())
      rejected = c->m.rejected_draining;
    else if (c->sessions.size() >= c->cfg.max_connections)
      rejected = c->m.rejected_total;
    else if (per_ip >= c->cfg.max_connections_per_ip)
      rejected = c->m.rejected_per_ip;
    if (rejected) {
      if (per_ip == 0)
        c->per_ip.erase(ip);
    } else {
      s = std::make_shared<detail::session>(*c, std::move(socket), ip, std::move(remote));
      c->sessions.emplace(s.get(), s);
      ++per_ip;
    }
  }
  if (rejected) {
    rejected->inc();
    c->log->debug("http: connection from {} refused (cap reached)", ip);
    socket.close(ec);
    return;
  }
  c->m.open->inc();
  asio::post(s->strand(), [s] { s->start(); });
}

std::vector<std::shared_ptr<detail::session>> server::impl::snapshot() {
  std::vector<std::shared_ptr<detail::session>> out;
  std::lock_guard<std::mutex> guard{c->mutex};
  out.reserve(c->sessions.size());
  for (auto& [raw, s] : c->sessions)
    out.push_back(s);
  return out;
}

bool server::impl::on_io_thread() const {
  auto me = std::this_thread::get_id();
  return std::find(thread_ids.begin(), thread_ids.end(), me) != thread_ids.end();
}

server::server(server_config cfg, metrics::registry& metrics)
  : impl_(std::make_unique<impl>(std::move(cfg), metrics)) {
  // nop
}

server::~server() {
  stop();
}

void server::add_route(std::string method, std::string pattern, handler h, bool any_body) {
  if (impl_->started)
    throw std::logic_error("http::server::add_route after start()");
  impl_->c->routes.add(method, pattern, std::move(h));
  impl_->c->any_body.push_back(any_body);
  impl_->c->patterns.push_back(std::move(pattern));
  impl_->c->methods.push_back(std::move(method));
}

std::vector<route_info> server::routes() const {
  return impl_->c->routes.routes();
}

void server::start() {
  auto& d = *impl_;
  if (d.started)
    throw std::logic_error("http::server::start called twice");
  auto& c = *d.c;
  c.log = spdlog::get(c.cfg.logger_name);
  if (!c.log)
    c.log = spdlog::default_logger();
  d.resolve_metrics();
  tcp::endpoint ep{asio::ip::make_address(c.cfg.address), c.cfg.port};
  d.acceptor.emplace(asio::make_strand(c.ioc));
  d.acceptor->open(ep.protocol());
  d.acceptor->set_option(asio::socket_base::reuse_address{true});
  d.acceptor->bind(ep);
  d.acceptor->listen(c.cfg.backlog);
  d.port = d.acceptor->local_endpoint().port();
  d.retry.emplace(d.acceptor->get_executor());
  d.work.emplace(c.ioc.get_executor());
  d.started = true;
  d.do_accept();
  auto n = std::max(1u, c.cfg.io_threads);
  for (unsigned i = 0; i < n; ++i) {
    d.threads.emplace_back([&c] {
      for (;;) {
        try {
          c.ioc.run();
          return;
        } catch (const std::exception& e) {
          c.log->error("http: exception escaped an io handler: {}", e.what());
        }
      }
    });
    d.thread_ids.push_back(d.threads.back().get_id());
  }
  c.log->info("http: listening on {}:{} with {} io threads", c.cfg.address, d.port, n);
}

uint16_t server::port() const noexcept {
  return impl_->port;
}

std::size_t server::connections() const {
  std::lock_guard<std::mutex> guard{impl_->c->mutex};
  return impl_->c->sessions.size();
}

const server_config& server::config() const noexcept {
  return impl_->c->cfg;
}

void server::stop() {
  stop(impl_->c->cfg.stop_timeout);
}

void server::stop(std::chrono::milliseconds deadline) {
  auto& d = *impl_;
  if (!d.started || d.stopped)
    return;
  if (d.on_io_thread())
    throw std::logic_error("http::server::stop called from an io thread");
  d.stopped = true;
  auto& c = *d.c;
  auto until = std::chrono::steady_clock::now() + deadline;
  c.draining.store(true, std::memory_order_release);
  asio::post(d.acceptor->get_executor(), [&d] {
    error_code ec;
    d.acceptor->close(ec);
    d.retry->cancel();
  });
  for (auto& s : d.snapshot())
    asio::post(s->strand(), [s] { s->drain(); });
  {
    std::unique_lock<std::mutex> lock{c.mutex};
    c.cv.wait_until(lock, until, [&] { return c.sessions.empty(); });
  }
  auto left = d.snapshot();
  if (!left.empty()) {
    c.log->warn("http: stop deadline passed; closing {} connections", left.size());
    for (auto& s : left)
      asio::post(s->strand(), [s] { s->force_close(); });
    left.clear();
    std::unique_lock<std::mutex> lock{c.mutex};
    c.cv.wait_for(lock, std::chrono::seconds{5}, [&] { return c.sessions.empty(); });
  }
  c.life->close();
  d.work.reset();
  c.ioc.stop();
  for (auto& t : d.threads)
    t.join();
  d.threads.clear();
  d.thread_ids.clear();
  {
    std::lock_guard<std::mutex> guard{c.mutex};
    c.sessions.clear();
    c.per_ip.clear();
  }
  c.log->info("http: stopped");
}

handler metrics_handler(const metrics::registry& reg) {
  return [&reg](request&&, route_match&&, responder r) {
    response res;
    res.content_type = std::string{metrics::content_type};
    res.body = reg.render();
    r(std::move(res));
  };
}

} // namespace millrace::api::http
