#ifndef PERSONA_TESTING_TRANSPORT_KIT_HPP
#define PERSONA_TESTING_TRANSPORT_KIT_HPP

/// @file
/// The conformance kit of the `transport` concept.

#include <persona/concepts.hpp>
#include <persona/json.hpp>
#include <persona/testing/report.hpp>

#include <string>

namespace persona::testing {

/** Check that `t` has the semantics of the `transport` concept.

    `t` must be connected to a persona server (any engine, any keys; the kit sends no
    key and changes nothing): the kit relies only on API.md's fixed answers. Covers:
    a 200 and its JSON body, error statuses returned as values (401, 404, 405) with
    their bodies and headers, a request body actually sent (a 200 KB body still gets its
    401), the query string kept, and many requests in a row on one object.
*/
template <transport Transport>
conformance_report check_transport(Transport& t) {
    conformance_report r("transport");
    auto const get = [&t](std::string target) { return t.send(http_request{"GET", std::move(target), {}, {}}); };

    auto health = get("/healthz");
    r.expect(health && health->status == 200 && health->body == R"({"status":"ok"})", "GET /healthz is 200 {\"status\":\"ok\"}");
    auto missing = get("/no-such-path");
    r.expect(missing.has_value(), "a 404 is a successful send, not a transport error");
    auto const missing_body = missing ? parse_json(missing->body) : result<boost::json::value>(make_error(errc::internal_error, ""));
    r.expect(missing && missing->status == 404 && missing_body && error_from_json(*missing_body).code == errc::not_found,
             "a 404 comes back with its error body");
    auto wrong = t.send(http_request{"DELETE", "/ingest", {}, {}});
    r.expect(wrong && wrong->status == 405 && wrong->field("Allow") == "POST", "a 405 comes back with its Allow header");
    auto summary = get("/summary?user_id=kit&purpose=general");
    r.expect(summary && summary->status == 401, "a query string reaches the server (401 without a key, not 404)");

    std::string big = R"({"user_id":"kit","events":[{"event_id":"e","type":"note","timestamp":"2025-01-01T00:00:00Z","content":")";
    big.append(200'000, 'x');
    big += R"("}]})";
    auto large = t.send(http_request{"POST", "/ingest", {{"Content-Type", "application/json"}}, big});
    r.expect(large && large->status == 401, "a 200 KB request body is sent whole and answered");

    int ok = 0;
    for (int i = 0; i < 20; ++i) {
        auto again = get("/healthz");
        ok += again && again->status == 200 ? 1 : 0;
    }
    r.expect(ok == 20, "twenty requests in a row on one transport all succeed");
    return r;
}

} // namespace persona::testing

#endif
