#include "common/metrics.hpp"

#include <catch2/catch.hpp>

using namespace seatd::common;

TEST_CASE("metrics: the registry renders Prometheus text", "[unit][common]") {
  metrics_registry registry;
  registry.counter_for("seatd_requests_total", "Requests", "route=\"hold\",status=\"201\"").add(3);
  registry.counter_for("seatd_requests_total", "Requests", "route=\"hold\",status=\"201\"").add();
  registry.gauge_for("seatd_things", "Things").set(-2);
  auto& h = registry.histogram_for("seatd_wait_seconds", "Wait", "", {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  registry.gauge_callback("seatd_computed", "Computed", [] { return 1.5; });
  registry.counter_callback("seatd_computed_total", "Computed total", [] { return 7.0; });
  const std::string text = registry.render();
  CHECK(text.find("# TYPE seatd_requests_total counter\n") != std::string::npos);
  CHECK(text.find("seatd_requests_total{route=\"hold\",status=\"201\"} 4\n") != std::string::npos);
  CHECK(text.find("seatd_things -2\n") != std::string::npos);
  CHECK(text.find("seatd_wait_seconds_bucket{le=\"0.1\"} 1\n") != std::string::npos);
  CHECK(text.find("seatd_wait_seconds_bucket{le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("seatd_wait_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("seatd_wait_seconds_sum 5.55\n") != std::string::npos);
  CHECK(text.find("seatd_wait_seconds_count 3\n") != std::string::npos);
  CHECK(text.find("# TYPE seatd_computed gauge\nseatd_computed 1.5\n") != std::string::npos);
  CHECK(text.find("# TYPE seatd_computed_total counter\nseatd_computed_total 7\n") !=
        std::string::npos);
}
