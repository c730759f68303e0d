// A value or an api_error: what the body-parsing helpers return.

#pragma once

#include <utility>
#include <variant>

#include "api/http/api_error.hpp"

namespace millrace::api::http {

/// Either a T or the api_error to answer with. Test with `if (r)`; then use
/// `*r` / `r->`, or `r.error()` when it failed.
template <class T>
class result {
public:
  result(T value) : v_(std::move(value)) {
    // nop
  }
  result(api_error e) : v_(std::move(e)) {
    // nop
  }

  explicit operator bool() const noexcept {
    return v_.index() == 0;
  }
  T& operator*() & {
    return std::get<0>(v_);
  }
  const T& operator*() const& {
    return std::get<0>(v_);
  }
  T&& operator*() && {
    return std::get<0>(std::move(v_));
  }
  T* operator->() {
    return &std::get<0>(v_);
  }
  const T* operator->() const {
    return &std::get<0>(v_);
  }
  const api_error& error() const {
    return std::get<1>(v_);
  }

private:
  std::variant<T, api_error> v_;
};

} // namespace millrace::api::http
