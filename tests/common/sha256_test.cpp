// SHA-256 and HMAC-SHA-256 against the standards' published test vectors (FIPS 180-4's
// examples, RFC 4231's HMAC cases), and fed in pieces.

#include "common/sha256.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace seatd::common;

namespace {

std::string hex(const sha256_digest& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : d) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xF]);
  }
  return out;
}

std::vector<std::uint8_t> bytes(const std::string& text) {
  return {text.begin(), text.end()};
}

}  // namespace

TEST_CASE("sha256: the standard's examples", "[unit][crypto]") {
  CHECK(hex(sha256_of(bytes(""))) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex(sha256_of(bytes("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex(sha256_of(bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(hex(sha256_of(std::vector<std::uint8_t>(1'000'000, 'a'))) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: the same digest however the input is split", "[unit][crypto]") {
  const auto text = bytes(std::string(200, 'x') + "seatd" + std::string(77, 'y'));
  const auto whole = sha256_of(text);
  for (std::size_t split = 0; split <= text.size(); split += 7) {
    sha256 h;
    h.update(std::span(text).first(split));
    h.update(std::span(text).subspan(split));
    CHECK(h.finish() == whole);
  }
}

TEST_CASE("hmac_sha256: RFC 4231's test cases", "[unit][crypto]") {
  CHECK(hex(hmac_sha256(std::vector<std::uint8_t>(20, 0x0b), bytes("Hi There"))) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(hex(hmac_sha256(bytes("Jefe"), bytes("what do ya want for nothing?"))) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hex(hmac_sha256(std::vector<std::uint8_t>(131, 0xaa),
                        bytes("Test Using Larger Than Block-Size Key - Hash Key First"))) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("equal_in_constant_time: equal only with the same bytes and length", "[unit][crypto]") {
  const auto a = bytes("secret-proof"), b = bytes("secret-proof"), c = bytes("secret-proog");
  CHECK(equal_in_constant_time(a, b));
  CHECK_FALSE(equal_in_constant_time(a, c));
  CHECK_FALSE(equal_in_constant_time(a, bytes("secret-proo")));
  CHECK(equal_in_constant_time(bytes(""), bytes("")));
}
