#include "common/w1_workload.hpp"

#include <catch2/catch.hpp>

// Expected values come from an independent Python splitmix64 of WORKLOAD.md's formulas, so a
// change in the order or the arithmetic of the draws shows up here, not as drifted benchmarks.
using namespace seatd::common;

TEST_CASE("w1_workload: the first draws of seed 42 match the reference", "[unit][common]") {
  auto client_0 = w1_stream(42, 0);
  const w1_draw first = draw_w1(client_0);
  CHECK(first.section == 5);
  CHECK(first.row == 18);
  CHECK(first.count == 3);
  CHECK(first.start == 40);
  CHECK(first.confirm);
  CHECK(first.seat_ids() == std::vector<std::string>{"6-19-41", "6-19-42", "6-19-43"});
  CHECK(draw_w1(client_0).seat_ids() ==
        std::vector<std::string>{"19-20-12", "19-20-13", "19-20-14", "19-20-15"});

  auto client_63 = w1_stream(42, 63);
  CHECK(draw_w1(client_63).seat_ids() ==
        std::vector<std::string>{"1-4-24", "1-4-25", "1-4-26", "1-4-27"});
}

TEST_CASE("w1_workload: 1,000 draws of one client, exact totals", "[unit][common]") {
  auto client_5 = w1_stream(42, 5);
  std::uint64_t confirms = 0, seats = 0;
  for (int i = 0; i < 1000; ++i) {
    const w1_draw d = draw_w1(client_5);
    if (i == 1) {  // the first release of this stream
      CHECK_FALSE(d.confirm);
      CHECK(d.seat_ids() == std::vector<std::string>{"11-10-47", "11-10-48"});
    }
    REQUIRE(d.start + d.count <= w1_seats_per_row);
    confirms += d.confirm ? 1 : 0;
    seats += d.count;
  }
  CHECK(confirms == 801);
  CHECK(seats == 3021);
}
