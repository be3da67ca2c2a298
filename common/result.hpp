#pragma once
// result<T, E>: a value or an expected failure, returned instead of thrown.
// Accessing the wrong alternative is a bug and asserts.

#include <utility>
#include <variant>

#include "common/assert.hpp"

namespace seatd::common {

// Tags an error so that result<T, E> can be built from it even when T and E convert.
template <class E>
struct failure_of {
  E error;
};
template <class E>
failure_of<std::decay_t<E>> fail(E&& error) {
  return {std::forward<E>(error)};
}

template <class T, class E>
class [[nodiscard]] result {
 public:
  result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  // Builds the value in place, without a temporary T.
  template <class... Args>
  explicit result(std::in_place_t, Args&&... args)
      : state_(std::in_place_index<0>, std::forward<Args>(args)...) {}
  result(failure_of<E> f) : state_(std::in_place_index<1>, std::move(f.error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    SEATD_ASSERT(ok(), "value() on a failed result");
    return std::get<0>(state_);
  }
  const T& value() const& {
    SEATD_ASSERT(ok(), "value() on a failed result");
    return std::get<0>(state_);
  }
  T&& value() && {
    SEATD_ASSERT(ok(), "value() on a failed result");
    return std::get<0>(std::move(state_));
  }
  const E& error() const& {
    SEATD_ASSERT(!ok(), "error() on a successful result");
    return std::get<1>(state_);
  }
  E&& error() && {
    SEATD_ASSERT(!ok(), "error() on a successful result");
    return std::get<1>(std::move(state_));
  }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> state_;
};

}  // namespace seatd::common
