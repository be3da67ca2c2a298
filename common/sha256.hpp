#pragma once
// SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the peers' challenge-response
// handshake: each side proves it knows the cluster secret without sending it. Pure; checked
// against the standards' published test vectors (tests/common/sha256_test.cpp).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace seatd::common {

using sha256_digest = std::array<std::uint8_t, 32>;

class sha256 {
 public:
  sha256();
  void update(std::span<const std::uint8_t> bytes);
  void update(std::string_view text);
  sha256_digest finish();  // once; the object is spent afterwards

 private:
  void block(const std::uint8_t* data);
  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // bytes so far
};

sha256_digest sha256_of(std::span<const std::uint8_t> bytes);
sha256_digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message);

// Equality whose time depends only on the length, never on where the first difference is.
bool equal_in_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

}  // namespace seatd::common
