#include "common/http_checks.hpp"

#include <catch2/catch.hpp>

using namespace seatd::common;

namespace {

request_head head(std::vector<header_field> fields, unsigned version = 11) {
  return request_head{version, std::move(fields)};
}

unsigned status_of(const request_head& h) {
  const auto checked = check_request_head(h);
  return checked ? 0u : checked.error().status;
}

}  // namespace

TEST_CASE("http_checks: a plain head, a Content-Length or chunked alone is accepted") {
  CHECK(status_of(head({{"Host", "x"}})) == 0);
  const auto length = check_request_head(head({{"host", "x"}, {"Content-Length", " 12 "}}));
  REQUIRE(length);
  CHECK(length.value().content_length == 12u);
  const auto chunked = check_request_head(head({{"Host", "x"}, {"transfer-encoding", "Chunked"}}));
  REQUIRE(chunked);
  CHECK(chunked.value().chunked);
}

TEST_CASE("http_checks: an unknown coding is 501, a malformed framing 400") {
  const header_field host{"Host", "x"};
  for (const char* coding : {"identity", "gzip", "gzip, chunked", "chunked, gzip", "x-y"})
    CHECK(status_of(head({host, {"Transfer-Encoding", coding}})) == 501);
  for (const char* coding : {"", " ", "\"chunked\"", "chunked, chunked", "chunked;a=b", ",chunked"})
    CHECK(status_of(head({host, {"Transfer-Encoding", coding}})) == 400);
  CHECK(status_of(head(
            {host, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})) == 400);
  CHECK(status_of(head({host, {"Transfer-Encoding", "chunked"}, {"Content-Length", "0"}})) == 400);
  CHECK(status_of(head({host, {"Content-Length", "0"}, {"Content-Length", "0"}})) == 400);
  CHECK(status_of(head({host, {"Content-Length", "5, 5"}})) == 400);
  CHECK(status_of(head({host, {"Content-Length", "-1"}})) == 400);
  CHECK(status_of(head({host, {"Content-Length", "99999999999999999999"}})) == 400);
  CHECK(status_of(head({host, {"Transfer-Encoding", "chunked"}}, 10)) == 400);
}

TEST_CASE("http_checks: Host exactly once, Authorization at most once") {
  CHECK(status_of(head({})) == 400);
  CHECK(status_of(head({{"Host", "a"}, {"HOST", "a"}})) == 400);
  CHECK(status_of(head({{"Host", "a"}, {"Authorization", "Bearer a"}})) == 0);
  CHECK(status_of(head({{"Host", "a"}, {"Authorization", "Bearer a"}, {"authorization", "b"}})) ==
        400);
}
