// seatd-stream-bench: sustained confirms through the API and, with --postgres, how long each
// takes to become a row in PostgreSQL (confirm acknowledged -> row visible), through the
// whole stream: outbox, Kafka, seat-persister. scripts/bench-stream.sh runs it against
// seatd with and without the stream in one run.
//
// C clients each hold one seat and confirm it, over and over, for the duration: flat out
// (closed loop), or at a fixed total rate (--rate), which is how the lag is measured without
// a backlog building up.
// A poller asks PostgreSQL every 5 ms which of the 256 oldest acknowledged, not yet seen
// reservations have become visible (primary-key lookups, cheap enough not to slow the
// persister down); a row's lag is the time from the confirm's answer to the first poll that
// sees it, so it is over-stated by up to one poll interval plus the query's own time. Rows
// become visible roughly in commit order, so the oldest are the ones to ask about.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/tools/bench_report.hpp"
#include "api/tools/http_client.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using seatd::tools::http_client;

struct options {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  std::string postgres;  // empty: no lag measurement
  unsigned clients = 16;
  double seconds = 10;
  double rate = 0;  // confirms per second offered by all clients together; 0: as fast as they can
  std::string event_id = "stream-bench";
};

// 100 sections x 20 rows x 100 seats: 200,000 seats, more than a run sells.
std::string event_json() {
  std::string json = R"({"name": "Stream bench", "starts_at": "2027-01-01T00:00:00Z",
  "categories": [{"id": "STD", "price_minor": 100000, "currency": "KRW"}], "sections": [)";
  for (int s = 1; s <= 100; ++s) {
    json +=
        (s > 1 ? "," : "") + std::string(R"({"id": "S)") + std::to_string(s) + R"(", "rows": [)";
    for (int r = 1; r <= 20; ++r)
      json += (r > 1 ? "," : "") + std::string(R"({"id": ")") + std::to_string(r) +
              R"(", "seats": 100, "category": "STD"})";
    json += "]}";
  }
  return json + R"(], "max_seats_per_customer": 0})";
}

std::string seat_of(std::uint64_t n) {  // the n-th seat, n < 200,000
  return "S" + std::to_string(1 + n / 2000) + "-" + std::to_string(1 + (n / 100) % 20) + "-" +
         std::to_string(1 + n % 100);
}

struct shared_state {
  std::mutex mutex;
  std::unordered_map<std::string, clock_type::time_point> unseen;  // acknowledged, not in PG
  std::deque<std::string> unseen_order;                            // the same, oldest first
  std::vector<double> lag_us;
  clock_type::time_point last_seen{};
  std::atomic<std::uint64_t> confirms{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<bool> stop{false};
};

void client_loop(const options& o, unsigned index, shared_state& state) {
  http_client http(seatd::tools::parse_base_url(o.url), o.token);
  const std::string base = "/v1/events/" + o.event_id;
  // With a rate, each client starts a sale every clients/rate seconds (open loop: a late
  // answer does not push the schedule back, so the offered rate holds).
  const auto interval = std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(o.rate > 0 ? o.clients / o.rate : 0));
  auto next = clock_type::now() + interval * index / o.clients;
  for (std::uint64_t n = index; !state.stop && n < 200'000; n += o.clients) {
    if (o.rate > 0) {
      std::this_thread::sleep_until(next);
      next += interval;
    }
    const auto held = http.request(
        "POST", base + "/holds",
        R"({"customer_id": "c)" + std::to_string(n) + R"(", "seats": [")" + seat_of(n) + R"("]})");
    if (held.status != 201) {
      ++state.failures;
      continue;
    }
    const std::string hold_id = nlohmann::json::parse(held.body)["hold_id"];
    const auto confirmed = http.request("POST", base + "/holds/" + hold_id + "/confirm",
                                        R"({"payment_ref": "bench-)" + hold_id + R"("})");
    const auto acked = clock_type::now();
    if (confirmed.status != 201) {
      ++state.failures;
      continue;
    }
    ++state.confirms;
    if (o.postgres.empty()) continue;
    const std::string id = nlohmann::json::parse(confirmed.body)["reservation_id"];
    std::lock_guard lock(state.mutex);
    state.unseen.emplace(id, acked);
    state.unseen_order.push_back(id);
  }
}

