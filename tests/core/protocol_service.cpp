#include <persona/protocol/service.hpp>

#include <persona/loopback_transport.hpp>
#include <persona/presets.hpp>
#include <persona/remote_api.hpp>
#include <persona/testing/api_kit.hpp>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <mutex>

using namespace persona;
using protocol::scope;

namespace {

struct fixture {
    basic_engine engine;
    protocol::key_store keys;
    std::string admin, writer, reader, other_admin;
    std::vector<std::string> log;
    std::mutex log_mutex;

    fixture() {
        admin = keys.add("acme", scope::admin, "admin").value();
        writer = keys.add("acme", scope::write, "writer").value();
        reader = keys.add("acme", scope::read, "reader").value();
        other_admin = keys.add("globex", scope::admin, "globex").value();
    }

    protocol::service<basic_engine> make(protocol::service_options o = {}) {
        o.log = [this](std::string_view line) {
            std::lock_guard g(log_mutex);
            log.emplace_back(line);
        };
        return protocol::service<basic_engine>(engine, keys, std::move(o));
    }
};

http_request request(std::string method, std::string target, std::string key, std::string body = {}) {
    http_request r{std::move(method), std::move(target), {}, std::move(body)};
    if (!key.empty()) r.fields.push_back({"Authorization", "x-api-key: " + key});
    r.fields.push_back({"Content-Type", "application/json"});
    return r;
}

protocol::connection_info const local{"127.0.0.1", true};
protocol::connection_info const remote{"203.0.113.9", false};

std::string code_of(http_response const& r) {
    auto const v = boost::json::parse(r.body);
    return std::string(v.at("code").as_string());
}

} // namespace

TEST_CASE("service: healthz needs no key, metrics needs admin unless loopback") {
    fixture f;
    auto svc = f.make();
    auto const health = svc.handle(request("GET", "/healthz", ""), remote);
    CHECK(health.status == 200);
    CHECK(health.body == R"({"status":"ok"})");
    CHECK(svc.handle(request("GET", "/metrics", ""), local).status == 200);
    auto const anonymous = svc.handle(request("GET", "/metrics", ""), remote);
    CHECK(anonymous.status == 401);
    CHECK(svc.handle(request("GET", "/metrics", f.reader), remote).status == 403);
    auto const m = svc.handle(request("GET", "/metrics", f.admin), remote);
    CHECK(m.status == 200);
    CHECK(m.field("Content-Type").starts_with("text/plain; version=0.0.4"));
    CHECK(m.body.find("persona_requests_total{endpoint=\"/healthz\",status=\"200\"} 1") != std::string::npos);
    // User and chunk gauges count every tenant: the operator on loopback sees them, a
    // workspace's admin key does not.
    CHECK(m.body.find("persona_users") == std::string::npos);
    CHECK(svc.handle(request("GET", "/metrics", ""), local).body.find("persona_users 0") != std::string::npos);
}

