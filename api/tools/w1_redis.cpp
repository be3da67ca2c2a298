// W1 against Redis, the seat-lock design a ticketing team would compare seatd with: a seat is
// a key, held with a TTL (SET ... PX) and sold without one, and each W1 operation is one Lua
// script, run atomically by Redis's single thread:
//   hold     all-or-nothing: if any of the seats' keys exists, nothing changes (a conflict);
//            else every seat key gets "H:<hold>" and the hold key "<customer> <seat keys>",
//            all with the hold's TTL;
//   confirm  the hold key must exist and each seat still carry "H:<hold>"; the seats become
//            "S:<hold>" without TTL, the hold key goes, a reservation key records the payment;
//   release  seats still carrying "H:<hold>" and the hold key are deleted.
// Keys are "w1:<event>:s:<seat id>", "w1:<event>:h:<hold id>", "w1:<event>:r:<hold id>". Unlike
// seatd, Redis knows no venue: a seat is available when its key is absent.

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio.hpp>
// clang-format on
#include <chrono>
#include <stdexcept>

#include "api/tools/http_client.hpp"
#include "api/tools/resp.hpp"
#include "api/tools/w1_connection.hpp"
#include "common/host_port.hpp"

namespace seatd::tools {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr const char* hold_script = R"(
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], 'H:' .. ARGV[1], 'PX', ARGV[2])
end
local seats = {}
for i = 2, #KEYS do seats[#seats + 1] = KEYS[i] end
redis.call('SET', KEYS[1], ARGV[3] .. ' ' .. table.concat(seats, ' '), 'PX', ARGV[2])
return 1
)";

constexpr const char* confirm_script = R"(
local hold = redis.call('GET', KEYS[1])
if not hold then return redis.error_reply('HOLD_EXPIRED the hold is gone') end
local seats = {}
for word in string.gmatch(hold, '%S+') do seats[#seats + 1] = word end
for i = 2, #seats do
  if redis.call('GET', seats[i]) ~= 'H:' .. ARGV[1] then
    return redis.error_reply('HOLD_LOST ' .. seats[i] .. ' is not held by the hold')
  end
end
for i = 2, #seats do redis.call('SET', seats[i], 'S:' .. ARGV[1]) end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[2] .. ' ' .. hold)
return 1
)";

constexpr const char* release_script = R"(
local hold = redis.call('GET', KEYS[1])
if not hold then return redis.error_reply('HOLD_EXPIRED the hold is gone') end
local first = true
for word in string.gmatch(hold, '%S+') do
  if first then
    first = false
  elseif redis.call('GET', word) == 'H:' .. ARGV[1] then
    redis.call('DEL', word)
  end
end
redis.call('DEL', KEYS[1])
return 1
)";

constexpr std::int64_t hold_ttl_ms = 600'000;  // W1's ttl_s = 600

common::host_port redis_address(const std::string& url) {
  constexpr std::string_view scheme = "redis://";
  if (url.rfind(scheme, 0) != 0)
    throw std::invalid_argument("a Redis URL is redis://HOST:PORT, not " + url);
  auto parsed = common::parse_host_port(std::string_view(url).substr(scheme.size()));
  if (!parsed) throw std::invalid_argument("Redis URL: " + parsed.error());
  return parsed.value();
}

std::string key_prefix(const std::string& event_id) {
  return "w1:" + event_id + ":";
}

std::string describe(const resp::reply& r) {
  switch (r.type) {
    case resp::reply::kind::integer:
      return std::to_string(r.integer);
    case resp::reply::kind::nil:
      return "nil";
    case resp::reply::kind::array:
      return "an array of " + std::to_string(r.items.size());
    default:
      return r.text;
  }
}

class redis_connection final : public w1_connection {
 public:
  redis_connection(asio::io_context& io, const w1_target& target)
      : target_(target), prefix_(key_prefix(target.event_id)), resolver_(io), socket_(io) {
    if (target.redis_scripts.size() != 3)
      throw std::invalid_argument("the Redis connection needs its three scripts loaded");
  }

  void connect(std::function<void(std::string)> done) override {
    const common::host_port at = redis_address(target_.url);
    resolver_.async_resolve(
        at.host, std::to_string(at.port),
        [this, done, at](boost::system::error_code ec, const tcp::resolver::results_type& eps) {
          if (ec) return done("cannot resolve " + at.host + ": " + ec.message());
          asio::async_connect(socket_, eps,
                              [this, done, at](boost::system::error_code c, const tcp::endpoint&) {
                                if (c)
                                  return done("cannot connect to Redis at " + at.host + ":" +
                                              std::to_string(at.port) + ": " + c.message());
                                socket_.set_option(tcp::no_delay(true), c);
                                done("");
                              });
        });
  }

  void hold(const std::string& customer, const std::vector<std::string>& seats,
            on_answer done) override {
    const std::string hold_id = customer + "-" + std::to_string(++holds_);
    std::vector<std::string> args{"EVALSHA", target_.redis_scripts[0],
                                  std::to_string(seats.size() + 1), prefix_ + "h:" + hold_id};
    for (const std::string& seat : seats)
      args.push_back(prefix_ + "s:" + seat);
    args.push_back(hold_id);
    args.push_back(std::to_string(hold_ttl_ms));
    args.push_back(customer);
    call(args, std::move(done), [hold_id](const resp::reply& r) -> w1_answer {
      if (r.type == resp::reply::kind::integer && r.integer == 1) return w1_answer::ok(hold_id);
      if (r.type == resp::reply::kind::integer && r.integer == 0) return w1_answer::conflict();
      return w1_answer::unexpected("hold: " + describe(r));
    });
  }

