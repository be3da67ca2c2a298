#include "common/host_port.hpp"

#include <catch2/catch.hpp>

using seatd::common::parse_host_port;

TEST_CASE("host_port: the host before the last colon, the port after it") {
  const auto v4 = parse_host_port("127.0.0.1:8080");
  REQUIRE(v4.ok());
  CHECK(v4.value().host == "127.0.0.1");
  CHECK(v4.value().port == 8080);
  const auto v6 = parse_host_port("::1:0");
  REQUIRE(v6.ok());
  CHECK(v6.value().host == "::1");
  CHECK(v6.value().port == 0);
  CHECK(parse_host_port("0.0.0.0:65535").value().port == 65535);
}

TEST_CASE("host_port: refuses what is not HOST:PORT, quoting it") {
  for (const char* bad : {"", "8080", ":8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                          "127.0.0.1:80a", "127.0.0.1:-1", "127.0.0.1:123456"}) {
    INFO(bad);
    const auto parsed = parse_host_port(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().find("expected HOST:PORT") != std::string::npos);
    CHECK(parsed.error().find(std::string("\"") + bad + "\"") != std::string::npos);
  }
}
