#include <persona/openai_embedder.hpp>
#include <persona/llm_answerer.hpp>

// openai_embedder and llm_answerer against a fake OpenAI service: a real Beast server on
// 127.0.0.1 that speaks OpenAI's wire format (/v1/embeddings, /v1/chat/completions, its
// error bodies), since the real service cannot run here.

#include "http_test_support.hpp"

#include <persona/engine.hpp>
#include <persona/flat_retriever.hpp>
#include <persona/hashing_embedder.hpp>
#include <persona/memory_store.hpp>
#include <persona/testing/embedder_kit.hpp>

#include <catch2/catch.hpp>

#include <boost/json/serialize.hpp>

#include <cmath>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using namespace persona_http_test;
using persona::errc;
using persona::http::basic_server;
using persona::http::beast_transport;

namespace {

namespace json = boost::json;

constexpr char const* test_key = "sk-test-123";

/// What the fake does, set by each test; what it was sent.
struct fake_state {
    std::mutex mutex;
    std::vector<persona::http_request> requests;
    std::string mode;       ///< "", "429", "quota", "500", "slow", "not-json", "wrong-shape", "wrong-dim",
                            ///< "no-index", "null-content"
    std::string chat_reply; ///< when set, the chat model's reply
    std::size_t dim = 32;   ///< the embedding model's dimension (a request's `dimensions` wins)