TEST_CASE("service: every error row of API.md that the protocol layer owns") {
    fixture f;
    auto svc = f.make();
    REQUIRE(svc.handle(request("PUT", "/register", f.writer, R"({"user_id":"u1"})"), remote).status == 200);

    SECTION("401 UNAUTHORIZED: no key, unknown key") {
        auto const none = svc.handle(request("POST", "/query", "", R"({"user_id":"u1","question":"hi"})"), remote);
        CHECK(none.status == 401);
        CHECK(code_of(none) == "UNAUTHORIZED");
        auto const unknown = svc.handle(request("POST", "/query", "pk_nope", R"({"user_id":"u1","question":"hi"})"), remote);
        CHECK(unknown.status == 401);
    }
    SECTION("403 FORBIDDEN: each scope outside its endpoints") {
        CHECK(code_of(svc.handle(request("POST", "/ingest", f.reader, R"({"user_id":"u1"})"), remote)) == "FORBIDDEN");
        CHECK(svc.handle(request("POST", "/query", f.writer, R"({"user_id":"u1","question":"q"})"), remote).status == 403);
        CHECK(svc.handle(request("POST", "/delete", f.writer, R"({"user_id":"u1"})"), remote).status == 403);
        CHECK(svc.handle(request("GET", "/delete/del_x", f.reader), remote).status == 403);
    }
    SECTION("404 USER_NOT_FOUND and NOT_FOUND") {
        auto const missing = svc.handle(request("POST", "/query", f.reader, R"({"user_id":"ghost","question":"q"})"), remote);
        CHECK(missing.status == 404);
        CHECK(code_of(missing) == "USER_NOT_FOUND");
        auto const path = svc.handle(request("GET", "/nowhere", f.reader), remote);
        CHECK(path.status == 404);
        CHECK(code_of(path) == "NOT_FOUND");
        CHECK(svc.handle(request("GET", "/delete/del_unknown", f.admin), remote).status == 404);
    }
    SECTION("405 METHOD_NOT_ALLOWED with Allow") {
        auto const r = svc.handle(request("GET", "/ingest", f.admin), remote);
        CHECK(r.status == 405);
        CHECK(code_of(r) == "METHOD_NOT_ALLOWED");
        CHECK(r.field("Allow") == "POST");
        CHECK(svc.handle(request("DELETE", "/register", f.admin), remote).field("Allow") == "PUT, POST");
    }
    SECTION("400 INVALID_REQUEST with details.field") {
        auto const r = svc.handle(request("POST", "/chunks", f.reader, R"({"user_id":"u1","conversation":[],"top_k":5})"), remote);
        CHECK(r.status == 400);
        auto const v = boost::json::parse(r.body);
        CHECK(v.at("code") == "INVALID_REQUEST");
        CHECK(v.at("details").at("field") == "conversation");
        CHECK(svc.handle(request("PUT", "/register", f.writer, R"({"email":"a@b.co"})"), remote).status == 400);
    }
}

TEST_CASE("service: a key never reaches another workspace's users, and cannot tell they exist") {
    fixture f;
    auto svc = f.make();
    auto const ask = request("POST", "/query", f.other_admin, R"({"user_id":"shared_id","question":"anything?"})");
    auto const before = svc.handle(ask, remote);
    REQUIRE(svc.handle(request("PUT", "/register", f.admin, R"({"user_id":"shared_id","traits":{"secret":"x"}})"), remote).status == 200);
    auto const after = svc.handle(ask, remote);
    CHECK(after.status == 404);
    CHECK(after.body == before.body);
    CHECK(svc.handle(request("POST", "/delete", f.other_admin, R"({"user_id":"shared_id"})"), remote).status == 404);
    CHECK(svc.handle(request("POST", "/query", f.admin, R"({"user_id":"shared_id","question":"anything?"})"), remote).status == 200);
}

TEST_CASE("service: 429 RATE_LIMITED with Retry-After and X-RateLimit headers") {
    fixture f;
    // A fixed clock: with the real one, a minute turning over between two of these
    // requests would start a new window and the 429 would not come.
    auto const fixed = std::chrono::sys_days{std::chrono::year{2025} / 10 / 11} + std::chrono::hours{16} +
                       std::chrono::seconds{20};
    auto svc = f.make({.rate_limit_per_minute = 2, .clock = [fixed] { return timestamp{fixed}; }});
    auto const ok = svc.handle(request("GET", "/summary?user_id=x", f.reader), remote);
    CHECK(ok.field("X-RateLimit-Limit") == "2");
    CHECK(ok.field("X-RateLimit-Remaining") == "1");
    CHECK(ok.field("X-RateLimit-Reset") == "2025-10-11T16:01:00Z");
    (void)svc.handle(request("GET", "/summary?user_id=x", f.reader), remote);
    auto const limited = svc.handle(request("GET", "/summary?user_id=x", f.reader), remote);
    CHECK(limited.status == 429);
    CHECK(code_of(limited) == "RATE_LIMITED");
    CHECK(limited.field("Retry-After") == "40"); // to 16:01:00
    CHECK(limited.field("X-RateLimit-Remaining") == "0");
    CHECK(svc.handle(request("GET", "/summary?user_id=x", f.admin), remote).status != 429); // per key
    auto const forbidden = svc.handle(request("POST", "/ingest", f.reader, "{}"), remote);
    CHECK(forbidden.status == 429); // the reader's quota is spent: even its 403s are counted
    auto const other = svc.handle(request("POST", "/query", f.writer, R"({"user_id":"x","question":"q"})"), remote);
    CHECK(other.status == 403);
    CHECK(other.field("X-RateLimit-Limit") == "2"); // a 403 to a known key carries the quota headers
}

