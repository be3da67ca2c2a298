#pragma once
// Always-on assertions for broken invariants (bugs, never expected failures).
// A failed SEATD_ASSERT prints where and why, then aborts: crash loudly, never limp on.

namespace seatd::common {
[[noreturn]] void assertion_failed(const char* expression, const char* message, const char* file,
                                   int line);
}  // namespace seatd::common

#define SEATD_ASSERT(condition, message)                                          \
  do {                                                                            \
    if (!(condition)) [[unlikely]]                                                \
      ::seatd::common::assertion_failed(#condition, message, __FILE__, __LINE__); \
  } while (false)