    std::vector<persona::http_request> sent() {
        std::lock_guard g(mutex);
        return requests;
    }
    std::size_t count() {
        std::lock_guard g(mutex);
        return requests.size();
    }
};

persona::http_response json_reply(int status, json::value const& v) {
    return {status, {{"Content-Type", "application/json"}}, json::serialize(v)};
}

/// OpenAI's error body: {"error":{"message","type","param","code"}}.
persona::http_response openai_error(int status, std::string_view message, std::string_view type, json::value code) {
    return json_reply(status, json::object{{"error", json::object{{"message", message},
                                                                  {"type", type},
                                                                  {"param", nullptr},
                                                                  {"code", std::move(code)}}}});
}

std::set<std::string> words(std::string_view s) {
    std::set<std::string> out;
    std::string w;
    for (char c : std::string(s) + " ") {
        if (std::isalnum(static_cast<unsigned char>(c))) w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else {
            if (w.size() > 2) out.insert(w);
            w.clear();
        }
    }
    return out;
}

std::size_t overlap(std::set<std::string> const& a, std::set<std::string> const& b) {
    std::size_t n = 0;
    for (auto const& w : a) n += b.count(w);
    return n;
}

/// The embedding model: hashing_embedder rows, scaled by 2 to 4 by the text's length (not
/// unit length, as many local models' are not), listed in reverse order (the index says
/// where each goes). The same text always gets the same numbers, as a real model's would.
persona::http_response embeddings(fake_state& f, json::object const& body, std::string const& mode) {
    auto const* model = body.if_contains("model");
    if (!model || !model->is_string())
        return openai_error(400, "you must provide a model parameter", "invalid_request_error", nullptr);
    std::vector<std::string> input;
    if (auto const* in = body.if_contains("input"); in && in->is_string()) {
        input.emplace_back(in->get_string());
    } else if (in && in->is_array()) {
        for (auto const& s : in->get_array())
            if (s.is_string()) input.emplace_back(s.get_string());
            else input.clear();
    }
    bool const bad_input = input.empty() || std::ranges::any_of(input, [](std::string const& s) { return s.empty(); });
    if (bad_input)
        return openai_error(400, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
                            "invalid_request_error", nullptr);
    std::size_t dim = f.dim;
    if (auto const* d = body.if_contains("dimensions")) dim = static_cast<std::size_t>(d->to_number<std::int64_t>());
    if (mode == "wrong-dim") dim += 1;
    persona::hashing_embedder const model_impl(dim);
    json::array data;
    for (std::size_t i = input.size(); i-- > 0;) {
        std::vector<float> row(dim);
        std::string_view const text[] = {input[i]};
        if (!model_impl.embed(text, row)) return openai_error(500, "embedding failed", "server_error", nullptr);
        double const scale = 2.0 + static_cast<double>(input[i].size() % 3);
        json::array values;
        for (float v : row) values.emplace_back(static_cast<double>(v) * scale);
        json::object item{{"object", "embedding"}, {"embedding", std::move(values)}};
        if (mode != "no-index") item["index"] = i;
        data.push_back(std::move(item));
    }
    if (mode == "no-index") std::reverse(data.begin(), data.end());
    return json_reply(200, json::object{{"object", "list"},
                                        {"data", std::move(data)},
                                        {"model", model->get_string()},
                                        {"usage", json::object{{"prompt_tokens", 8}, {"total_tokens", 8}}}});
}

/// The chat model: reads the prompt llm_answerer writes and answers from it, citing ids.
persona::http_response chat(fake_state& f, json::object const& body, std::string const& mode) {
    auto const* model = body.if_contains("model");
    auto const* messages = body.if_contains("messages");
    if (!model || !model->is_string() || !messages || !messages->is_array() || messages->get_array().empty())
        return openai_error(400, "you must provide a model parameter", "invalid_request_error", nullptr);
    std::string reply;
    {
        std::lock_guard g(f.mutex);
        reply = f.chat_reply;
    }
    if (reply.empty()) {
        std::string const prompt(messages->get_array().back().at("content").as_string());
        std::istringstream lines(prompt);
        std::string line, name, question;
        std::vector<std::pair<std::string, std::string>> evidence; // id, text
        std::vector<std::string> options;
        bool in_options = false;
        while (std::getline(lines, line)) {
            if (line.starts_with("Person: ")) name = line.substr(8);
            else if (line.starts_with("Question: ")) question = line.substr(10);
            else if (line == "Options:") in_options = true;
            else if (line.starts_with("[")) {
                auto const close = line.find("] (");
                auto const text = line.find(") ", close);
                evidence.emplace_back(line.substr(1, close - 1), line.substr(text + 2));
            } else if (in_options && !line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) {
                options.push_back(line.substr(line.find(": ") + 2));
            }
        }
        std::size_t best = 0;
        for (std::size_t i = 1; i < evidence.size(); ++i)
            if (overlap(words(question), words(evidence[i].second)) > overlap(words(question), words(evidence[best].second)))
                best = i;
        std::string const because = evidence.empty() ? std::string("I don't know.")
                                                     : name + " wrote: \"" + evidence[best].second + "\" [" + evidence[best].first + "].";
        if (options.empty()) {
            reply = because;
        } else {
            std::string all;
            for (auto const& e : evidence) all += e.second + " ";
            std::size_t pick = 0;
            for (std::size_t i = 1; i < options.size(); ++i)
                if (overlap(words(options[i]), words(all)) > overlap(words(options[pick]), words(all))) pick = i;
            reply = "choice: " + std::to_string(pick) + "\n" + because;
        }
    }
    json::value content(reply);
    if (mode == "null-content") content = nullptr;
    return json_reply(200, json::object{
                               {"id", "chatcmpl-fake1"},
                               {"object", "chat.completion"},
                               {"created", 1700000000},
                               {"model", model->get_string()},
                               {"choices", json::array{json::object{
                                               {"index", 0},
                                               {"message", json::object{{"role", "assistant"}, {"content", content}}},
                                               {"logprobs", nullptr},
                                               {"finish_reason", "stop"}}}},
                               {"usage", json::object{{"prompt_tokens", 90}, {"completion_tokens", 20}, {"total_tokens", 110}}}});
}

auto make_fake(fake_state& f) {
    return [&f](persona::http_request const& req, persona::protocol::connection_info const&) -> persona::http_response {
        std::string mode;
        {
            std::lock_guard g(f.mutex);
            f.requests.push_back(req);
            mode = f.mode;
        }
        // Slower than the tests' 1 s timeout by a margin a loaded machine cannot eat.
        if (mode == "slow") std::this_thread::sleep_for(2500ms);
        if (req.field("Authorization") != std::string("Bearer ") + test_key)
            return openai_error(401,
                                "Incorrect API key provided: sk-wr***ey. You can find your API key at "
                                "https://platform.openai.com/account/api-keys.",
                                "invalid_request_error", "invalid_api_key");
        if (mode == "429")
            return openai_error(429,
                                "Rate limit reached for requests in organization org-test on requests per min (RPM): "
                                "Limit 3000, Used 3000, Requested 1. Please try again in 20ms.",
                                "requests", "rate_limit_exceeded");
        if (mode == "quota")
            return openai_error(429, "You exceeded your current quota, please check your plan and billing details.",
                                "insufficient_quota", "insufficient_quota");
        if (mode == "500")
            return openai_error(500, "The server had an error while processing your request. Sorry about that!",
                                "server_error", nullptr);
        if (mode == "not-json") return {200, {{"Content-Type", "application/json"}}, R"({"object":"list","data":[{"embedding":[0.1,)"};
        if (mode == "wrong-shape") return json_reply(200, json::object{{"object", "list"}, {"results", json::array{}}});
        if (req.method != "POST" || req.field("Content-Type") != "application/json")
            return openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error", nullptr);
        boost::system::error_code ec;
        auto body = json::parse(req.body, ec);
        if (ec || !body.is_object())
            return openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error", nullptr);
        if (req.target == "/v1/embeddings") return embeddings(f, body.get_object(), mode);
        if (req.target == "/v1/chat/completions") return chat(f, body.get_object(), mode);
        return openai_error(404, "Invalid URL (" + req.method + " " + req.target + ")", "invalid_request_error", nullptr);
    };
}

using fake_server = basic_server<decltype(make_fake(std::declval<fake_state&>()))>;

struct fixture {
    fake_state state;
    fake_server server{make_fake(state), test_options()};
    fixture() { REQUIRE(server.start()); }

