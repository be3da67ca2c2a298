// W1 against PostgreSQL, the row-lock design: a row per seat, and a hold is one conditional
// UPDATE (available, or held with an expired TTL) of all its seats in one statement, inside a
// function that raises when fewer rows than seats changed, so that the statement's implicit
// transaction rolls back: all or nothing, and a conflict commits (and fsyncs) nothing.
// Confirm and release are one UPDATE each by hold id. Every statement locks its rows in seat
// order first (a sorted FOR UPDATE subquery): without it, a confirm (rows in the order of the
// hold index) and a hold (in the order of the seat ids) deadlock now and then. The connection
// speaks libpq's asynchronous API over the io_context, like the other systems' connections;
// statements are prepared once per connection.

#include <libpq-fe.h>
#include <unistd.h>

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio.hpp>
// clang-format on
#include <array>
#include <stdexcept>

#include "api/tools/http_client.hpp"
#include "api/tools/w1_connection.hpp"
#include "common/w1_workload.hpp"

namespace seatd::tools {

namespace {

namespace asio = boost::asio;

constexpr const char* conflict_state = "SL001";

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS w1_seats (
  event_id text NOT NULL,
  seat_id text NOT NULL,
  state smallint NOT NULL DEFAULT 0,  -- 0 available, 1 held, 2 sold
  hold_id text,
  customer_id text,
  expires_at timestamptz,
  payment_ref text,
  PRIMARY KEY (event_id, seat_id));
CREATE INDEX IF NOT EXISTS w1_seats_hold ON w1_seats (hold_id);
CREATE OR REPLACE FUNCTION w1_hold(ev text, hold text, customer text, seats text[], ttl_s int)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE changed int;
BEGIN
  UPDATE w1_seats
     SET state = 1, hold_id = hold, customer_id = customer,
         expires_at = now() + make_interval(secs => ttl_s)
   WHERE event_id = ev
     AND seat_id IN (SELECT seat_id FROM w1_seats WHERE event_id = ev AND seat_id = ANY(seats)
                     ORDER BY seat_id FOR UPDATE)
     AND (state = 0 OR (state = 1 AND expires_at <= now()));
  GET DIAGNOSTICS changed = ROW_COUNT;
  IF changed < cardinality(seats) THEN
    RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'seats unavailable';
  END IF;
  RETURN true;
END $$;
)";

struct statement {
  const char* name;
  const char* sql;
  int params;
};
constexpr std::array<statement, 3> statements{{
    {"w1_hold", "SELECT w1_hold($1, $2, $3, $4::text[], 600)", 4},
    {"w1_confirm",
     "UPDATE w1_seats SET state = 2, payment_ref = $3 WHERE event_id = $1 AND seat_id IN (SELECT "
     "seat_id FROM w1_seats WHERE event_id = $1 AND hold_id = $2 ORDER BY seat_id FOR UPDATE) "
     "AND hold_id = $2 AND state = 1 AND expires_at > now()",
     3},
    {"w1_release",
     "UPDATE w1_seats SET state = 0, hold_id = NULL, customer_id = NULL, expires_at = NULL WHERE "
     "event_id = $1 AND seat_id IN (SELECT seat_id FROM w1_seats WHERE event_id = $1 AND hold_id "
     "= $2 ORDER BY seat_id FOR UPDATE) AND hold_id = $2 AND state = 1",
     2},
}};

struct pg_closer {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using pg_conn = std::unique_ptr<PGconn, pg_closer>;
struct result_closer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using pg_result = std::unique_ptr<PGresult, result_closer>;

pg_conn open(const std::string& url) {
  pg_conn c(PQconnectdb(url.c_str()));
  if (!c || PQstatus(c.get()) != CONNECTION_OK)
    throw connection_error("cannot connect to PostgreSQL: " +
                           std::string(c ? PQerrorMessage(c.get()) : "out of memory"));
  return c;
}

// Runs SQL that must succeed (setup and the check).
pg_result exec(PGconn* c, const std::string& sql, const std::vector<std::string>& params = {}) {
  std::vector<const char*> values;
  for (const std::string& p : params)
    values.push_back(p.c_str());
  // Without parameters, PQexec: it takes several statements (the schema).
  pg_result r(params.empty() ? PQexec(c, sql.c_str())
                             : PQexecParams(c, sql.c_str(), static_cast<int>(values.size()),
                                            nullptr, values.data(), nullptr, nullptr, 0));
  const auto status = PQresultStatus(r.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw std::runtime_error("PostgreSQL: " + std::string(PQerrorMessage(c)));
  return r;
}

// {"1-1-1","1-1-2"} as a text[] literal; W1's seat ids need no quoting.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i > 0 ? "," : "") + items[i];
  return out + "}";
}

class postgres_connection final : public w1_connection {
 public:
  postgres_connection(asio::io_context& io, const w1_target& target)
      : io_(io), target_(target), socket_(io) {}

  ~postgres_connection() override {
    if (socket_.is_open()) socket_.close();
  }

