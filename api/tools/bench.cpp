#include "api/tools/bench.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "api/tools/bench_load.hpp"
#include "api/tools/bench_report.hpp"
#include "api/tools/http_client.hpp"
#include "common/w1_workload.hpp"

namespace seatd::tools {

namespace {

using json = nlohmann::json;

constexpr std::size_t examples_max = 5;

std::string event_path(const std::string& event_id) {
  return "/v1/events/" + event_id;
}

// Seats of one kind of problem: "3 seats held, e.g. 1-1-1 1-1-2 1-1-3".
class seat_problem {
 public:
  explicit seat_problem(std::string what) : what_(std::move(what)) {}
  void add(const std::string& seat) {
    if (count_++ < examples_max) examples_ += " " + seat;
  }
  void report_to(std::vector<std::string>& problems) const {
    if (count_ == 0) return;
    problems.push_back(std::to_string(count_) + " " + what_ + ", e.g." + examples_);
  }

 private:
  std::string what_;
  std::size_t count_ = 0;
  std::string examples_;
};

json parsed_body(const http_reply& reply, const std::string& what) {
  auto body = json::parse(reply.body, nullptr, false);
  if (reply.status != 200 || body.is_discarded())
    throw std::runtime_error(what + " answered " + std::to_string(reply.status) + ": " +
                             describe_answer(reply));
  return body;
}

// The event must exist and be untouched, or the ledger could not explain its final state.
void prepare_event(http_client& client, const bench_options& o) {
  const std::string path = event_path(o.event_id);
  if (o.create) {
    const http_reply created = client.request("PUT", path, w1_venue_json());
    if (created.status != 201 && created.status != 200)
      throw std::runtime_error("creating " + o.event_id + ": " + describe_answer(created));
  }
  const http_reply event = client.request("GET", path);
  if (event.status == 404)
    throw std::runtime_error("no event " + o.event_id + " (pass --create to create the W1 venue)");
  const json counts = parsed_body(event, "GET " + path)["counts"];
  if (counts.value("held", 0) != 0 || counts.value("sold", 0) != 0)
    throw std::runtime_error("event " + o.event_id +
                             " already has held or sold seats: the check needs a fresh event "
                             "(pick another --event or --seed)");
}

check_result check_seatd(http_client& client, const std::string& event_id,
                         const std::vector<std::vector<std::string>>& ledger) {
  const std::string path = event_path(event_id);
  const json seats = parsed_body(get_all_pages(client, path + "/seats"), "GET " + path + "/seats");
  std::vector<seat_state> states;
  std::uint64_t total = 0;
  for (const auto& seat : seats.at("seats")) {
    ++total;
    const auto state = seat.at("state").get<std::string>();
    if (state == "held" || state == "sold")
      states.push_back({seat.at("id").get<std::string>(), state});
  }
  check_result check = check_ledger(states, ledger, total);

  const json counts = parsed_body(client.request("GET", path), "GET " + path).at("counts");
  const auto event_sold = counts.at("sold").get<std::uint64_t>();
  if (event_sold != check.ledger_seats)
    check.problems.push_back("GET event says " + std::to_string(event_sold) +
                             " seats sold, the ledger " + std::to_string(check.ledger_seats));
  if (counts.at("held").get<std::uint64_t>() != 0)
    check.problems.push_back("GET event counts " + counts.at("held").dump() + " seats held");
  return check;
}

}  // namespace

check_result check_ledger(const std::vector<seat_state>& seats,
                          const std::vector<std::vector<std::string>>& ledger,
                          std::uint64_t seats_total) {
  check_result check;
  check.ran = true;
  std::unordered_map<std::string, unsigned> confirmed;  // seat -> confirmed holds with it
  for (const auto& hold : ledger)
    for (const auto& seat : hold)
      ++confirmed[seat];
  check.ledger_seats = confirmed.size();

  seat_problem twice("seats in two or more confirmed holds of the ledger");
  for (const auto& [seat, holds] : confirmed)
    if (holds > 1) twice.add(seat);
  seat_problem held("seats still held"), sold_unknown("seats sold but not confirmed in the ledger"),
      not_sold("seats confirmed in the ledger but not sold");
  check.seats_total = seats_total;
  std::unordered_set<std::string> sold;
  for (const seat_state& seat : seats) {
    if (seat.state == "held") held.add(seat.id);
    if (seat.state != "sold") continue;
    ++check.sold_seats;
    sold.insert(seat.id);
    if (!confirmed.contains(seat.id)) sold_unknown.add(seat.id);
  }
  for (const auto& [seat, holds] : confirmed)
    if (!sold.contains(seat)) not_sold.add(seat);
  for (const seat_problem* p : {&twice, &held, &sold_unknown, &not_sold})
    p->report_to(check.problems);
  return check;
}

std::string w1_venue_json() {
  json sections = json::array();
  for (std::uint64_t s = 1; s <= common::w1_sections; ++s) {
    json rows = json::array();
    for (std::uint64_t r = 1; r <= common::w1_rows; ++r)
      rows.push_back(
          {{"id", std::to_string(r)}, {"seats", common::w1_seats_per_row}, {"category", "STD"}});
    sections.push_back({{"id", std::to_string(s)}, {"rows", std::move(rows)}});
  }
  return json{{"name", "W1 flash on-sale"},
              {"starts_at", "2027-01-01T00:00:00Z"},
              {"categories", {{{"id", "STD"}, {"price_minor", 100000}, {"currency", "KRW"}}}},
              {"sections", std::move(sections)},
              {"max_seats_per_customer", 0}}
      .dump();
}

int run_bench(const bench_options& options) {
  bench_outcome outcome;
  outcome.options = options;
  bench_options& o = outcome.options;
  if (o.event_id.empty()) o.event_id = "w1-" + std::to_string(o.seed);
  if (o.clients == 0 || o.budget == 0 || !(o.max_seconds > 0))
    throw std::invalid_argument("--clients, --budget and --max-seconds must be positive");

  load_config config;
  config.system = o.system;
  config.target.url = o.url;
  config.target.token = o.token;
  config.target.event_id = o.event_id;
  config.target.ceiling = o.target_ceiling;
  if (o.system != w1_system::seatd && o.target_ceiling)
    throw std::invalid_argument("--target-ceiling is a seatd-ceiling server: only --system seatd");
  // A bad URL is bad usage (exit 2), before anything is sent.
  if (o.system == w1_system::seatd) (void)parse_base_url(o.url);
  if (o.system == w1_system::redis) validate_redis_url(o.url);
  config.clients = o.clients;
  config.budget = o.budget;
  config.seed = o.seed;
  config.max_duration =
      std::chrono::milliseconds(static_cast<std::int64_t>(o.max_seconds * 1000.0));
  config.server_pids = o.server_pids;
  for (int pid : o.server_pids)
    if (!process_cpu_seconds(pid))
      throw std::invalid_argument("--server-pid: cannot read /proc/" + std::to_string(pid) +
                                  "/stat");

  const std::uint64_t venue_seats =
      common::w1_sections * common::w1_rows * common::w1_seats_per_row;
  try {
    switch (o.system) {
      case w1_system::seatd: {
        http_client client(parse_base_url(o.url), o.token);
        // A fixed-answer server has no events: neither setup nor check means anything there.
        if (!o.target_ceiling) prepare_event(client, o);
        outcome.load = run_load(config);
        if (!o.target_ceiling)
          outcome.check = check_seatd(client, o.event_id, outcome.load.confirmed_holds);
        break;
      }
      case w1_system::redis:
        config.target.redis_scripts = redis_prepare(o.url, o.event_id, o.create);
        outcome.load = run_load(config);
        outcome.check = check_ledger(redis_seat_states(o.url, o.event_id),
                                     outcome.load.confirmed_holds, venue_seats);
        break;
      case w1_system::postgres:
        postgres_prepare(o.url, o.event_id, o.create);
        outcome.load = run_load(config);
        outcome.check = check_ledger(postgres_seat_states(o.url, o.event_id),
                                     outcome.load.confirmed_holds, venue_seats);
        break;
    }
  } catch (const connection_error& e) {
    std::fprintf(stderr, "seatctl bench: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {  // an answer that is not what the API promises
    std::fprintf(stderr, "seatctl bench: %s\n", e.what());
    return 1;
  }
  const std::string report = o.json ? render_json(outcome) : render_text(outcome);
  std::fputs(report.c_str(), stdout);
  return bench_passed(outcome) ? 0 : 1;
}

}  // namespace seatd::tools