    beast_transport transport(std::chrono::milliseconds timeout = 5000ms) {
        return beast_transport(base_url(server.port()), {.request_timeout = timeout});
    }
    void mode(std::string m) {
        std::lock_guard g(state.mutex);
        state.mode = std::move(m);
    }
    void reply(std::string r) {
        std::lock_guard g(state.mutex);
        state.chat_reply = std::move(r);
    }
};

using embedder_t = persona::openai_embedder<beast_transport>;
using answerer_t = persona::llm_answerer<beast_transport>;

embedder_t::options embedder_options(std::size_t dim = 32, std::string key = test_key) {
    return {.model = "text-embedding-3-small", .api_key = std::move(key), .dimension = dim};
}

answerer_t::options answerer_options(std::string key = test_key) {
    return {.model = "gpt-4o-mini", .api_key = std::move(key)};
}

/// The rows the fake's model gives, normalised: what the embedder must return.
std::vector<float> expected_rows(std::vector<std::string_view> const& texts, std::size_t dim) {
    std::vector<float> out(texts.size() * dim);
    REQUIRE(persona::hashing_embedder(dim).embed(texts, out));
    return out;
}

bool close_rows(std::vector<float> const& a, std::vector<float> const& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::abs(a[i] - b[i]) > 1e-6f) return false;
    return true;
}

struct kit_user {
    persona::user_record user;
    std::vector<persona::evidence> ev;
    kit_user() {
        user.ref = {"default", "u1"};
        user.traits["name"] = "Ash";
        user.traits["timezone"] = "America/Los_Angeles";
        user.purpose = "scheduling assistant";
        ev.resize(3);
        ev[0].chunk.chunk_id = "e1#s1";
        ev[0].chunk.type = "email";
        ev[0].chunk.title = "Stand-up";
        ev[0].chunk.text = "Let's move stand-up to 2 PM starting next week.\nMornings are for focus work.";
        ev[0].chunk.time = std::chrono::sys_days{std::chrono::year{2025} / 10 / 10};
        ev[0].score = 0.9;
        ev[1].chunk.chunk_id = "d1#p1";
        ev[1].chunk.type = "document";
        ev[1].chunk.text = "I really dislike early calls and never take meetings before 10.";
        ev[1].chunk.time = std::chrono::sys_days{std::chrono::year{2025} / 10 / 9};
        ev[1].score = 0.7;
        ev[2].chunk.chunk_id = "weak#s1";
        ev[2].chunk.text = "Barely relevant.";
        ev[2].score = 0.01; // below min_evidence_score: left out of the prompt
    }
    persona::answer_context ctx(std::string_view q, std::span<std::string const> options = {}) const {
        return {q, user, ev, options};
    }
};

} // namespace

