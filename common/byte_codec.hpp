#pragma once
// Little-endian binary writer and a bounds-checked reader for snapshots and log entries.
// The reader never reads past its input and never trusts a length: every failure makes it
// sticky-failed, and callers check ok() once at the end.

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace seatd::common {

class byte_writer {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u16(std::uint16_t v) { fixed(v); }
  void u32(std::uint32_t v) { fixed(v); }
  void u64(std::uint64_t v) { fixed(v); }
  void i64(std::int64_t v) { fixed(static_cast<std::uint64_t>(v)); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<std::uint8_t>(v));
  }
  void string(std::string_view s) {
    varint(s.size());
    raw({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  }
  void raw(std::span<const std::uint8_t> data) {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  // Overwrites 4 bytes written earlier (for lengths and checksums known only at the end).
  void patch_u32(std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      bytes_[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  }

  std::size_t size() const { return bytes_.size(); }
  std::vector<std::uint8_t>& bytes() { return bytes_; }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  template <class U>
  void fixed(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i)
      bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t> bytes_;
};

class byte_reader {
 public:
  explicit byte_reader(std::span<const std::uint8_t> input) : input_(input) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(fixed(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(fixed(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
  std::uint64_t u64() { return fixed(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed(8)); }
  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (!ok_ || at_ >= input_.size()) return fail();
      const std::uint8_t byte = input_[at_++];
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    return fail();
  }
  // A length-prefixed string of at most max_length bytes.
  std::string string(std::size_t max_length) {
    const std::uint64_t length = varint();
    if (!ok_ || length > max_length || length > remaining()) {
      fail();
      return {};
    }
    std::string s(reinterpret_cast<const char*>(input_.data() + at_),
                  static_cast<std::size_t>(length));
    at_ += static_cast<std::size_t>(length);
    return s;
  }
  // A count of items that each take at least min_item_bytes: rejects counts the remaining
  // input cannot hold, so garbage never drives a huge allocation.
  std::size_t count(std::size_t max_count, std::size_t min_item_bytes) {
    const std::uint64_t n = varint();
    if (!ok_ || n > max_count || n * min_item_bytes > remaining()) {
      fail();
      return 0;
    }
    return static_cast<std::size_t>(n);
  }

  bool ok() const { return ok_; }
  bool at_end() const { return at_ == input_.size(); }
  std::size_t remaining() const { return input_.size() - at_; }
  std::size_t position() const { return at_; }
  std::uint64_t fail() {
    ok_ = false;
    return 0;
  }

 private:
  std::uint64_t fixed(std::size_t width) {
    if (!ok_ || remaining() < width) return fail();
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i)
      v |= static_cast<std::uint64_t>(input_[at_ + i]) << (8 * i);
    at_ += width;
    return v;
  }
  std::span<const std::uint8_t> input_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace seatd::common
