#include <persona/remote_api.hpp>

#include <persona/loopback_transport.hpp>
#include <persona/presets.hpp>
#include <persona/protocol/service.hpp>

#include "../support/workload.hpp"

#include <catch2/catch.hpp>

using namespace persona;

namespace {

/// A transport that answers every request with one canned response (the hosted API's
/// shapes, which persona's own server never sends).
struct canned_transport {
    result<http_response> reply;
    std::vector<http_request> sent;
    result<http_response> send(http_request const& r) {
        sent.push_back(r);
        return reply;
    }
};

} // namespace

static_assert(personalization_api<remote_api<canned_transport>>);

TEST_CASE("the same workload through an engine and through remote_api gives identical results") {
    auto direct = test_support::fixed_engine();
    auto served = test_support::fixed_engine();
    protocol::key_store keys;
    auto const key = keys.add(std::string(default_workspace), protocol::scope::admin).value();
    protocol::service<basic_engine> svc(served, keys);
    remote_api api{loopback_transport{svc}, key};
    auto const a = test_support::run_workload(direct);
    auto const b = test_support::run_workload(api);
    test_support::check_same_transcripts(a, b);
}

TEST_CASE("remote_api sends API.md's requests in the docs' auth form") {
    canned_transport t{http_response{200, {}, R"({"user_id":"u1","created_at":"2025-10-11T16:05:00Z","status":"active"})"}, {}};
    remote_api api(std::move(t), "pk_secret");
    REQUIRE(api.register_user({.user_id = "u1", .traits = {{"tz", "PT"}}}));
    auto const& sent = api.get_transport().sent.back();
    CHECK(sent.method == "PUT");
    CHECK(sent.target == "/register");
    CHECK(sent.field("Authorization") == "x-api-key: pk_secret");
    CHECK(sent.field("Content-Type") == "application/json");
    CHECK(sent.body == R"({"user_id":"u1","traits":{"tz":"PT"}})");
    (void)api.register_user({.email = "a@b.co"});
    CHECK(api.get_transport().sent.back().method == "POST");
    (void)api.summary({.user_id = "u 1", .purpose = "work-style", .max_chars = 10});
    CHECK(api.get_transport().sent.back().target == "/summary?user_id=u%201&purpose=work-style&max_chars=10");
    CHECK(api.get_transport().sent.back().body.empty());
}

TEST_CASE("remote_api maps both error body shapes, bare statuses and transport failures") {
    SECTION("top-level error body") {
        remote_api api(canned_transport{http_response{404, {}, R"({"code":"USER_NOT_FOUND","message":"no user 'u'","details":{"user_id":"u"}})"}, {}}, "k");
        auto const r = api.query({.user_id = "u", .question = "q"});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::user_not_found);
        CHECK(r.error().details.at("user_id") == "u");
    }
    SECTION("nested error body, as the hosted API sends") {
        remote_api api(canned_transport{http_response{429, {}, R"({"error":{"code":"RATE_LIMITED","message":"slow down"}})"}, {}}, "k");
        auto const r = api.chunks({.user_id = "u", .conversation = {{"user", "x"}}});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::rate_limited);
        CHECK(r.error().message == "slow down");
    }
    SECTION("a status without a JSON body") {
        remote_api api(canned_transport{http_response{503, {}, "<html>Service Unavailable</html>"}, {}}, "k");
        auto const r = api.summary({.user_id = "u"});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
    }
    SECTION("a transport failure") {
        remote_api api(canned_transport{make_error(errc::unavailable, "cannot connect"), {}}, "k");
        CHECK(api.delete_user({.user_id = "u"}).error().code == errc::unavailable);
    }
    SECTION("a 200 that is not the documented body") {
        remote_api api(canned_transport{http_response{200, {}, R"({"unexpected":true})"}, {}}, "k");
        CHECK(api.query({.user_id = "u", .question = "q"}).error().code == errc::internal_error);
    }
}

TEST_CASE("remote_api moves a user between two services with export_user and import_user") {
    auto a = test_support::fixed_engine();
    auto b = test_support::fixed_engine();
    protocol::key_store keys;
    auto const key = keys.add(std::string(default_workspace), protocol::scope::admin).value();
    protocol::service<basic_engine> svc_a(a, keys), svc_b(b, keys);
    remote_api from{loopback_transport{svc_a}, key};
    remote_api to{loopback_transport{svc_b}, key};

    REQUIRE(from.register_user({.user_id = "u1", .traits = {{"name", "Ash"}}}));
    ingest_request in{.user_id = "u1", .source = "gmail"};
    in.events = {{"e1", "email", parse_timestamp("2025-10-10T09:00:00Z"), "Stand-up moves to 2 PM.", {{"subject", "Stand-up"}}}};
    in.documents = {{.doc_id = "d1", .content = "Focus blocks 9-12.", .title = "Prefs"}};
    REQUIRE(from.ingest(in));

    auto const x = from.export_user({.user_id = "u1"}).value();
    CHECK(x == a.export_user({.user_id = "u1"}).value()); // the wire loses nothing
    CHECK(to.import_user({.data = x}).value() == import_response{"u1", 1, 1});
    chunks_request const ask{.user_id = "u1", .conversation = {{"user", "When is stand-up?"}}};
    CHECK(to.chunks(ask).value() == from.chunks(ask).value());
    CHECK(b.get_store().get_items({"default", "u1"}).value() == x.items);

    CHECK(from.export_user({.user_id = "ghost"}).error().code == errc::user_not_found);
    auto bad = x;
    bad.items[0].content = " ";
    auto const e = to.import_user({.user_id = "u9", .data = bad}).error();
    CHECK(e.code == errc::invalid_request);
    CHECK(e.details.at("line") == 2);
    CHECK(e.details.at("field") == "content");
}

TEST_CASE("remote_api sends export and import as persona's extension requests") {
    user_export x;
    x.user_id = "u1";
    x.created_at = parse_timestamp("2025-10-11T16:05:00Z").value();
    x.updated_at = x.created_at;
    remote_api api(canned_transport{http_response{200, {{"Content-Type", "application/x-ndjson"}}, to_ndjson(x)}, {}}, "k");
    CHECK(api.export_user({.user_id = "u 1"}).value() == x);
    auto const& get = api.get_transport().sent.back();
    CHECK(get.method == "GET");
    CHECK(get.target == "/export?user_id=u%201");
    CHECK(get.field("Accept") == "application/x-ndjson");
    CHECK(get.body.empty());

    api.get_transport().reply = http_response{200, {}, R"({"user_id":"u2","events":0,"documents":0})"};
    CHECK(api.import_user({.user_id = "u2", .data = x}).value() == import_response{"u2", 0, 0});
    auto const& post = api.get_transport().sent.back();
    CHECK(post.method == "POST");
    CHECK(post.target == "/import?user_id=u2");
    CHECK(post.field("Content-Type") == "application/x-ndjson");
    CHECK(post.body == to_ndjson(x));
    (void)api.import_user({.data = x});
    CHECK(api.get_transport().sent.back().target == "/import");

    api.get_transport().reply = http_response{200, {}, "not an export"};
    CHECK(api.export_user({.user_id = "u1"}).error().code == errc::internal_error);
    api.get_transport().reply = http_response{404, {}, R"({"code":"NOT_FOUND","message":"no endpoint /export","details":{}})"};
    CHECK(api.export_user({.user_id = "u1"}).error().code == errc::not_found); // a server without the extension
}
