#include <persona/http/basic_server.hpp>

#include "http_test_support.hpp"

#include <catch2/catch.hpp>

#include <future>

using namespace persona_http_test;
using persona::errc;
using persona::http::basic_server;
using persona::http::beast_transport;

TEST_CASE("basic_server: port 0 binds an ephemeral port, and a port in use is an error", "[http][server]") {
    handler_state st;
    basic_server a{make_echo(st), test_options()};
    basic_server b{make_echo(st), test_options()};
    CHECK(a.port() == 0);
    REQUIRE(a.start());
    REQUIRE(b.start());
    CHECK(a.port() != 0);
    CHECK(b.port() != 0);
    CHECK(a.port() != b.port());

    auto o = test_options();
    o.port = a.port();
    basic_server c{make_echo(st), o};
    auto r = c.start();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::unavailable);
    CHECK_THAT(r.error().message, Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(a.port())));
    CHECK_THAT(r.error().message, Catch::Contains("in use"));

    o.address = "not-an-address";
    o.port = 0;
    basic_server d{make_echo(st), o};
    auto bad = d.start();
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == errc::unavailable);
    CHECK_THAT(bad.error().message, Catch::Contains("not-an-address"));

    auto again = a.start();
    REQUIRE_FALSE(again);
    CHECK(again.error().code == errc::internal_error);
}

TEST_CASE("basic_server: requests and responses convert both ways", "[http][server]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    beast_transport t(base_url(server.port()));

    persona::http_request req{"PUT", "/register?user_id=u1&x=%20", {{"X-Test", "one"}, {"Content-Type", "text/plain"}}, "hello"};
    auto r = t.send(req);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->field("Server") == "persona");
    CHECK(r->field("Content-Length") == std::to_string(r->body.size()));
    CHECK(r->field("X-Echo") == "yes");
    auto o = json_body(*r);
    CHECK(str(o["method"]) == "PUT");
    CHECK(str(o["target"]) == "/register?user_id=u1&x=%20");
    CHECK(str(o["body"]) == "hello");
    CHECK(str(o["remote"]) == "127.0.0.1");
    CHECK(o["loopback"].as_bool());
    auto& h = o["headers"].as_object();
    CHECK(str(h["X-Test"]) == "one");
    CHECK(str(h["Content-Type"]) == "text/plain");
    CHECK(str(h["Content-Length"]) == "5");
    CHECK(str(h["Host"]) == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(str(h["User-Agent"]) == "persona/0.1");

    // A method Beast has no verb for keeps its text.
    auto u = t.send({"FROBNICATE", "/x", {}, {}});
    REQUIRE(u);
    CHECK(str(json_body(*u)["method"]) == "FROBNICATE");

    // Any status the handler picks goes out as is.
    basic_server teapot{[](persona::http_request const&, persona::protocol::connection_info const&) {
                            persona::http_response r;
                            r.status = 418;
                            r.fields.push_back({"Content-Length", "999"}); // framing is the server's
                            r.fields.push_back({"X-Bad", "a\r\nInjected: yes"});
                            r.body = "short";
                            return r;
                        },
                        test_options()};
    REQUIRE(teapot.start());
    beast_transport tt(base_url(teapot.port()));
    auto tr = tt.send(get("/"));
    REQUIRE(tr);
    CHECK(tr->status == 418);
    CHECK(tr->body == "short");
    CHECK(tr->field("Content-Length") == "5");
    CHECK(tr->field("Injected").empty());
}

TEST_CASE("basic_server: keep-alive reuses one connection", "[http][server]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    beast_transport t(base_url(server.port()));
    for (int i = 0; i < 5; ++i) {
        auto r = t.send({"POST", "/n" + std::to_string(i), {}, std::string(100, 'a')});
        REQUIRE(r);
        CHECK(r->status == 200);
    }
    CHECK(server.connections_accepted() == 1);
    CHECK(t.connections_opened() == 1);
    CHECK(st.requests == 5);

    // HEAD: the length of the body that is not sent, and the connection stays usable.
    auto h = t.send({"HEAD", "/head", {}, {}});
    REQUIRE(h);
    CHECK(h->status == 200);
    CHECK(h->body.empty());
    CHECK(h->field("Content-Length") != "0");
    REQUIRE(t.send(get("/after-head")));
    CHECK(server.connections_accepted() == 1);
}

