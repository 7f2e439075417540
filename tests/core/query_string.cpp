#include <persona/query_string.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

using namespace persona;

namespace {

// Checks that `query` is rejected with `details.field` == `field`; returns the message.
std::string rejected(std::string_view query, std::string_view field) {
    INFO("query: " << query);
    auto const r = summary_request_from_query(query);
    REQUIRE_FALSE(r.has_value());
    INFO("message: " << r.error().message);
    CHECK(r.error().code == errc::invalid_request);
    CHECK(r.error().details.at("field").as_string() == field);
    return r.error().message;
}

} // namespace

TEST_CASE("url_decode and url_encode") {
    CHECK(detail::url_decode("a%20b+c%2Bd") == "a b c+d");
    CHECK(detail::url_decode("%e2%82%AC") == "\xe2\x82\xac");
    CHECK(detail::url_decode("") == "");
    CHECK_FALSE(detail::url_decode("%"));
    CHECK_FALSE(detail::url_decode("%4"));
    CHECK_FALSE(detail::url_decode("%zz"));
    CHECK_FALSE(detail::url_decode("a%g1"));
    CHECK(detail::url_encode("Az09-._~") == "Az09-._~");
    CHECK(detail::url_encode("a b&c=d+e/\xc3\xa9") == "a%20b%26c%3Dd%2Be%2F%C3%A9");
}

TEST_CASE("summary_request_from_query: valid queries") {
    auto r = summary_request_from_query("user_id=usr_42");
    REQUIRE(r.has_value());
    CHECK(r->workspace == default_workspace);
    CHECK(r->user_id == "usr_42");
    CHECK(r->purpose == "general");
    CHECK_FALSE(r->max_chars);
    CHECK_FALSE(r->freshness_days);

    auto full = summary_request_from_query("purpose=work-style&user_id=a%20b+c&max_chars=1000000&freshness_days=36500&x=1&x=2");
    REQUIRE(full.has_value());
    CHECK(full->user_id == "a b c");
    CHECK(full->purpose == "work-style");
    CHECK(full->max_chars == 1'000'000u);
    CHECK(full->freshness_days == 36'500u);

    for (auto p : summary_purposes) {
        auto q = summary_request_from_query("user_id=u&purpose=" + std::string(p));
        REQUIRE(q.has_value());
        CHECK(q->purpose == p);
    }
    auto odd = summary_request_from_query("&&user%5Fid=%E2%82%AC&max_chars=007&");
    REQUIRE(odd.has_value());
    CHECK(odd->user_id == "\xe2\x82\xac");
    CHECK(odd->max_chars == 7u);
}

TEST_CASE("summary_request_from_query: errors name the parameter") {
    rejected("", "user_id");
    rejected("purpose=general", "user_id");
    rejected("user_id=", "user_id");
    rejected("user_id", "user_id");
    rejected("user_id=" + std::string(129, 'a'), "user_id");
    CHECK(summary_request_from_query("user_id=" + std::string(128, 'a')).has_value());
    rejected("user_id=%zz", "user_id");
    rejected("user_id=a%", "user_id");
    rejected("user_id=%ff", "user_id");         // not UTF-8 once decoded
    rejected("user_id=%C0%AF", "user_id");      // overlong
    rejected("user_id=u&purpose=%FF", "purpose");
    rejected("user_id=u&us%zzer=1", "query");

    CHECK(rejected("user_id=a&user_id=b", "user_id").find("more than once") != std::string::npos);
    rejected("user_id=a&max_chars=5&max_chars=5", "max_chars");
    rejected("user_id=a&purpose=general&purpose=tool", "purpose");

    auto const msg = rejected("user_id=u&purpose=everything", "purpose");
    CHECK(msg.find("work-style") != std::string::npos);
    CHECK(msg.find("situation") != std::string::npos);
    rejected("user_id=u&purpose=", "purpose");
    rejected("user_id=u&purpose=General", "purpose");

    for (auto bad : {"0", "-1", "+5", "abc", "1.5", "", "1e3", " 5", "5%20", "99999999999999999999", "1000001"})
        rejected("user_id=u&max_chars=" + std::string(bad), "max_chars");
    for (auto bad : {"0", "-1", "abc", "1.5", "", "36501", "18446744073709551616"})
        rejected("user_id=u&freshness_days=" + std::string(bad), "freshness_days");
    rejected("user_id=u&freshness_days", "freshness_days");
}

TEST_CASE("to_query_string") {
    summary_request r;
    r.user_id = "u1";
    CHECK(to_query_string(r) == "user_id=u1&purpose=general");
    r.purpose = "decision-style";
    r.max_chars = 200;
    r.freshness_days = 7;
    CHECK(to_query_string(r) == "user_id=u1&purpose=decision-style&max_chars=200&freshness_days=7");

    r.user_id = "a b&c=d+e/\xc3\xa9#?%";
    auto const back = summary_request_from_query(to_query_string(r));
    REQUIRE(back.has_value());
    CHECK(back->user_id == r.user_id);
    CHECK(back->purpose == r.purpose);
    CHECK(back->max_chars == r.max_chars);
    CHECK(back->freshness_days == r.freshness_days);
}

TEST_CASE("export and import query strings") {
    auto const e = export_request_from_query("user_id=u%201&other=x");
    REQUIRE(e.has_value());
    CHECK(e->user_id == "u 1");
    CHECK(e->workspace == default_workspace);
    for (std::string const& bad :
         std::vector<std::string>{"", "user_id=", "user_id=" + std::string(129, 'a'), "user_id=a&user_id=b", "user_id=%ff"}) {
        INFO("query: " << bad);
        auto const r = export_request_from_query(bad);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().details.at("field") == "user_id");
    }
    CHECK(to_query_string(export_request{.user_id = "a b&c"}) == "user_id=a%20b%26c");
    CHECK(export_request_from_query(to_query_string(export_request{.user_id = "a b&c"}))->user_id == "a b&c");

    CHECK(import_request_from_query("")->user_id.empty()); // optional: the export's own id
    CHECK(import_request_from_query("user_id=u2")->user_id == "u2");
    CHECK_FALSE(import_request_from_query("user_id=")); // given, it must be a valid id
    CHECK_FALSE(import_request_from_query("user_id=a&user_id=b"));
    CHECK(import_request_from_query("user_id=" + std::string(129, 'a')).error().details.at("field") == "user_id");
    CHECK(to_query_string(import_request{}) == "");
    CHECK(to_query_string(import_request{.user_id = "u 2"}) == "user_id=u%202");
}
