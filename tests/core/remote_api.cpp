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