TEST_CASE("basic_server: HTTP/1.0 and Connection: close end the connection after the response", "[http][server]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    {
        raw_client c(server.port());
        c.send("GET /old HTTP/1.0\r\n\r\n");
        auto o = c.read(3000ms);
        CHECK(o.closed);
        CHECK(o.elapsed < 1000ms);
        CHECK_THAT(o.data, Catch::StartsWith("HTTP/1.0 200 OK"));
        CHECK_THAT(o.data, Catch::Contains("\"target\":\"/old\""));
    }
    {
        raw_client c(server.port());
        c.send("GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        auto o = c.read(3000ms);
        CHECK(o.closed);
        CHECK(o.elapsed < 1000ms);
        CHECK_THAT(o.data, Catch::StartsWith("HTTP/1.1 200 OK"));
        CHECK_THAT(o.data, Catch::Contains("Connection: close"));
    }
    {
        // Pipelined requests are answered in order on one connection.
        raw_client c(server.port());
        c.send("GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        auto o = c.read(3000ms);
        CHECK(o.closed);
        auto const p1 = o.data.find("\"/p1\"");
        auto const p2 = o.data.find("\"/p2\"");
        REQUIRE(p1 != std::string::npos);
        REQUIRE(p2 != std::string::npos);
        CHECK(p1 < p2);
    }
    {
        // Many in one send: each is answered once, in order (each response's write is
        // queued behind the requests already read, then the next is parsed from the buffer).
        raw_client c(server.port());
        std::string burst;
        for (int i = 0; i < 32; ++i)
            burst += "GET /q" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n" + (i == 31 ? "Connection: close\r\n" : "") +
                     "\r\n";
        c.send(burst);
        auto o = c.read(5000ms);
        CHECK(o.closed);
        std::size_t responses = 0;
        for (auto at = o.data.find("HTTP/1.1 200 OK"); at != std::string::npos; at = o.data.find("HTTP/1.1 200 OK", at + 1))
            ++responses;
        CHECK(responses == 32);
        std::size_t last = 0;
        for (int i = 0; i < 32; ++i) {
            auto const where = o.data.find("\"/q" + std::to_string(i) + "\"");
            REQUIRE(where != std::string::npos);
            CHECK(where >= last);
            last = where;
        }
    }
}

TEST_CASE("basic_server: Expect: 100-continue gets an interim response", "[http][server]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    raw_client c(server.port());
    c.send("POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    auto interim = c.read(2000ms, [](std::string const& d) { return d.find("\r\n\r\n") != std::string::npos; });
    CHECK_THAT(interim.data, Catch::StartsWith("HTTP/1.1 100 Continue"));
    c.send("hello");
    auto o = c.read(2000ms, [](std::string const& d) { return d.find("\"body\":\"hello\"") != std::string::npos; });
    CHECK_THAT(o.data, Catch::StartsWith("HTTP/1.1 200 OK"));
}

TEST_CASE("basic_server: a body over the limit is 413 PAYLOAD_TOO_LARGE", "[http][server]") {
    handler_state st;
    auto opts = test_options();
    opts.body_limit = 1024;
    basic_server server{make_echo(st), opts};
    REQUIRE(server.start());
    beast_transport t(base_url(server.port()));

    REQUIRE(t.send({"POST", "/ok", {}, std::string(1024, 'a')})->status == 200);

    auto r = t.send({"POST", "/big", {}, std::string(64 * 1024, 'a')});
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(r->field("Connection") == "close");
    auto o = json_body(*r);
    CHECK(str(o["code"]) == "PAYLOAD_TOO_LARGE");
    CHECK(str(o["message"]) == "request body is larger than 1024 bytes");
    CHECK(o.contains("details"));

    // Chunked bodies are limited too.
    raw_client c(server.port());
    c.send("POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(0x800, 'b') +
           "\r\n0\r\n\r\n");
    auto raw = c.read(3000ms);
    CHECK(raw.closed);
    CHECK_THAT(raw.data, Catch::StartsWith("HTTP/1.1 413"));

    // The server keeps serving.
    auto after = t.send(get("/after"));
    REQUIRE(after);
    CHECK(after->status == 200);
    CHECK(st.requests == 2);
}

TEST_CASE("basic_server: a header over the limit is 400 INVALID_REQUEST", "[http][server]") {
    handler_state st;
    auto opts = test_options();
    opts.header_limit = 4096;
    basic_server server{make_echo(st), opts};
    REQUIRE(server.start());
    beast_transport t(base_url(server.port()));
    auto r = t.send({"GET", "/", {{"X-Huge", std::string(8192, 'h')}}, {}});
    REQUIRE(r);
    CHECK(r->status == 400);
    auto o = json_body(*r);
    CHECK(str(o["code"]) == "INVALID_REQUEST");
    CHECK(str(o["message"]) == "request header is larger than 4096 bytes");
    CHECK(t.send(get("/"))->status == 200);
}

TEST_CASE("basic_server: malformed HTTP is 400 and the server keeps serving", "[http][server]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    for (std::string garbage : {std::string("\x01\x02\x03 garbage\r\n\r\n"), std::string("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"),
                                std::string("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")}) {
        raw_client c(server.port());
        c.send(garbage);
        auto o = c.read(3000ms);
        CHECK(o.closed);
        CHECK_THAT(o.data, Catch::StartsWith("HTTP/1.1 400 Bad Request"));
        CHECK_THAT(o.data, Catch::Contains("\"code\":\"INVALID_REQUEST\""));
        CHECK_THAT(o.data, Catch::Contains("Connection: close"));
    }
    beast_transport t(base_url(server.port()));
    CHECK(t.send(get("/still-here"))->status == 200);
    CHECK(st.requests == 1);
}