//------------------------------------------------------------------------------
// openai_embedder
//------------------------------------------------------------------------------

TEST_CASE("openai_embedder sends OpenAI's embeddings request", "[http][openai]") {
    fixture fx;
    embedder_t e(fx.transport(), embedder_options());
    std::vector<std::string_view> const texts{"I prefer afternoon meetings.", "Banana bread with walnuts."};
    std::vector<float> out(2 * 32);
    REQUIRE(e.embed(texts, out));
    auto const sent = fx.state.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].method == "POST");
    CHECK(sent[0].target == "/v1/embeddings");
    CHECK(sent[0].field("Authorization") == "Bearer sk-test-123");
    CHECK(sent[0].field("Content-Type") == "application/json");
    CHECK(sent[0].field("Accept") == "application/json");
    CHECK(sent[0].body ==
          R"({"model":"text-embedding-3-small","input":["I prefer afternoon meetings.","Banana bread with walnuts."]})");
}

TEST_CASE("openai_embedder places rows by index and scales them to unit length", "[http][openai]") {
    fixture fx;
    embedder_t e(fx.transport(), embedder_options());
    std::vector<std::string_view> const texts{"alpha beta", "gamma delta", "", "epsilon zeta", "   "};
    std::vector<float> out(texts.size() * 32, 42.0f);
    REQUIRE(e.embed(texts, out));
    auto want = expected_rows(texts, 32); // blank texts: zero rows there too
    CHECK(close_rows(out, want));
    // The blank texts were not sent (OpenAI rejects empty input).
    CHECK(json::parse(fx.state.sent().at(0).body).at("input").as_array().size() == 3u);

    SECTION("a service that sends no index at all is read in array order") {
        fx.mode("no-index");
        std::vector<float> again(texts.size() * 32);
        REQUIRE(e.embed(texts, again));
        CHECK(close_rows(again, want));
    }
    SECTION("nothing to embed sends nothing") {
        std::vector<std::string_view> const blank{"", " \n"};
        std::vector<float> zero(64, 1.0f);
        REQUIRE(e.embed(blank, zero));
        CHECK(std::ranges::all_of(zero, [](float v) { return v == 0.0f; }));
        CHECK(fx.state.count() == 1);
    }
}

TEST_CASE("openai_embedder splits large inputs into batches", "[http][openai]") {
    fixture fx;
    auto o = embedder_options();
    o.batch_size = 2;
    embedder_t e(fx.transport(), o);
    std::vector<std::string_view> const texts{"one fish", "two fish", "red fish", "blue fish", "old fish"};
    std::vector<float> out(texts.size() * 32);
    REQUIRE(e.embed(texts, out));
    CHECK(close_rows(out, expected_rows(texts, 32)));
    auto const sent = fx.state.sent();
    REQUIRE(sent.size() == 3);
    CHECK(json::serialize(json::parse(sent[0].body).at("input")) == R"(["one fish","two fish"])");
    CHECK(json::serialize(json::parse(sent[1].body).at("input")) == R"(["red fish","blue fish"])");
    CHECK(json::serialize(json::parse(sent[2].body).at("input")) == R"(["old fish"])");
}