TEST_CASE("service: 400 PII_DETECTED when screening rejects, and nothing is stored") {
    fixture f;
    auto svc = f.make({.reject_pii = true});
    REQUIRE(svc.handle(request("PUT", "/register", f.admin, R"({"user_id":"u1"})"), remote).status == 200);
    auto const r = svc.handle(request("POST", "/ingest", f.admin, R"({"user_id":"u1","events":[
        {"event_id":"e1","type":"note","timestamp":"2025-10-11T16:05:00Z","content":"fine"},
        {"event_id":"e2","type":"note","timestamp":"2025-10-11T16:05:00Z","content":"my card is 4111 1111 1111 1111"}]})"),
                              remote);
    CHECK(r.status == 400);
    auto const v = boost::json::parse(r.body);
    CHECK(v.at("code") == "PII_DETECTED");
    CHECK(v.at("details").at("field") == "events[1].content");
    CHECK(f.engine.get_store().get_items({"acme", "u1"})->empty());
}

namespace {
/// An API whose backend is down (503) or broken (500): the errors of API.md's last rows.
struct failing_api {
    errc code;
    template <class T>
    result<T> fail() const { return make_error(code, code == errc::unavailable ? "storage is unavailable" : "internal error"); }
    result<register_response> register_user(register_request const&) { return fail<register_response>(); }
    result<ingest_response> ingest(ingest_request const&) { return fail<ingest_response>(); }
    result<query_response> query(query_request const&) { return fail<query_response>(); }
    result<summary_response> summary(summary_request const&) { return fail<summary_response>(); }
    result<chunks_response> chunks(chunks_request const&) { return fail<chunks_response>(); }
    result<delete_response> delete_user(delete_request const&) { return fail<delete_response>(); }
    result<delete_response> deletion_status(deletion_status_request const&) { return fail<delete_response>(); }
};
} // namespace

TEST_CASE("service: backend failures are 503 UNAVAILABLE and 500 INTERNAL_ERROR") {
    protocol::key_store keys;
    auto const key = keys.add("w", scope::admin).value();
    for (auto const& [code, status] : {std::pair{errc::unavailable, 503}, std::pair{errc::internal_error, 500}}) {
        failing_api api{code};
        protocol::service<failing_api> svc(api, keys);
        auto const r = svc.handle(request("POST", "/query", key, R"({"user_id":"u","question":"q"})"), remote);
        CHECK(r.status == status);
        CHECK(code_of(r) == to_string(code));
        if (code == errc::internal_error) CHECK(boost::json::parse(r.body).at("message") == "internal error");
    }
}

TEST_CASE("service refuses to serve a single-workspace API (a remote_api proxy) to several workspaces") {
    fixture f; // keys of workspaces acme and globex
    auto svc = f.make();
    remote_api<loopback_transport<protocol::service<basic_engine>>> upstream{loopback_transport{svc}, f.admin};
    CHECK_THROWS_AS((protocol::service<decltype(upstream)>(upstream, f.keys)), std::invalid_argument);
    protocol::key_store one;
    (void)one.add("acme", scope::admin).value();
    (void)one.add("acme", scope::read).value();
    CHECK_NOTHROW(protocol::service<decltype(upstream)>(upstream, one));
}

