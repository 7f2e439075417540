#include <persona/protocol/metrics.hpp>

#include <catch2/catch.hpp>

TEST_CASE("metrics render Prometheus text with counters, histograms and gauges") {
    persona::protocol::metrics m;
    m.record("/chunks", 200, 0.0004);
    m.record("/chunks", 200, 0.003);
    m.record("/chunks", 404, 0.0001);
    CHECK(m.count("/chunks", 200) == 2);
    auto const text = m.render(7, 42);
    CHECK(text.find("# TYPE persona_requests_total counter") != std::string::npos);
    CHECK(text.find("persona_requests_total{endpoint=\"/chunks\",status=\"200\"} 2\n") != std::string::npos);
    CHECK(text.find("persona_requests_total{endpoint=\"/chunks\",status=\"404\"} 1\n") != std::string::npos);
    CHECK(text.find("persona_request_duration_seconds_bucket{endpoint=\"/chunks\",status=\"200\",le=\"0.0005\"} 1\n") != std::string::npos);
    CHECK(text.find("persona_request_duration_seconds_bucket{endpoint=\"/chunks\",status=\"200\",le=\"0.005\"} 2\n") != std::string::npos);
    CHECK(text.find("persona_request_duration_seconds_bucket{endpoint=\"/chunks\",status=\"404\",le=\"0.0005\"} 1\n") != std::string::npos);
    CHECK(text.find("persona_request_duration_seconds_count{endpoint=\"/chunks\",status=\"200\"} 2\n") != std::string::npos);
    CHECK(text.find("persona_users 7\n") != std::string::npos);
    CHECK(text.find("persona_chunks 42\n") != std::string::npos);
}