  void connect(std::function<void(std::string)> done) override {
    std::string error;
    try {
      conn_ = open(target_.url);
      for (const statement& s : statements) {
        pg_result r(PQprepare(conn_.get(), s.name, s.sql, s.params, nullptr));
        if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
          throw std::runtime_error(std::string("preparing ") + s.name + ": " +
                                   PQerrorMessage(conn_.get()));
      }
      if (PQsetnonblocking(conn_.get(), 1) != 0)
        throw std::runtime_error("PostgreSQL: cannot make the connection non-blocking");
      // A descriptor of our own: closing it leaves libpq's socket alone.
      socket_.assign(::dup(PQsocket(conn_.get())));
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(io_, [done, error] { done(error); });
  }

  void hold(const std::string& customer, const std::vector<std::string>& seats,
            on_answer done) override {
    const std::string hold_id = customer + "-" + std::to_string(++holds_);
    run(0, {target_.event_id, hold_id, customer, text_array(seats)}, std::move(done),
        [hold_id](PGresult* r) -> w1_answer {
          if (PQresultStatus(r) == PGRES_TUPLES_OK) return w1_answer::ok(hold_id);
          const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
          if (state && std::string(state) == conflict_state) return w1_answer::conflict();
          return w1_answer::unexpected("hold: " + std::string(PQresultErrorMessage(r)));
        });
  }

  void confirm(const std::string& hold_id, const std::string& payment_ref,
               on_answer done) override {
    run(1, {target_.event_id, hold_id, payment_ref}, std::move(done), changed_rows("confirm"));
  }

  void release(const std::string& hold_id, on_answer done) override {
    run(2, {target_.event_id, hold_id}, std::move(done), changed_rows("release"));
  }

 private:
  using judge = std::function<w1_answer(PGresult*)>;

  static judge changed_rows(std::string what) {
    return [what](PGresult* r) -> w1_answer {
      if (PQresultStatus(r) == PGRES_COMMAND_OK && std::string(PQcmdTuples(r)) != "0")
        return w1_answer::ok();
      return w1_answer::unexpected(what + ": " +
                                   (PQresultStatus(r) == PGRES_COMMAND_OK
                                        ? std::string("no row changed")
                                        : std::string(PQresultErrorMessage(r))));
    };
  }

  void run(std::size_t which, std::vector<std::string> params, on_answer done, judge verdict_of) {
    params_ = std::move(params);
    done_ = std::move(done);
    judge_ = std::move(verdict_of);
    result_.reset();
    std::vector<const char*> values;
    for (const std::string& p : params_)
      values.push_back(p.c_str());
    if (!PQsendQueryPrepared(conn_.get(), statements[which].name, static_cast<int>(values.size()),
                             values.data(), nullptr, nullptr, 0))
      return broken("sending");
    flush();
  }

  void flush() {
    const int left = PQflush(conn_.get());
    if (left < 0) return broken("sending");
    if (left == 0) return wait_answer();
    socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                       [this](boost::system::error_code ec) {
                         if (ec) return broken("waiting to send");
                         flush();
                       });
  }

  void wait_answer() {
    socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](boost::system::error_code ec) {
                         if (ec) return broken("waiting for the answer");
                         if (!PQconsumeInput(conn_.get())) return broken("reading");
                         while (!PQisBusy(conn_.get())) {
                           pg_result r(PQgetResult(conn_.get()));
                           if (!r) {
                             if (!result_) return broken("reading (no result)");
                             return done_(judge_(result_.get()));
                           }
                           if (!result_) result_ = std::move(r);
                         }
                         wait_answer();
                       });
  }

  void broken(const char* what) {
    done_(w1_answer::failed(std::string(what) + ": " + PQerrorMessage(conn_.get())));
  }

  asio::io_context& io_;
  w1_target target_;
  pg_conn conn_;
  asio::posix::stream_descriptor socket_;
  std::uint64_t holds_ = 0;
  std::vector<std::string> params_;
  pg_result result_;
  on_answer done_;
  judge judge_;
};

}  // namespace

std::unique_ptr<w1_connection> make_postgres_connection(boost::asio::io_context& io,
                                                        const w1_target& target) {
  return std::make_unique<postgres_connection>(io, target);
}

void postgres_prepare(const std::string& url, const std::string& event_id, bool create) {
  pg_conn c = open(url);
  exec(c.get(), "SET client_min_messages = warning");
  exec(c.get(), schema);
  if (create) {
    exec(c.get(), "DELETE FROM w1_seats WHERE event_id = $1", {event_id});
    exec(c.get(),
         "INSERT INTO w1_seats (event_id, seat_id) SELECT $1, s || '-' || r || '-' || n FROM "
         "generate_series(1, $2::int) s, generate_series(1, $3::int) r, "
         "generate_series(1, $4::int) n",
         {event_id, std::to_string(common::w1_sections), std::to_string(common::w1_rows),
          std::to_string(common::w1_seats_per_row)});
    exec(c.get(), "ANALYZE w1_seats");
  }
  pg_result counts(exec(c.get(),
                        "SELECT count(*), count(*) FILTER (WHERE state <> 0) FROM w1_seats "
                        "WHERE event_id = $1",
                        {event_id}));
  if (std::string(PQgetvalue(counts.get(), 0, 0)) == "0")
    throw std::runtime_error("PostgreSQL has no seats of event " + event_id +
                             " (pass --create to create the W1 venue)");
  if (std::string(PQgetvalue(counts.get(), 0, 1)) != "0")
    throw std::runtime_error("event " + event_id +
                             " already has held or sold seats in PostgreSQL: the check needs a "
                             "fresh event (pass --create to reset it)");
}

std::vector<seat_state> postgres_seat_states(const std::string& url, const std::string& event_id) {
  pg_conn c = open(url);
  pg_result r(exec(c.get(),
                   "SELECT seat_id, state FROM w1_seats WHERE event_id = $1 AND state <> 0",
                   {event_id}));
  std::vector<seat_state> out;
  for (int row = 0; row < PQntuples(r.get()); ++row)
    out.push_back({PQgetvalue(r.get(), row, 0),
                   std::string(PQgetvalue(r.get(), row, 1)) == "2" ? "sold" : "held"});
  return out;
}

}  // namespace seatd::tools