TEST_CASE("openai_embedder learns or checks the dimension", "[http][openai]") {
    fixture fx;
    SECTION("make asks the service when the dimension is 0") {
        auto e = embedder_t::make(fx.transport(), embedder_options(0));
        REQUIRE(e);
        CHECK(e->dimension() == 32);
        CHECK(fx.state.count() == 1);
        CHECK(json::parse(fx.state.sent()[0].body).at("input").as_array() == json::array{"persona"});
        std::vector<float> out(32);
        std::vector<std::string_view> const one{"hello there"};
        REQUIRE(e->embed(one, out));
        CHECK(close_rows(out, expected_rows(one, 32)));
    }
    SECTION("the constructor needs it") {
        CHECK_THROWS_AS(embedder_t(fx.transport(), embedder_options(0)), std::invalid_argument);
    }
    SECTION("send_dimensions asks for it") {
        auto o = embedder_options(16);
        o.send_dimensions = true;
        embedder_t e(fx.transport(), o);
        std::vector<std::string_view> const one{"short vectors"};
        std::vector<float> out(16);
        REQUIRE(e.embed(one, out));
        CHECK(json::parse(fx.state.sent()[0].body).at("dimensions").to_number<int>() == 16);
        CHECK(close_rows(out, expected_rows(one, 16)));
    }
    SECTION("rows of another length are an error") {
        fx.mode("wrong-dim");
        embedder_t e(fx.transport(), embedder_options());
        std::vector<std::string_view> const one{"hello"};
        std::vector<float> out(32);
        auto r = e.embed(one, out);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
        CHECK_THAT(r.error().message, Catch::Contains("33 dimensions; expected 32"));
    }
    SECTION("a too-small buffer is rejected before any request") {
        embedder_t e(fx.transport(), embedder_options());
        std::vector<std::string_view> const two{"a b", "c d"};
        std::vector<float> out(32);
        auto r = e.embed(two, out);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::invalid_request);
        CHECK(fx.state.count() == 0);
    }
}