TEST_CASE("service: one log line per request, without the key or the body") {
    fixture f;
    auto svc = f.make();
    (void)svc.handle(request("PUT", "/register", f.writer, R"({"user_id":"secret_body_marker"})"), remote);
    (void)svc.handle(request("GET", "/summary?user_id=nobody", f.reader), remote);
    REQUIRE(f.log.size() == 2);
    CHECK(f.log[0].find("PUT /register 200 ") != std::string::npos);
    CHECK(f.log[0].ends_with("workspace=acme"));
    CHECK(f.log[1].find("GET /summary 404 ") != std::string::npos);
    for (auto const& line : f.log) {
        CHECK(line.find(f.writer) == std::string::npos);
        CHECK(line.find("secret_body_marker") == std::string::npos);
    }
}

TEST_CASE("remote_api over a loopback service passes the personalization_api kit in all auth styles") {
    fixture f;
    auto svc = f.make();
    for (auto style : {auth_style::authorization_x_api_key, auth_style::bearer, auth_style::x_api_key}) {
        remote_api<loopback_transport<protocol::service<basic_engine>>> api{loopback_transport{svc}, f.admin, style};
        auto const rep = testing::check_personalization_api(api);
        INFO(rep.to_string());
        CHECK(rep.ok());
    }
}

#include <persona/testing/transport_kit.hpp>

TEST_CASE("loopback_transport passes the transport conformance kit") {
    fixture f;
    auto svc = f.make();
    loopback_transport<protocol::service<basic_engine>> t{svc};
    auto const rep = testing::check_transport(t);
    INFO(rep.to_string());
    CHECK(rep.ok());
}

namespace {
std::vector<std::string> lines_of(std::string const& body) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at < body.size();) {
        auto const nl = body.find('\n', at);
        out.push_back(body.substr(at, nl - at));
        at = nl == std::string::npos ? body.size() : nl + 1;
    }
    return out;
}
} // namespace

