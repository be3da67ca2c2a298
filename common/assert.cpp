#include "common/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace seatd::common {
void assertion_failed(const char* expression, const char* message, const char* file, int line) {
  std::fprintf(stderr, "seatd: assertion failed at %s:%d: %s (%s)\n", file, line, message,
               expression);
  std::fflush(stderr);
  std::abort();
}
}  // namespace seatd::common
