#pragma once
// One W1 client's connection to the system under test, whatever its protocol: seatd over
// HTTP/JSON, Redis with the Lua scripts of the seat-lock design, PostgreSQL with one
// conditional UPDATE per hold. The load loop (bench_load.cpp) draws the requests, keeps the
// budget, latencies and ledger; a connection only turns the three W1 operations into its
// system's requests and the answers back into verdicts. One request in flight at a time.

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace seatd::tools {

enum class w1_system { seatd, redis, postgres };

inline const char* system_name(w1_system s) {
  switch (s) {
    case w1_system::redis:
      return "redis";
    case w1_system::postgres:
      return "postgres";
    case w1_system::seatd:
      break;
  }
  return "seatd";
}

struct w1_answer {
  enum class verdict {
    ok,          // held (hold_id set), confirmed or released
    conflict,    // a hold that lost to another: W1 moves on
    unexpected,  // an answer W1 does not expect: counted, fails the run
    failed,      // the connection broke: the outcome is unknown, the client stops
  };
  verdict v = verdict::unexpected;
  std::string hold_id;
  std::string detail;  // for unexpected and failed: what came back

  static w1_answer ok(std::string hold_id = {}) { return {verdict::ok, std::move(hold_id), {}}; }
  static w1_answer conflict() { return {verdict::conflict, {}, {}}; }
  static w1_answer unexpected(std::string what) {
    return {verdict::unexpected, {}, std::move(what)};
  }
  static w1_answer failed(std::string what) { return {verdict::failed, {}, std::move(what)}; }
};

class w1_connection {
 public:
  using on_answer = std::function<void(w1_answer)>;
  virtual ~w1_connection() = default;
  // Connects (and prepares what the protocol needs); done("") or done(error).
  virtual void connect(std::function<void(std::string)> done) = 0;
  virtual void hold(const std::string& customer, const std::vector<std::string>& seats,
                    on_answer done) = 0;
  virtual void confirm(const std::string& hold_id, const std::string& payment_ref,
                       on_answer done) = 0;
  virtual void release(const std::string& hold_id, on_answer done) = 0;
};

// What a connection needs to find its system and event.
struct w1_target {
  std::string url;    // http://..., redis://host:port or a libpq URI (postgresql://...)
  std::string token;  // seatd's bearer token
  std::string event_id;
  bool ceiling = false;                    // seatd-ceiling: every answer counts as a conflict
  std::vector<std::string> redis_scripts;  // SHA1s of hold, confirm, release (SCRIPT LOAD)
};

// A seat's state in the system's final state: "held" or "sold" (available seats left out).
struct seat_state {
  std::string id;
  std::string state;
};

std::unique_ptr<w1_connection> make_http_connection(boost::asio::io_context& io,
                                                    const w1_target& target);
std::unique_ptr<w1_connection> make_redis_connection(boost::asio::io_context& io,
                                                     const w1_target& target);
std::unique_ptr<w1_connection> make_postgres_connection(boost::asio::io_context& io,
                                                        const w1_target& target);

// Setup and the final state of the other systems (blocking; connection_error when the system
// cannot be reached, std::runtime_error when it answers what the bench cannot use). Prepare
// requires a fresh event, or with `create` makes one (clearing an older run's state); Redis's
// returns the SHA1s of the loaded scripts.
// Throws std::invalid_argument unless the URL is redis://HOST:PORT.
void validate_redis_url(const std::string& url);
std::vector<std::string> redis_prepare(const std::string& url, const std::string& event_id,
                                       bool create);
std::vector<seat_state> redis_seat_states(const std::string& url, const std::string& event_id);
void postgres_prepare(const std::string& url, const std::string& event_id, bool create);
std::vector<seat_state> postgres_seat_states(const std::string& url, const std::string& event_id);

}  // namespace seatd::tools