TEST_CASE("basic_server: slow and silent clients are disconnected", "[http][server]") {
    handler_state st;
    auto opts = test_options();
    opts.header_timeout = 1s;
    opts.idle_timeout = 1s;
    basic_server server{make_echo(st), opts};
    REQUIRE(server.start());

    SECTION("a client that sends nothing") {
        raw_client c(server.port());
        auto o = c.read(4000ms);
        CHECK(o.closed);
        CHECK(o.data.empty());
        CHECK(o.elapsed >= 800ms);
        CHECK(o.elapsed < 2500ms);
    }
    SECTION("a client that sends half a header and stops") {
        raw_client c(server.port());
        c.send("GET / HTTP/1.1\r\nHost: x\r\n");
        auto o = c.read(4000ms);
        CHECK(o.closed);
        CHECK(o.elapsed < 2500ms);
    }
    SECTION("a slowloris: one header byte every 100 ms does not extend the deadline") {
        raw_client c(server.port());
        c.send("GET / HTTP/1.1\r\n");
        auto o = c.read(4000ms, {}, std::string(200, 'X'), 100ms);
        CHECK(o.closed);
        CHECK(o.elapsed >= 800ms);
        CHECK(o.elapsed < 2500ms);
    }
    SECTION("a kept-alive connection idle after its response") {
        raw_client c(server.port());
        c.send("GET /once HTTP/1.1\r\nHost: x\r\n\r\n");
        auto o = c.read(4000ms);
        CHECK(o.closed);
        CHECK_THAT(o.data, Catch::StartsWith("HTTP/1.1 200 OK"));
        CHECK(o.elapsed >= 800ms);
        CHECK(o.elapsed < 2500ms);
    }
    CHECK(wait_until([&] { return server.active_connections() == 0; }));
}