TEST_CASE("openai_embedder maps the service's errors", "[http][openai]") {
    fixture fx;
    std::vector<std::string_view> const one{"hello"};
    std::vector<float> out(32);
    auto embed_with = [&](embedder_t const& e) { return e.embed(one, out); };

    SECTION("401: a wrong key is the deployment's problem") {
        auto r = embed_with(embedder_t(fx.transport(), embedder_options(32, "sk-wrong-key")));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
        CHECK_THAT(r.error().message, Catch::Contains("HTTP 401 (invalid_api_key): Incorrect API key provided"));
        CHECK_THAT(r.error().message, Catch::Contains("check the API key"));
    }
    SECTION("no key: no Authorization field") {
        (void)embed_with(embedder_t(fx.transport(), embedder_options(32, "")));
        CHECK(fx.state.sent().at(0).field("Authorization").empty());
    }
    SECTION("429: rate limited, retry later") {
        fx.mode("429");
        auto r = embed_with(embedder_t(fx.transport(), embedder_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
        CHECK_THAT(r.error().message, Catch::Contains("HTTP 429 (rate_limit_exceeded): Rate limit reached"));
    }
    SECTION("429 insufficient_quota: retrying does not help") {
        fx.mode("quota");
        auto r = embed_with(embedder_t(fx.transport(), embedder_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
        CHECK_THAT(r.error().message, Catch::Contains("You exceeded your current quota"));
    }
    SECTION("500") {
        fx.mode("500");
        auto r = embed_with(embedder_t(fx.transport(), embedder_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
        CHECK_THAT(r.error().message,
                   Catch::Contains("the embedding service answered HTTP 500 (server_error): The server had an error"));
    }
    SECTION("a wrong path: 404") {
        auto o = embedder_options();
        o.path = "/v1/embedding";
        auto r = embed_with(embedder_t(fx.transport(), o));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
        CHECK_THAT(r.error().message, Catch::Contains("HTTP 404 (invalid_request_error): Invalid URL (POST /v1/embedding)"));
    }
    SECTION("malformed JSON") {
        fx.mode("not-json");
        auto r = embed_with(embedder_t(fx.transport(), embedder_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
        CHECK_THAT(r.error().message, Catch::Contains("not JSON"));
    }
    SECTION("JSON of another shape") {
        fx.mode("wrong-shape");
        auto r = embed_with(embedder_t(fx.transport(), embedder_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
        CHECK_THAT(r.error().message, Catch::Contains("no \"data\" array"));
    }
    SECTION("a timeout is UNAVAILABLE, and the next call reconnects") {
        fx.mode("slow");
        embedder_t e(fx.transport(1000ms), embedder_options());
        auto r = embed_with(e);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
        CHECK_THAT(r.error().message, Catch::Contains("timed out after 1000 ms"));
        fx.mode("");
        CHECK(embed_with(e));
    }
    SECTION("nobody listening is UNAVAILABLE") {
        refusing_port const refusing;
        embedder_t e(beast_transport(base_url(refusing.port())), embedder_options());
        auto r = embed_with(e);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
        CHECK_THAT(r.error().message, Catch::Contains("the embedding service cannot be reached"));
    }
}

TEST_CASE("openai_embedder passes the embedder kit and serves threads from a pool", "[http][openai]") {
    fixture fx;
    fx.state.dim = 64;
    std::vector<beast_transport> pool;
    pool.push_back(fx.transport());
    pool.push_back(fx.transport());
    embedder_t const e(std::move(pool), embedder_options(64));
    auto const report = persona::testing::check_embedder(e);
    INFO(report.to_string());
    CHECK(report.ok());

    std::vector<std::thread> threads;
    std::atomic<int> good{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i) {
                std::string const text = "thread " + std::to_string(t) + " text " + std::to_string(i);
                std::vector<std::string_view> const one{text};
                std::vector<float> out(64);
                if (e.embed(one, out) && close_rows(out, expected_rows(one, 64))) ++good;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(good == 20);
}

//------------------------------------------------------------------------------
// llm_answerer
//------------------------------------------------------------------------------

TEST_CASE("llm_answerer sends an evidence-grounded chat request at temperature 0", "[http][openai]") {
    fixture fx;
    answerer_t a(fx.transport(), answerer_options());
    kit_user k;
    auto ans = a.answer(k.ctx("When does Ash prefer to have meetings?"));
    REQUIRE(ans);
    auto const sent = fx.state.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].method == "POST");
    CHECK(sent[0].target == "/v1/chat/completions");
    CHECK(sent[0].field("Authorization") == "Bearer sk-test-123");
    CHECK(sent[0].field("Content-Type") == "application/json");
    auto const body = json::parse(sent[0].body).as_object();
    CHECK(body.at("model").as_string() == "gpt-4o-mini");
    CHECK(body.at("temperature").to_number<double>() == 0.0);
    CHECK_FALSE(body.contains("max_tokens"));
    auto const& messages = body.at("messages").as_array();
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].at("role").as_string() == "system");
    CHECK(messages[0].at("content").as_string() == answerer_t::default_system_prompt());
    CHECK(messages[1].at("role").as_string() == "user");
    std::string const user(messages[1].at("content").as_string());
    CHECK(user == "Person: Ash\n"
                  "Profile:\n"
                  "- name: Ash\n"
                  "- timezone: America/Los_Angeles\n"
                  "Purpose of the application: scheduling assistant\n"
                  "\n"
                  "Evidence (most relevant first):\n"
                  "[e1#s1] (email \"Stand-up\", 10 October 2025) Let's move stand-up to 2 PM starting next week. "
                  "Mornings are for focus work.\n"
                  "[d1#p1] (document, 9 October 2025) I really dislike early calls and never take meetings before 10.\n"
                  "\n"
                  "Question: When does Ash prefer to have meetings?\n");
    CHECK(json::value(a.request_body(k.ctx("When does Ash prefer to have meetings?"))) == json::parse(sent[0].body));

    // The fake cites the evidence that best matches the question.
    CHECK(ans->text == "Ash wrote: \"I really dislike early calls and never take meetings before 10.\" [d1#p1].");
    REQUIRE(ans->sources.size() == 1);
    CHECK(ans->sources[0] == persona::source_ref{"d1#p1", 0.7});
    CHECK_FALSE(ans->choice);
    CHECK(ans->option_scores.empty());
}

TEST_CASE("llm_answerer keeps only the cited ids that are evidence", "[http][openai]") {
    fixture fx;
    answerer_t a(fx.transport(), answerer_options());
    kit_user k;
    SECTION("lists, repeats and invented ids") {
        fx.reply("Ash prefers afternoons [e1#s1] and avoids early calls [d1#p1, zz#s9; e1#s1]. See also [weak#s1] [nope].");
        auto ans = a.answer(k.ctx("When does Ash meet?"));
        REQUIRE(ans);
        CHECK(ans->text == "Ash prefers afternoons [e1#s1] and avoids early calls [d1#p1, zz#s9; e1#s1]. See also [weak#s1] [nope].");
        CHECK(ans->sources == std::vector<persona::source_ref>{{"e1#s1", 0.9}, {"d1#p1", 0.7}});
    }
    SECTION("a reasoning model's thoughts are dropped") {
        fx.reply("<think>The user asks about [e1#s1]...</think>\n\nI don't know from what Ash has shared.");
        auto ans = a.answer(k.ctx("What is Ash's favourite opera?"));
        REQUIRE(ans);
        CHECK(ans->text == "I don't know from what Ash has shared.");
        CHECK(ans->sources.empty());
    }
    SECTION("no content: the extractive answer") {
        fx.mode("null-content");
        auto ans = a.answer(k.ctx("When does Ash prefer to have meetings?"));
        REQUIRE(ans);
        auto want = persona::extractive_answerer().answer(k.ctx("When does Ash prefer to have meetings?"));
        CHECK(ans->text == want->text);
        CHECK(ans->sources == want->sources);
    }
}

TEST_CASE("llm_answerer without evidence answers like the extractive answerer, without a call", "[http][openai]") {
    fixture fx;
    answerer_t a(fx.transport(), answerer_options());
    kit_user k;
    k.ev.resize(1);
    k.ev[0].score = 0.01; // too weak to count
    persona::extractive_answerer x;
    for (std::string_view q : {"What does Ash think about opera?", "What is Ash's timezone?"}) {
        auto ans = a.answer(k.ctx(q));
        auto want = x.answer(persona::answer_context{q, k.user, {}, {}});
        REQUIRE(ans);
        CHECK(ans->text == want->text);
        CHECK(ans->sources.empty());
    }
    CHECK(fx.state.count() == 0);
}

TEST_CASE("llm_answerer predicts a decision and parses the choice strictly", "[http][openai]") {
    fixture fx;
    answerer_t a(fx.transport(), answerer_options());
    kit_user k;
    std::vector<std::string> const options{"A breakfast call at 8 AM", "Stand-up at 2 PM", "A dinner meeting"};
    auto const extractive = persona::extractive_answerer().answer(k.ctx("Which slot would Ash pick?", options));
    REQUIRE(extractive);

    SECTION("the options are numbered in the prompt") {
        auto ans = a.answer(k.ctx("Which slot would Ash pick?", options));
        REQUIRE(ans);
        std::string const user(json::parse(fx.state.sent().at(0).body).at("messages").at(1).at("content").as_string());
        CHECK_THAT(user, Catch::Contains("Question: Which slot would Ash pick?\n\nOptions:\n0: A breakfast call at 8 AM\n"
                                         "1: Stand-up at 2 PM\n2: A dinner meeting\n"));
        CHECK_THAT(user, Catch::Contains("\"choice: <number>\""));
        CHECK(ans->choice == 1u);
        CHECK(ans->option_scores == std::vector<double>{0, 1, 0});
    }
    SECTION("a valid reply") {
        fx.reply("Choice: 2 \nAsh likes evenings [d1#p1].");
        auto ans = a.answer(k.ctx("Which slot would Ash pick?", options));
        REQUIRE(ans);
        CHECK(ans->choice == 2u);
        CHECK(ans->option_scores == std::vector<double>{0, 0, 1});
        CHECK(ans->text == "Ash likes evenings [d1#p1].");
        CHECK(ans->sources == std::vector<persona::source_ref>{{"d1#p1", 0.7}});
    }
    SECTION("only the choice line") {
        fx.reply("choice: 0");
        auto ans = a.answer(k.ctx("Which slot would Ash pick?", options));
        REQUIRE(ans);
        CHECK(ans->choice == 0u);
        CHECK(ans->text == "Ash would most likely pick \"A breakfast call at 8 AM\".");
    }
    for (std::string bad : {"I think Ash would pick the second one.", "choice: 3\nout of range", "choice: 1, maybe 2",
                            "choice: -1", "choice:"}) {
        SECTION("an unparsable reply falls back to the extractive answer: " + bad) {
            fx.reply(bad);
            auto ans = a.answer(k.ctx("Which slot would Ash pick?", options));
            REQUIRE(ans);
            CHECK(ans->choice == extractive->choice);
            CHECK(ans->option_scores == extractive->option_scores);
            CHECK(ans->text == extractive->text);
            CHECK(ans->sources == extractive->sources);
        }
    }
}

TEST_CASE("llm_answerer maps the service's errors", "[http][openai]") {
    fixture fx;
    kit_user k;
    auto const ask = [&](answerer_t const& a) { return a.answer(k.ctx("When does Ash prefer to have meetings?")); };
    SECTION("401") {
        auto r = ask(answerer_t(fx.transport(), answerer_options("sk-nope")));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
        CHECK_THAT(r.error().message, Catch::Contains("the chat service answered HTTP 401 (invalid_api_key): Incorrect API key"));
    }
    SECTION("429") {
        fx.mode("429");
        auto r = ask(answerer_t(fx.transport(), answerer_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
        CHECK_THAT(r.error().message, Catch::Contains("Rate limit reached"));
    }
    SECTION("500") {
        fx.mode("500");
        auto r = ask(answerer_t(fx.transport(), answerer_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
        CHECK_THAT(r.error().message, Catch::Contains("The server had an error while processing your request"));
    }
    SECTION("timeout") {
        fx.mode("slow");
        auto r = ask(answerer_t(fx.transport(1000ms), answerer_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
        CHECK_THAT(r.error().message, Catch::Contains("timed out after 1000 ms"));
    }
    SECTION("malformed JSON") {
        fx.mode("not-json");
        auto r = ask(answerer_t(fx.transport(), answerer_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
    }
    SECTION("JSON without choices") {
        fx.mode("wrong-shape");
        auto r = ask(answerer_t(fx.transport(), answerer_options()));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
        CHECK_THAT(r.error().message, Catch::Contains("no \"choices\" array"));
    }
}

TEST_CASE("llm_answerer passes the answerer kit", "[http][openai]") {
    fixture fx;
    auto o = answerer_options();
    o.max_tokens = 200;
    answerer_t const a(fx.transport(), o);
    auto const report = persona::testing::check_answerer(a);
    INFO(report.to_string());
    CHECK(report.ok());
    CHECK(json::parse(fx.state.sent().at(0).body).at("max_tokens").to_number<int>() == 200);
}

//------------------------------------------------------------------------------
// Both in an engine
//------------------------------------------------------------------------------

TEST_CASE("an engine with both adapters answers a query end to end", "[http][openai]") {
    fixture fx;
    fx.state.dim = 64;
    using llm_engine = persona::engine<persona::memory_store, embedder_t, persona::flat_retriever, answerer_t>;
    llm_engine engine(persona::memory_store{}, embedder_t(fx.transport(), embedder_options(64)), persona::flat_retriever{},
                      answerer_t(fx.transport(), answerer_options()));
    REQUIRE(engine.register_user({.user_id = "u1", .traits = {{"name", "Ash"}}}));
    auto const day = [](int d) { return persona::timestamp{std::chrono::sys_days{std::chrono::year{2025} / 10 / d}}; };
    REQUIRE(engine.ingest({.user_id = "u1",
                           .events = {{"e1", "email", day(10), "Let's move stand-up to 2 PM. Mornings are for focus work.", {}},
                                      {"e2", "note", day(11), "Bought a new road bike for the weekend rides.", {}}}}));
    auto const embeds = fx.state.count();
    CHECK(embeds == 1); // both chunks in one embeddings request

    auto r = engine.query({.user_id = "u1", .question = "What time is stand-up now?"});
    REQUIRE(r);
    auto const sent = fx.state.sent();
    REQUIRE(sent.size() == embeds + 2); // the question's embedding, then the chat
    CHECK(sent[embeds].target == "/v1/embeddings");
    CHECK(sent[embeds + 1].target == "/v1/chat/completions");
    CHECK_THAT(r->answer, Catch::Contains("stand-up to 2 PM"));
    REQUIRE_FALSE(r->sources.empty());
    CHECK(r->sources[0].chunk_id == "e1#s1");

    fx.mode("500");
    auto down = engine.query({.user_id = "u1", .question = "What time is stand-up?"});
    REQUIRE_FALSE(down);
    CHECK(down.error().code == errc::unavailable);
}
