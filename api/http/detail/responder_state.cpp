#include "api/http/detail/responder_state.hpp"

#include <boost/asio/post.hpp>

#include "api/http/api_error.hpp"
#include "api/http/detail/session.hpp"

namespace millrace::api::http::detail {

responder_state::responder_state(std::weak_ptr<session> s, std::shared_ptr<lifeline> life,
                                 std::shared_ptr<spdlog::logger> log, metrics::counter* dropped,
                                 uint64_t seq, std::string what)
  : session_(std::move(s)), life_(std::move(life)), log_(std::move(log)), dropped_(dropped),
    seq_(seq), what_(std::move(what)) {
  // nop
}

responder_state::~responder_state() {
  if (answered_.load(std::memory_order_acquire))
    return;
  log_->error("http: responder of {} dropped without an answer; answering 500", what_);
  life_->run([this] {
    if (dropped_ != nullptr)
      dropped_->inc();
  });
  deliver(to_response(make_error(errc::internal, "the request was lost by its handler")));
}

void responder_state::answer(response r) {
  if (answered_.exchange(true, std::memory_order_acq_rel)) {
    log_->debug("http: second answer for {} ignored", what_);
    return;
  }
  deliver(std::move(r));
}

void responder_state::deliver(response r) {
  life_->run([&] {
    if (auto s = session_.lock()) {
      auto* raw = s.get();
      boost::asio::post(raw->strand(), [s = std::move(s), seq = seq_, r = std::move(r)]() mutable {
        s->post_response(seq, std::move(r));
      });
    }
  });
}

responder make_responder(std::shared_ptr<responder_state> state) {
  return [state = std::move(state)](response r) { state->answer(std::move(r)); };
}

} // namespace millrace::api::http::detail