TEST_CASE("basic_server: request_timeout bounds reading and writing, not the handler", "[http][server]") {
    handler_state st;
    auto opts = test_options();
    opts.request_timeout = 1s;
    basic_server server{make_echo(st), opts};
    REQUIRE(server.start());

    SECTION("a handler slower than the timeout still answers, and the connection stays usable") {
        beast_transport t(base_url(server.port()));
        auto const slow = t.send(get("/sleep?ms=1600"));
        REQUIRE(slow);
        CHECK(slow->status == 200);
        CHECK(t.send(get("/after"))->status == 200);
        CHECK(server.connections_accepted() == 1);
    }
    SECTION("a client that stops reading a large answer is cut off") {
        raw_client c(server.port());
        c.send("GET /big?n=67108864 HTTP/1.1\r\nHost: x\r\n\r\n"); // never read: the write waits
        REQUIRE(wait_until([&] { return st.requests == 1; }));
        auto const start = std::chrono::steady_clock::now();
        CHECK(wait_until([&] { return server.active_connections() == 0; }, 5000ms));
        CHECK(std::chrono::steady_clock::now() - start < 3000ms);
    }
    SECTION("a body that stops arriving is cut off") {
        raw_client c(server.port());
        c.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf");
        auto o = c.read(5000ms);
        CHECK(o.closed);
        CHECK(o.data.empty());
        CHECK(o.elapsed >= 800ms);
        CHECK(o.elapsed < 2500ms);
    }
}

TEST_CASE("basic_server: a connection over max_connections gets 503 UNAVAILABLE", "[http][server]") {
    handler_state st;
    auto opts = test_options();
    opts.max_connections = 2;
    basic_server server{make_echo(st), opts};
    REQUIRE(server.start());
    std::optional<raw_client> first(std::in_place, server.port());
    raw_client second(server.port());
    REQUIRE(wait_until([&] { return server.active_connections() == 2; }));

    beast_transport t(base_url(server.port()));
    auto r = t.send(get("/third"));
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->field("Connection") == "close");
    CHECK(str(json_body(*r)["code"]) == "UNAVAILABLE");
    CHECK(st.requests == 0);
    CHECK(server.active_connections() == 2);

    first.reset();
    REQUIRE(wait_until([&] { return server.active_connections() == 1; }));
    auto ok = t.send(get("/now"));
    REQUIRE(ok);
    CHECK(ok->status == 200);
}

TEST_CASE("basic_server: a throwing handler is 500 INTERNAL_ERROR without its text", "[http][server]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    beast_transport t(base_url(server.port()));
    auto r = t.send(get("/throw"));
    REQUIRE(r);
    CHECK(r->status == 500);
    CHECK(str(json_body(*r)["code"]) == "INTERNAL_ERROR");
    CHECK_THAT(r->body, !Catch::Contains("secret-detail-42"));
    for (int i = 0; i < 3; ++i) CHECK(t.send(get("/fine"))->status == 200);
    CHECK(server.connections_accepted() == 1); // the error did not cost the connection
}

TEST_CASE("basic_server: stop lets a request in flight finish, closes idle connections, refuses new ones",
          "[http][server]") {
    handler_state st;
    auto opts = test_options();
    opts.idle_timeout = 30s;
    opts.header_timeout = 30s;
    basic_server server{make_echo(st), opts};
    REQUIRE(server.start());
    auto const port = server.port();

    // An idle kept-alive connection must not make stop() wait for a timeout.
    beast_transport idle(base_url(port));
    REQUIRE(idle.send(get("/warm"))->status == 200);
    raw_client silent(port);

    auto in_flight = std::async(std::launch::async, [&] {
        beast_transport t(base_url(port));
        return t.send(get("/sleep?ms=1000")); // long enough to be in flight when stop() begins
    });
    REQUIRE(wait_until([&] { return st.sleeping == 1; }));

    std::promise<void> waited;
    std::thread waiter([&] {
        server.wait();
        waited.set_value();
    });

    auto const t0 = std::chrono::steady_clock::now();
    server.stop();
    auto const took = std::chrono::steady_clock::now() - t0;
    waiter.join();
    CHECK(waited.get_future().wait_for(0s) == std::future_status::ready);

    auto r = in_flight.get();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->field("Connection") == "close");
    CHECK(took < 2s);

    auto closed = silent.read(1000ms);
    CHECK(closed.closed);

    beast_transport late(base_url(port));
    auto refused = late.send(get("/late"));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::unavailable);
    CHECK(idle.send(get("/again")).has_error());
    server.stop(); // idempotent
}

