// Parsing --peers into the cluster's members (cluster/membership.hpp).

#include "cluster/membership.hpp"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using seatd::cluster::member_id;
using seatd::cluster::parse_members;

TEST_CASE("membership: --peers lists every member by name, sorted, with fixed ids",
          "[unit][raft]") {
  auto members = parse_members("n3=10.0.0.3:7000,n1=10.0.0.1:7000,n2=host-b:7001", "n2");
  REQUIRE(members.ok());
  const auto& m = members.value();
  REQUIRE(m.size() == 3);
  CHECK(m[0].name == "n1");
  CHECK(m[1].name == "n2");
  CHECK(m[1].peer_address.host == "host-b");
  CHECK(m[1].peer_address.port == 7001);
  CHECK(m[2].name == "n3");
  for (const auto& one : m) {
    CHECK(one.id == member_id(one.name));
    CHECK(one.id != 0);
  }
  CHECK(member_id("n1") != member_id("n2"));
  CHECK(member_id("n1") == member_id("n1"));
}

TEST_CASE("membership: a malformed --peers is refused, naming what is wrong", "[unit][raft]") {
  auto error = [](const char* text, const char* self = "n1") {
    auto r = parse_members(text, self);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  CHECK_THAT(error(""), Contains("is not NAME=HOST:PORT"));
  CHECK_THAT(error("n1=127.0.0.1:7000,"), Contains("is not NAME=HOST:PORT"));
  CHECK_THAT(error("n1"), Contains("is not NAME=HOST:PORT"));
  CHECK_THAT(error("n 1=127.0.0.1:7000"), Contains("is not 1 to 64"));
  CHECK_THAT(error("n1=127.0.0.1"), Contains("n1: "));
  CHECK_THAT(error("n1=127.0.0.1:99999"), Contains("n1: "));
  CHECK_THAT(error("n1=a:1,n1=b:2"), Contains("listed twice"));
  CHECK_THAT(error("n2=a:1,n3=b:2"), Contains("does not list this node"));
}
