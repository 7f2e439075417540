#ifndef PERSONA_TESTS_HTTP_TEST_SUPPORT_HPP
#define PERSONA_TESTS_HTTP_TEST_SUPPORT_HPP

// Shared by the persona::http tests: an echo handler, a raw socket client that can
// misbehave (stay silent, trickle bytes, send garbage), and small waiting helpers.

#include <persona/http/basic_server.hpp>
#include <persona/http/beast_transport.hpp>
#include <persona/protocol/response.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace persona_http_test {

using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// What the echo handler has seen, for the test to inspect.
struct handler_state {
    std::atomic<int> requests{0};
    std::atomic<int> sleeping{0}; ///< handlers currently inside /sleep
};

/// A handler that answers with a JSON echo of the request. Targets starting with
/// `/sleep?ms=N` sleep N ms first; `/throw` throws an exception with a secret text;
/// `/big?n=N` answers with N bytes of body.
inline auto make_echo(handler_state& st) {
    return [&st](persona::http_request const& req, persona::protocol::connection_info const& info) {
        ++st.requests;
        auto const query_number = [&](std::string_view key) {
            auto const at = req.target.find(key);
            return at == std::string::npos ? 0 : std::stoi(req.target.substr(at + key.size()));
        };
        if (req.target.starts_with("/throw")) throw std::runtime_error("secret-detail-42");
        if (req.target.starts_with("/sleep")) {
            ++st.sleeping;
            std::this_thread::sleep_for(std::chrono::milliseconds(query_number("ms=")));
            --st.sleeping;
        }
        if (req.target.starts_with("/big")) {
            persona::http_response r;
            r.body.assign(static_cast<std::size_t>(query_number("n=")), 'x');
            return r;
        }
        boost::json::object headers;
        for (auto const& f : req.fields) headers[f.name] = f.value;
        boost::json::object o{{"method", req.method},   {"target", req.target},
                              {"body", req.body},       {"remote", info.remote_address},
                              {"loopback", info.remote_is_loopback}, {"headers", headers}};
        auto r = persona::protocol::json_response(200, o);
        r.fields.push_back({"X-Echo", "yes"});
        return r;
    };
}

inline boost::json::object json_body(persona::http_response const& r) {
    return boost::json::parse(r.body).as_object();
}

inline std::string str(boost::json::value const& v) { return std::string(v.as_string()); }

inline std::string base_url(unsigned short port, std::string_view prefix = "") {
    return "http://127.0.0.1:" + std::to_string(port) + std::string(prefix);
}

inline persona::http_request get(std::string target) { return {"GET", std::move(target), {}, {}}; }

/// Poll `pred` until it holds or `limit` passes; returns its last value.
inline bool wait_until(std::function<bool()> const& pred, std::chrono::milliseconds limit = 3000ms) {
    auto const end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

/// A plain socket to 127.0.0.1, for clients that no HTTP library would be.
class raw_client {
public:
    explicit raw_client(unsigned short port) {
        socket_.connect({net::ip::make_address("127.0.0.1"), port});
        connected_ = std::chrono::steady_clock::now();
    }

    void send(std::string_view bytes) { net::write(socket_, net::buffer(bytes)); }

    struct outcome {
        std::string data;
        bool closed = false; ///< the server closed (or reset) the connection
        /// Since the connection was made, not since `read` began: the server's timers
        /// start at accept, so "closed no sooner than its timeout" holds even when this
        /// thread is descheduled between connecting and reading.
        std::chrono::milliseconds elapsed{};
    };

    /** Read until the server closes, `done(data)` holds, or `limit` passes. Meanwhile
        write `trickle` one byte every `every`. */
    outcome read(std::chrono::milliseconds limit, std::function<bool(std::string const&)> done = {},
                 std::string trickle = {}, std::chrono::milliseconds every = 100ms) {
        outcome o;
        auto const start = connected_;
        net::steady_timer deadline(ioc_), ticker(ioc_);
        std::array<char, 4096> buf{};
        std::size_t sent = 0;
        std::function<void()> read_more = [&] {
            socket_.async_read_some(net::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
                o.data.append(buf.data(), n);
                if (ec || (done && done(o.data))) {
                    o.closed = ec && ec != net::error::operation_aborted;
                    o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start);
                    deadline.cancel();
                    ticker.cancel();
                    return;
                }
                read_more();
            });
        };
        std::function<void()> tick = [&] {
            ticker.expires_after(every);
            ticker.async_wait([&](boost::system::error_code ec) {
                if (ec || sent >= trickle.size()) return;
                boost::system::error_code wec;
                net::write(socket_, net::buffer(&trickle[sent++], 1), wec);
                if (!wec) tick();
            });
        };
        deadline.expires_after(limit);
        deadline.async_wait([&](boost::system::error_code ec) {
            if (!ec) socket_.cancel();
        });
        if (!trickle.empty()) tick();
        read_more();
        ioc_.restart();
        ioc_.run();
        if (o.elapsed == std::chrono::milliseconds{})
            o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        return o;
    }

private:
    net::io_context ioc_;
    tcp::socket socket_{ioc_};
    std::chrono::steady_clock::time_point connected_;
};

/// Server options for tests: ephemeral port, short timeouts.
inline persona::http::server_options test_options() {
    persona::http::server_options o;
    o.port = 0;
    o.threads = 2;
    o.header_timeout = 2s;
    o.idle_timeout = 2s;
    o.request_timeout = 5s;
    o.stop_timeout = 3s;
    return o;
}

/// A port on 127.0.0.1 that refuses connections for as long as this object lives: a
/// socket bound to it but not listening. Holding the bind keeps another process from
/// taking the port in between, which a port bound and released could not promise.
class refusing_port {
public:
    refusing_port() : socket_(ioc_) {
        socket_.open(tcp::v4());
        socket_.bind({net::ip::make_address("127.0.0.1"), 0});
    }
    unsigned short port() const { return socket_.local_endpoint().port(); }

private:
    net::io_context ioc_;
    tcp::socket socket_;
};

} // namespace persona_http_test

#endif
