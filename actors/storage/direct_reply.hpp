// Answers a request from a thread that is not the actor's: the storage
// threads hand each result straight to the requester's mailbox instead of
// relaying it through the storage actor (one thread hop less per write).
//
// This is what caf::response_promise::deliver does in CAF 0.17.6, minus the
// execution context: enqueueing with a null context is the thread-safe path
// (the one anon_send takes). The promise itself is never delivered.
//
// The answer goes out without a sender. A storage thread must never hold a
// strong reference to its own storage actor: if that reference were the last
// one (the requester already gone, the actor waiting to stop), dropping it
// would destroy the actor's state on the storage thread, and the state's
// destructor joins that very thread (std::system_error, "Resource deadlock
// avoided", in a fresh-clone CI run). Requesters match answers by message id,
// never by sender.

#pragma once

#include <utility>

#include "caf/actor_control_block.hpp"
#include "caf/mailbox_element.hpp"
#include "caf/message.hpp"
#include "caf/message_id.hpp"
#include "caf/response_promise.hpp"

namespace millrace::actors {

class direct_reply {
public:
  explicit direct_reply(const caf::response_promise& rp)
    : source_(rp.source()), stages_(rp.stages()), id_(rp.id()) {
    // nop
  }

  /// Sends `msg` to whoever awaits the response. Callable from any thread.
  void operator()(caf::message msg) {
    // For a plain send (no request), response_id() is the async id: the
    // result goes back as an ordinary message, as CAF does it.
    if (!stages_.empty()) {
      auto next = std::move(stages_.back());
      stages_.pop_back();
      next->enqueue(caf::make_mailbox_element(std::move(source_), id_, std::move(stages_),
                                              std::move(msg)),
                    nullptr);
      return;
    }
    if (source_)
      source_->enqueue(nullptr, id_.response_id(), std::move(msg), nullptr);
    source_ = nullptr;
  }

private:
  caf::strong_actor_ptr source_;
  caf::response_promise::forwarding_stack stages_;
  caf::message_id id_;
};

} // namespace millrace::actors