TEST_CASE("basic_server: stop closes a half-sent request after stop_timeout", "[http][server]") {
    handler_state st;
    auto opts = test_options();
    opts.header_timeout = 30s;
    opts.stop_timeout = 1s;
    basic_server server{make_echo(st), opts};
    REQUIRE(server.start());
    raw_client c(server.port());
    c.send("GET / HTTP/1.1\r\nHost: x\r\n"); // in progress, so not closed as idle
    REQUIRE(wait_until([&] { return server.active_connections() == 1; }));
    auto const t0 = std::chrono::steady_clock::now();
    server.stop();
    auto const took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 900ms);
    CHECK(took < 2500ms);
    CHECK(c.read(1000ms).closed);
}

TEST_CASE("basic_server: a request that reached the server before stop is answered", "[http][server]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    raw_client c(server.port());
    REQUIRE(wait_until([&] { return server.active_connections() == 1; }));
    c.send("GET /just-in-time HTTP/1.1\r\nHost: x\r\n\r\n");
    server.stop();
    // Answered before or after stop() began (then with Connection: close): either way
    // answered, and the connection closed.
    auto o = c.read(2000ms);
    CHECK(o.closed);
    CHECK_THAT(o.data, Catch::StartsWith("HTTP/1.1 200 OK"));
}

TEST_CASE("basic_server: a handler still running when stop gives up is not answered, and nothing leaks",
          "[http][server]") {
    handler_state st;
    auto opts = test_options();
    opts.stop_timeout = 1s;
    std::optional<raw_client> c;
    {
        basic_server server{make_echo(st), opts};
        REQUIRE(server.start());
        c.emplace(server.port());
        c->send("GET /sleep?ms=2500 HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(wait_until([&] { return st.sleeping == 1; }));
        auto const t0 = std::chrono::steady_clock::now();
        server.stop(); // closes what remains after 1 s, stops the loop 1 s later, joins the handler
        CHECK(std::chrono::steady_clock::now() - t0 >= 2s);
        CHECK(st.sleeping == 0);
        CHECK(st.requests == 1);
    }
    // The handler returned after the loop had stopped: its answer was queued behind the
    // forced close, never written, and went with the server (a sanitizer build checks
    // that the session it held was freed). The client sees the connection closed, and
    // no partial response.
    auto const o = c->read(2000ms);
    CHECK(o.closed);
    CHECK(o.data.empty());
}

TEST_CASE("basic_server: the handler may call stop", "[http][server]") {
    std::function<void()> on_shutdown;
    basic_server server{[&](persona::http_request const& req, persona::protocol::connection_info const&) {
                            if (req.target == "/shutdown") on_shutdown();
                            return persona::protocol::json_response(200, boost::json::object{{"ok", true}});
                        },
                        test_options()};
    on_shutdown = [&] { server.stop(); };
    REQUIRE(server.start());
    auto const port = server.port();
    std::thread waiter([&] { server.wait(); });

    beast_transport t(base_url(port));
    auto r = t.send(get("/shutdown"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->field("Connection") == "close");
    waiter.join(); // wait() returned
    CHECK(wait_until([&] { return beast_transport(base_url(port)).send(get("/")).has_error(); }));
    server.stop(); // completes the stop: joins the I/O threads
}

TEST_CASE("basic_server: a stop from a handler lets another connection's request finish", "[http][server]") {
    handler_state st;
    auto echo = make_echo(st);
    std::function<void()> on_shutdown;
    basic_server server{[&](persona::http_request const& req, persona::protocol::connection_info const& info) {
                            if (req.target == "/shutdown") on_shutdown();
                            return echo(req, info);
                        },
                        test_options()};
    on_shutdown = [&] { server.stop(); };
    REQUIRE(server.start());
    auto const port = server.port();
    std::thread waiter([&] { server.wait(); });

    auto in_flight = std::async(std::launch::async, [&] {
        beast_transport t(base_url(port));
        return t.send(get("/sleep?ms=500"));
    });
    REQUIRE(wait_until([&] { return st.sleeping == 1; }));
    beast_transport t(base_url(port));
    auto r = t.send(get("/shutdown"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->field("Connection") == "close");

    auto a = in_flight.get();
    REQUIRE(a);
    CHECK(a->status == 200);
    CHECK(str(json_body(*a)["target"]) == "/sleep?ms=500");
    CHECK(a->field("Connection") == "close");
    waiter.join();
    server.stop();
}