// Polls until told to stop and nothing is unseen (or the deadline passes).
void poll_loop(const options& o, shared_state& state, clock_type::time_point deadline) {
  pqxx::connection connection(o.postgres);
  for (;;) {
    std::string ids = "{";
    {
      std::lock_guard lock(state.mutex);
      if (state.stop && state.unseen.empty()) return;
      auto& order = state.unseen_order;
      while (!order.empty() && state.unseen.count(order.front()) == 0)
        order.pop_front();  // seen already
      std::size_t asked = 0;
      for (auto it = order.begin(); it != order.end() && asked < 256; ++it)
        if (state.unseen.count(*it) > 0) {
          ids += (asked++ > 0 ? "," : "") + *it;  // ids are [A-Za-z0-9._:-]: no quoting needed
        }
    }
    ids += "}";
    if (clock_type::now() > deadline) return;
    if (ids.size() > 2) {
      pqxx::nontransaction work(connection);
      const auto rows = work.exec_params(
          "SELECT reservation_id FROM reservations WHERE reservation_id = ANY($1::text[])", ids);
      const auto seen = clock_type::now();
      std::lock_guard lock(state.mutex);
      for (const auto& row : rows) {
        const auto it = state.unseen.find(row[0].as<std::string>());
        if (it == state.unseen.end()) continue;
        state.lag_us.push_back(
            std::chrono::duration<double, std::micro>(seen - it->second).count());
        state.last_seen = seen;
        state.unseen.erase(it);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Sustained confirms through seatd and their lag into PostgreSQL"};
  app.add_option("--url", o.url, "seatd's base URL")->capture_default_str();
  app.add_option("--token", o.token, "bearer token (admin: it creates the event)");
  app.add_option("--postgres", o.postgres, "libpq URI of seat-persister's database");
  app.add_option("--clients", o.clients, "closed-loop clients")->check(CLI::Range(1, 256));
  app.add_option("--seconds", o.seconds, "duration of the load")->capture_default_str();
  app.add_option("--rate", o.rate, "confirms/s offered in total (0: closed loop, flat out)")
      ->capture_default_str();
  app.add_option("--event", o.event_id, "event id to create")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    http_client admin(seatd::tools::parse_base_url(o.url), o.token);
    const auto created = admin.request("PUT", "/v1/events/" + o.event_id, event_json());
    if (created.status != 201) {
      std::fprintf(stderr, "stream-bench: creating the event: %s\n",
                   seatd::tools::describe_answer(created).c_str());
      return 1;
    }
    shared_state state;
    std::thread poller;
    const auto start = clock_type::now();
    const auto load_end = start + std::chrono::duration_cast<clock_type::duration>(
                                      std::chrono::duration<double>(o.seconds));
    if (!o.postgres.empty())
      poller = std::thread([&] { poll_loop(o, state, load_end + std::chrono::seconds(60)); });
    std::vector<std::thread> clients;
    for (unsigned i = 0; i < o.clients; ++i)
      clients.emplace_back([&, i] { client_loop(o, i, state); });
    std::this_thread::sleep_until(load_end);
    state.stop = true;
    for (auto& c : clients)
      c.join();
    const double wall = std::chrono::duration<double>(clock_type::now() - start).count();
    if (poller.joinable()) poller.join();

    const std::uint64_t confirms = state.confirms;
    std::printf("clients %u, %.1f s: %llu confirms acknowledged, %.0f confirms/s, %llu failed\n",
                o.clients, wall, static_cast<unsigned long long>(confirms),
                static_cast<double>(confirms) / wall,
                static_cast<unsigned long long>(state.failures.load()));
    if (!o.postgres.empty()) {
      const auto lag = seatd::tools::summarize(state.lag_us);
      std::printf("rows visible in PostgreSQL: %zu of %llu (%zu never seen within 60 s)\n",
                  lag.count, static_cast<unsigned long long>(confirms), state.unseen.size());
      const double until_last = std::chrono::duration<double>(state.last_seen - start).count();
      if (lag.count > 0)
        std::printf("rows reached PostgreSQL at %.0f rows/s (the last %.1f s after the start)\n",
                    static_cast<double>(lag.count) / until_last, until_last);
      std::printf(
          "lag, confirm acknowledged -> row visible: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, "
          "max %.1f ms\n",
          lag.p50_ms, lag.p90_ms, lag.p99_ms, lag.max_ms);
      if (!state.unseen.empty()) return 1;
    }
    return state.failures > 0 ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stream-bench: %s\n", e.what());
    return 1;
  }
}