  void confirm(const std::string& hold_id, const std::string& payment_ref,
               on_answer done) override {
    call({"EVALSHA", target_.redis_scripts[1], "2", prefix_ + "h:" + hold_id,
          prefix_ + "r:" + hold_id, hold_id, payment_ref},
         std::move(done), done_if_one("confirm"));
  }

  void release(const std::string& hold_id, on_answer done) override {
    call({"EVALSHA", target_.redis_scripts[2], "1", prefix_ + "h:" + hold_id, hold_id},
         std::move(done), done_if_one("release"));
  }

 private:
  using judge = std::function<w1_answer(const resp::reply&)>;

  static judge done_if_one(std::string what) {
    return [what](const resp::reply& r) -> w1_answer {
      if (r.type == resp::reply::kind::integer && r.integer == 1) return w1_answer::ok();
      return w1_answer::unexpected(what + ": " + describe(r));
    };
  }

  void call(const std::vector<std::string>& args, on_answer done, judge verdict_of) {
    out_ = resp::command(args);
    done_ = std::move(done);
    judge_ = std::move(verdict_of);
    asio::async_write(socket_, asio::buffer(out_),
                      [this](boost::system::error_code ec, std::size_t) {
                        if (ec) return done_(w1_answer::failed("sending: " + ec.message()));
                        read();
                      });
  }

  void read() {
    try {
      if (auto parsed = resp::parse(in_)) {
        in_.erase(0, parsed->second);
        return done_(judge_(parsed->first));
      }
    } catch (const std::exception& e) {
      return done_(w1_answer::failed(e.what()));
    }
    socket_.async_read_some(asio::buffer(chunk_),
                            [this](boost::system::error_code ec, std::size_t n) {
                              if (ec) return done_(w1_answer::failed("reading: " + ec.message()));
                              in_.append(chunk_.data(), n);
                              read();
                            });
  }

  w1_target target_;
  std::string prefix_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  std::uint64_t holds_ = 0;
  std::string out_;
  std::string in_;
  std::array<char, 4096> chunk_{};
  on_answer done_;
  judge judge_;
};

// A blocking session for setup and the check.
class redis_session {
 public:
  explicit redis_session(const std::string& url) : socket_(io_) {
    const common::host_port at = redis_address(url);
    tcp::resolver resolver(io_);
    boost::system::error_code ec;
    asio::connect(socket_, resolver.resolve(at.host, std::to_string(at.port), ec), ec);
    if (ec)
      throw connection_error("cannot connect to Redis at " + at.host + ":" +
                             std::to_string(at.port) + ": " + ec.message());
  }

  resp::reply call(const std::vector<std::string>& args) {
    asio::write(socket_, asio::buffer(resp::command(args)));
    std::array<char, 65536> chunk{};
    for (;;) {
      if (auto parsed = resp::parse(in_)) {
        in_.erase(0, parsed->second);
        if (parsed->first.type == resp::reply::kind::error)
          throw std::runtime_error("Redis " + args.front() + ": " + parsed->first.text);
        return std::move(parsed->first);
      }
      const std::size_t n = socket_.read_some(asio::buffer(chunk));
      in_.append(chunk.data(), n);
    }
  }

  // Every key matching the pattern, by SCAN.
  std::vector<std::string> keys(const std::string& pattern) {
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
      const resp::reply r = call({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (r.type != resp::reply::kind::array || r.items.size() != 2)
        throw std::runtime_error("Redis SCAN answered " + describe(r));
      cursor = r.items[0].text;
      for (const resp::reply& key : r.items[1].items)
        out.push_back(key.text);
    } while (cursor != "0");
    return out;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  std::string in_;
};

}  // namespace

std::unique_ptr<w1_connection> make_redis_connection(boost::asio::io_context& io,
                                                     const w1_target& target) {
  return std::make_unique<redis_connection>(io, target);
}

void validate_redis_url(const std::string& url) {
  (void)redis_address(url);
}

std::vector<std::string> redis_prepare(const std::string& url, const std::string& event_id,
                                       bool create) {
  redis_session redis(url);
  const std::vector<std::string> existing = redis.keys(key_prefix(event_id) + "*");
  if (!existing.empty()) {
    if (!create)
      throw std::runtime_error("Redis already has " + std::to_string(existing.size()) +
                               " keys of event " + event_id +
                               ": the check needs a fresh event (pass --create to clear them)");
    for (std::size_t at = 0; at < existing.size(); at += 500) {
      std::vector<std::string> del{"DEL"};
      for (std::size_t i = at; i < std::min(existing.size(), at + 500); ++i)
        del.push_back(existing[i]);
      redis.call(del);
    }
  }
  std::vector<std::string> shas;
  for (const char* script : {hold_script, confirm_script, release_script})
    shas.push_back(redis.call({"SCRIPT", "LOAD", script}).text);
  return shas;
}

std::vector<seat_state> redis_seat_states(const std::string& url, const std::string& event_id) {
  redis_session redis(url);
  const std::string seat_prefix = key_prefix(event_id) + "s:";
  const std::vector<std::string> keys = redis.keys(seat_prefix + "*");
  std::vector<seat_state> out;
  for (std::size_t at = 0; at < keys.size(); at += 1000) {
    std::vector<std::string> mget{"MGET"};
    for (std::size_t i = at; i < std::min(keys.size(), at + 1000); ++i)
      mget.push_back(keys[i]);
    const resp::reply values = redis.call(mget);
    for (std::size_t i = 0; i < values.items.size(); ++i) {
      const std::string& value = values.items[i].text;
      if (values.items[i].type == resp::reply::kind::nil) continue;  // expired meanwhile
      out.push_back(
          {keys[at + i].substr(seat_prefix.size()), value.rfind("S:", 0) == 0 ? "sold" : "held"});
    }
  }
  return out;
}

}  // namespace seatd::tools
