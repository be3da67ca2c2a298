// seatctl: the command-line client of seatd's gateway API (docs/API.md), for
// people (a short line, a table or a seat map) and scripts (--json prints the answer), and
// `seatctl bench`, the W1 load tool. Exit codes: 0 done, 1 the API answered an error (its
// code and message on stderr), 2 usage, 3 the server could not be reached.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/tools/bench.hpp"
#include "api/tools/http_client.hpp"
#include "api/tools/seatctl_render.hpp"

namespace {

using namespace seatd::tools;

constexpr int exit_api_error = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreachable = 3;

struct global_options {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  bool json = false;
};

// What a command does once its flags are parsed: a request and how to show its answer.
struct api_call {
  std::string method;
  std::string target;
  std::string body;
  std::function<std::string(const json&, unsigned status)> human;
  // A GET of a list that comes in pages (the seat map): every page, as one answer.
  bool all_pages = false;
  std::string idempotency_key = {};  // sent as the Idempotency-Key header when set
};

int perform(const global_options& g, const api_call& call) {
  http_client client(parse_base_url(g.url), g.token);
  const http_reply reply =
      call.all_pages ? get_all_pages(client, call.target)
                     : client.request(call.method, call.target, call.body, call.idempotency_key);
  if (reply.status < 200 || reply.status >= 300) {
    std::fprintf(stderr, "seatctl: %s\n", describe_answer(reply).c_str());
    return exit_api_error;
  }
  const json answer = json::parse(reply.body, nullptr, false);
  if (answer.is_discarded()) {
    std::fprintf(stderr, "seatctl: the answer is not JSON: %s\n",
                 reply.body.substr(0, 200).c_str());
    return exit_api_error;
  }
  const std::string out = g.json ? answer.dump(2) + "\n" : call.human(answer, reply.status);
  std::fputs(out.c_str(), stdout);
  return 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string event_path(const std::string& event_id) {
  return "/v1/events/" + event_id;
}

// Each add_* declares one subcommand and, when it is chosen, sets `call`.
using call_maker = std::function<api_call()>;

void add_event_commands(CLI::App& app, call_maker& make) {
  auto* create = app.add_subcommand("create-event", "PUT an event definition from a JSON file");
  auto event_id = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  create->add_option("ID", *event_id, "event id")->required();
  create->add_option("FILE", *file, "the definition (API.md's JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  create->callback([&make, event_id, file] {
    make = [event_id, file] {
      return api_call{
          "PUT", event_path(*event_id), read_file(*file),
          [](const json& a, unsigned status) { return render_event_created(a, status); }};
    };
  });

  auto* event = app.add_subcommand("event", "an event's counts, as a table");
  auto shown_id = std::make_shared<std::string>();
  event->add_option("ID", *shown_id, "event id")->required();
  event->callback([&make, shown_id] {
    make = [shown_id] {
      return api_call{"GET", event_path(*shown_id), "",
                      [](const json& a, unsigned) { return render_event_counts(a); }};
    };
  });

  auto* seats = app.add_subcommand("seats", "the whole seat map (every page), a line per row");
  auto seats_id = std::make_shared<std::string>();
  auto section = std::make_shared<std::string>();
  seats->add_option("ID", *seats_id, "event id")->required();
  seats->add_option("--section", *section, "only this section");
  seats->callback([&make, seats_id, section] {
    make = [seats_id, section] {
      const std::string query = section->empty() ? "" : "?section=" + *section;
      return api_call{"GET", event_path(*seats_id) + "/seats" + query, "",
                      [](const json& a, unsigned) { return render_seat_map(a); }, true};
    };
  });

  for (const bool block : {true, false}) {
    auto* command =
        app.add_subcommand(block ? "block" : "unblock", block ? "take seats off sale (admin)"
                                                              : "put seats back on sale (admin)");
    auto id = std::make_shared<std::string>();
    auto list = std::make_shared<std::vector<std::string>>();
    auto key = std::make_shared<std::string>();
    command->add_option("ID", *id, "event id")->required();
    command->add_option("SEAT", *list, "seat ids, e.g. A-1-1 A-1-2")->required();
    command->add_option("--idempotency-key", *key, "repeat-safe key");
    command->callback([&make, id, list, key, block] {
      make = [id, list, key, block] {
        const std::string verb = block ? "blocked" : "unblocked";
        json body{{"seats", *list}};
        if (!key->empty()) body["idempotency_key"] = *key;
        return api_call{"POST", event_path(*id) + (block ? "/seats/block" : "/seats/unblock"),
                        body.dump(),
                        [verb](const json& a, unsigned) { return render_seat_states(a, verb); }};
      };
    });
  }

  auto* cluster = app.add_subcommand("cluster", "nodes and shards (admin)");
  cluster->callback([&make] {
    make = [] {
      return api_call{"GET", "/v1/cluster", "",
                      [](const json& a, unsigned) { return render_cluster(a); }};
    };
  });
}

struct hold_flags {
  std::string event_id, customer, category, section, ga_area, idempotency_key;
  std::vector<std::string> seats;
  unsigned best = 0, count = 0, ttl_s = 0;
};

json hold_body(const hold_flags& f) {
  json body{{"customer_id", f.customer}};
  if (!f.seats.empty()) {
    body["seats"] = f.seats;
  } else if (f.best > 0) {
    json best{{"count", f.best}};
    if (!f.category.empty()) best["category"] = f.category;
    if (!f.section.empty()) best["section"] = f.section;
    body["best_available"] = best;
  } else {
    body["ga"] = {{"area", f.ga_area}, {"count", f.count}};
  }
  if (f.ttl_s > 0) body["ttl_s"] = f.ttl_s;
  if (!f.idempotency_key.empty()) body["idempotency_key"] = f.idempotency_key;
  return body;
}

void add_hold_command(CLI::App& app, call_maker& make) {
  auto* hold = app.add_subcommand("hold", "hold seats for a customer, all or nothing");
  auto f = std::make_shared<hold_flags>();
  hold->add_option("ID", f->event_id, "event id")->required();
  hold->add_option("--customer", f->customer, "customer id")->required();
  auto* what = hold->add_option_group("what", "exactly one of these");
  what->add_option("--seats", f->seats, "explicit seats: A-1-1,A-1-2")->delimiter(',');
  auto* best =
      what->add_option("--best", f->best, "the best N adjacent seats")->check(CLI::Range(1, 50));
  auto* ga = what->add_option("--ga", f->ga_area, "a general-admission area");
  what->require_option(1);
  hold->add_option("--category", f->category, "with --best: only this category")->needs(best);
  hold->add_option("--section", f->section, "with --best: only this section")->needs(best);
  auto* count = hold->add_option("--count", f->count, "with --ga: places")
                    ->check(CLI::Range(1, 1'000'000))
                    ->needs(ga);
  ga->needs(count);
  hold->add_option("--ttl", f->ttl_s, "seconds until the hold expires (the event's default)")
      ->check(CLI::Range(1, 86'400));
  hold->add_option("--idempotency-key", f->idempotency_key, "repeat-safe key");
  hold->callback([&make, f] {
    make = [f] {
      return api_call{"POST", event_path(f->event_id) + "/holds", hold_body(*f).dump(),
                      [](const json& a, unsigned) { return render_hold(a, "held"); }};
    };
  });
}

void add_hold_lifecycle_commands(CLI::App& app, call_maker& make) {
  struct flags {
    std::string event_id, id, payment_ref, idempotency_key, reason;
    unsigned ttl_s = 0;
  };
  auto f = std::make_shared<flags>();

  auto* confirm = app.add_subcommand("confirm", "turn a hold into a reservation");
  confirm->add_option("ID", f->event_id, "event id")->required();
  confirm->add_option("HOLD", f->id, "hold id")->required();
  confirm->add_option("--payment-ref", f->payment_ref, "the payment's reference")->required();
  confirm->add_option("--idempotency-key", f->idempotency_key, "repeat-safe key");
  confirm->callback([&make, f] {
    make = [f] {
      json body{{"payment_ref", f->payment_ref}};
      if (!f->idempotency_key.empty()) body["idempotency_key"] = f->idempotency_key;
      return api_call{"POST", event_path(f->event_id) + "/holds/" + f->id + "/confirm", body.dump(),
                      render_reservation};
    };
  });

  auto* release = app.add_subcommand("release", "release a hold");
  release->add_option("ID", f->event_id, "event id")->required();
  release->add_option("HOLD", f->id, "hold id")->required();
  release->add_option("--idempotency-key", f->idempotency_key,
                      "repeat-safe key (the Idempotency-Key header)");
  release->callback([&make, f] {
    make = [f] {
      return api_call{"DELETE", event_path(f->event_id) + "/holds/" + f->id,
                      "",       [](const json& a, unsigned) { return render_hold(a, "released"); },
                      false,    f->idempotency_key};
    };
  });

  auto* extend = app.add_subcommand("extend", "move a hold's expiry to TTL seconds from now");
  extend->add_option("ID", f->event_id, "event id")->required();
  extend->add_option("HOLD", f->id, "hold id")->required();
  extend->add_option("--ttl", f->ttl_s, "seconds from now")
      ->required()
      ->check(CLI::Range(1, 86'400));
  extend->add_option("--idempotency-key", f->idempotency_key, "repeat-safe key");
  extend->callback([&make, f] {
    make = [f] {
      json body{{"ttl_s", f->ttl_s}};
      if (!f->idempotency_key.empty()) body["idempotency_key"] = f->idempotency_key;
      return api_call{"POST", event_path(f->event_id) + "/holds/" + f->id + "/extend", body.dump(),
                      [](const json& a, unsigned) { return render_hold(a, "extended"); }};
    };
  });

  auto* cancel = app.add_subcommand("cancel", "cancel a reservation: its seats go back on sale");
  cancel->add_option("ID", f->event_id, "event id")->required();
  cancel->add_option("RES", f->id, "reservation id")->required();
  cancel->add_option("--reason", f->reason, "why (kept with the reservation)");
  cancel->add_option("--idempotency-key", f->idempotency_key, "repeat-safe key");
  cancel->callback([&make, f] {
    make = [f] {
      json body = json::object();
      if (!f->reason.empty()) body["reason"] = f->reason;
      if (!f->idempotency_key.empty()) body["idempotency_key"] = f->idempotency_key;
      return api_call{"POST", event_path(f->event_id) + "/reservations/" + f->id + "/cancel",
                      body.empty() ? "" : body.dump(), render_reservation};
    };
  });
}

void add_bench_command(CLI::App& app, const global_options& g, std::function<int()>& run) {
  auto* bench = app.add_subcommand(
      "bench",
      "run workload W1 (WORKLOAD.md) and check the result; uses the global --url, --token, --json");
  auto o = std::make_shared<bench_options>();
  bench->add_option("--clients", o->clients, "closed-loop clients, a connection each")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  bench->add_option("--budget", o->budget, "hold attempts shared by all clients")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bench->add_option("--seed", o->seed, "workload seed")->capture_default_str();
  bench->add_option("--event", o->event_id, "event id (default w1-<seed>)");
  bench->add_flag("--create", o->create,
                  "create the W1 venue first (seatd: PUT; redis and postgres: reset the event)");
  bench->add_option("--max-seconds", o->max_seconds, "safety cap (reported; not comparable)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bench
      ->add_option("--server-pid", o->server_pids,
                   "measure these local servers' CPU time, their child processes' included "
                   "(repeat it, or give several)")
      ->check(CLI::PositiveNumber);
  const std::map<std::string, w1_system> systems{
      {"seatd", w1_system::seatd}, {"redis", w1_system::redis}, {"postgres", w1_system::postgres}};
  bench
      ->add_option("--system", o->system,
                   "the system under test: seatd (HTTP, the global --url), redis (--url "
                   "redis://HOST:PORT: Lua scripts of the seat-lock design) or postgres (--url "
                   "a libpq URI: a conditional UPDATE per hold)")
      ->transform(CLI::CheckedTransformer(systems))
      ->default_str("seatd");
  bench->add_flag("--target-ceiling", o->target_ceiling,
                  "count every answer as a conflict (for seatd-ceiling); no setup, no check");
  bench->callback([&run, &g, o] {
    run = [&g, o] {
      o->url = g.url;
      o->token = g.token;
      o->json = g.json;
      return run_bench(*o);
    };
  });
}

}  // namespace

int main(int argc, char** argv) {
  global_options g;
  CLI::App app{"seatctl: command-line client of seatd's gateway API, and its W1 load tool"};
  app.add_option("--url", g.url, "seatd's address")->capture_default_str();
  app.add_option("--token", g.token, "bearer token")->envname("SEATD_TOKEN");
  app.add_flag("--json", g.json, "print the API's JSON answer");
  app.fallthrough();  // global options may also follow the subcommand
  app.require_subcommand(1);

  call_maker make;
  std::function<int()> run;
  add_event_commands(app, make);
  add_hold_command(app, make);
  add_hold_lifecycle_commands(app, make);
  add_bench_command(app, g, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_usage;
  }
  try {
    if (run) return run();
    return perform(g, make());
  } catch (const connection_error& e) {
    std::fprintf(stderr, "seatctl: %s\n", e.what());
    return exit_unreachable;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "seatctl: %s\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seatctl: %s\n", e.what());
    return exit_api_error;
  }
}
