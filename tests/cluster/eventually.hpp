#pragma once
// Bounded waits for tests of threaded shells: polls a condition every 10 ms.

#include <chrono>
#include <functional>
#include <thread>

namespace seatd::test {

// True as soon as the condition holds; false once `limit` has passed without it.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace seatd::test
