#include "api/service/http_bridge.hpp"

#include <thread>

#include "api/http/metrics.hpp"
#include "api/http/server.hpp"

namespace millrace::api {

struct http_bridge::impl {
  http::metrics::registry metrics;
  std::unique_ptr<http::server> server;
  std::thread stopper;
};

http_bridge::http_bridge(const service_config& cfg, const std::vector<endpoint>& routes,
                         std::function<void(call_ptr)> deliver)
  : impl_(std::make_unique<impl>()) {
  http::server_config sc;
  sc.address = cfg.bind;
  sc.port = cfg.port;
  sc.io_threads = static_cast<unsigned>(cfg.io_threads);
  sc.max_body_bytes = cfg.body_limit;
  // run_wait_result may wait max_wait for its job, then answers 504 itself.
  sc.response_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.max_wait)
                        + std::chrono::seconds{30};
  sc.logger_name = "/millrace/api/http";
  impl_->server = std::make_unique<http::server>(sc, impl_->metrics);
  for (auto& ep : routes) {
    const endpoint* e = &ep;
    impl_->server->add_route(ep.method, ep.pattern,
                             [e, deliver](http::request&& req, http::route_match&& m,
                                          http::responder respond) {
                               auto c = std::make_shared<api_call>();
                               c->req = std::move(req);
                               c->match = std::move(m);
                               c->respond = std::move(respond);
                               c->ep = e;
                               deliver(std::move(c));
                             },
                             ep.any_body);
  }
  impl_->server->start();
}

http_bridge::~http_bridge() {
  if (impl_->stopper.joinable())
    impl_->stopper.join();
  if (impl_->server)
    impl_->server->stop();
}

uint16_t http_bridge::port() const {
  return impl_->server->port();
}

std::string http_bridge::render_metrics() const {
  return impl_->metrics.render();
}

void http_bridge::stop_async(std::function<void()> done) {
  if (impl_->stopper.joinable())
    return;
  auto* srv = impl_->server.get();
  impl_->stopper = std::thread{[srv, done] {
    srv->stop();
    done();
  }};
}

} // namespace millrace::api