TEST_CASE("service: GET /export and POST /import (persona extension) for admin keys") {
    fixture f;
    auto svc = f.make();
    REQUIRE(svc.handle(request("PUT", "/register", f.admin, R"({"user_id":"u1","traits":{"name":"Ash"}})"), remote).status == 200);
    REQUIRE(svc.handle(request("POST", "/ingest", f.admin, R"({"user_id":"u1","source":"gmail","events":[
        {"event_id":"e1","type":"email","timestamp":"2025-10-10T09:00:00Z","content":"Stand-up moves to 2 PM."}],
        "documents":[{"doc_id":"d1","content":"Focus blocks 9-12."}]})"),
                       remote)
                .status == 200);

    auto const exported = svc.handle(request("GET", "/export?user_id=u1", f.admin), remote);
    REQUIRE(exported.status == 200);
    CHECK(exported.field("Content-Type") == "application/x-ndjson");
    CHECK(exported.body.ends_with("\n"));
    auto const lines = lines_of(exported.body);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].starts_with(R"({"type":"user","format":"persona-export/1","user_id":"u1","traits":{"name":"Ash"},)"));
    // Ordered by time: the event's timestamp is older than the document's ingest.
    CHECK(lines[1].starts_with(R"({"type":"event","event_id":"e1","event_type":"email","source":"gmail",)"));
    CHECK(lines[2].starts_with(R"({"type":"document","doc_id":"d1","kind":"document","title":"","source":"gmail",)"));

    SECTION("import under another user_id, then the same export gives the same items") {
        auto const imported = svc.handle(request("POST", "/import?user_id=u2", f.admin, exported.body), remote);
        CHECK(imported.status == 200);
        CHECK(imported.body == R"({"user_id":"u2","events":1,"documents":1})");
        auto const again = svc.handle(request("GET", "/export?user_id=u2", f.admin), remote);
        auto const copy = lines_of(again.body);
        REQUIRE(copy.size() == 3);
        CHECK(copy[1] == lines[1]);
        CHECK(copy[2] == lines[2]);
        auto const ask = [&](std::string const& user) {
            return svc.handle(request("POST", "/chunks", f.reader, R"({"user_id":")" + user +
                                                                       R"(","conversation":[{"role":"user","content":"When is stand-up?"}]})"),
                              remote)
                .body;
        };
        CHECK(ask("u2") == ask("u1"));
    }
    SECTION("403 for write and read keys, 405 with Allow, 400 and 404 like the other endpoints") {
        for (auto const* key : {&f.writer, &f.reader}) {
            CHECK(code_of(svc.handle(request("GET", "/export?user_id=u1", *key), remote)) == "FORBIDDEN");
            CHECK(svc.handle(request("POST", "/import", *key, exported.body), remote).status == 403);
        }
        auto const post = svc.handle(request("POST", "/export?user_id=u1", f.admin), remote);
        CHECK(post.status == 405);
        CHECK(post.field("Allow") == "GET");
        CHECK(svc.handle(request("GET", "/import", f.admin), remote).field("Allow") == "POST");
        auto const no_id = svc.handle(request("GET", "/export", f.admin), remote);
        CHECK(no_id.status == 400);
        CHECK(boost::json::parse(no_id.body).at("details").at("field") == "user_id");
        auto const ghost = svc.handle(request("GET", "/export?user_id=ghost", f.admin), remote);
        CHECK(ghost.status == 404);
        CHECK(code_of(ghost) == "USER_NOT_FOUND");
    }
    SECTION("one bad line rejects the import with details.line and stores nothing") {
        std::string bad = exported.body;
        bad.replace(bad.find("Stand-up moves to 2 PM."), 23, " ");
        auto const r = svc.handle(request("POST", "/import?user_id=u3", f.admin, bad), remote);
        CHECK(r.status == 400);
        auto const v = boost::json::parse(r.body);
        CHECK(v.at("code") == "INVALID_REQUEST");
        CHECK(v.at("details").at("line") == 2);
        CHECK(v.at("details").at("field") == "content");
        CHECK(v.at("message") == "line 2: content must not be empty");
        CHECK(svc.handle(request("GET", "/export?user_id=u3", f.admin), remote).status == 404);
    }
    SECTION("another workspace's user is a 404 indistinguishable from a user that never existed") {
        auto const before = svc.handle(request("GET", "/export?user_id=shared", f.other_admin), remote);
        REQUIRE(svc.handle(request("POST", "/import?user_id=shared", f.admin, exported.body), remote).status == 200);
        auto const after = svc.handle(request("GET", "/export?user_id=shared", f.other_admin), remote);
        CHECK(after.status == 404);
        CHECK(after.body == before.body);
        // An import lands in the key's own workspace.
        REQUIRE(svc.handle(request("POST", "/import", f.other_admin, exported.body), remote).status == 200);
        CHECK(f.engine.get_store().get_items({"globex", "u1"})->size() == 2);
    }
}

TEST_CASE("service: /import screens for PII like /ingest when configured to reject") {
    fixture f;
    auto svc = f.make({.reject_pii = true});
    std::string const body =
        R"({"type":"user","format":"persona-export/1","user_id":"u1","traits":{},"created_at":"2025-10-11T16:05:00Z"})"
        "\n"
        R"({"type":"event","event_id":"e1","event_type":"note","timestamp":"2025-10-11T16:05:00Z","ingested_at":"2025-10-11T16:05:00Z","content":"card 4111 1111 1111 1111"})"
        "\n";
    auto const r = svc.handle(request("POST", "/import", f.admin, body), remote);
    CHECK(r.status == 400);
    auto const v = boost::json::parse(r.body);
    CHECK(v.at("code") == "PII_DETECTED");
    CHECK(v.at("details").at("line") == 2);
    CHECK(v.at("details").at("field") == "content");
    CHECK(f.engine.get_store().list_users()->empty());
}

TEST_CASE("service: for an API without export and import, their paths are unknown (404)") {
    protocol::key_store keys;
    auto const key = keys.add("w", scope::admin).value();
    failing_api api{errc::unavailable};
    protocol::service<failing_api> svc(api, keys);
    for (auto const& [method, target] : {std::pair{"GET", "/export?user_id=u"}, std::pair{"POST", "/import"}}) {
        auto const r = svc.handle(request(method, target, key, "{}"), remote);
        CHECK(r.status == 404);
        CHECK(code_of(r) == "NOT_FOUND");
    }
}
