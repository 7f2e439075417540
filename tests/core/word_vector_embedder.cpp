#include <persona/word_vector_embedder.hpp>

#include <persona/engine.hpp>
#include <persona/extractive_answerer.hpp>
#include <persona/flat_retriever.hpp>
#include <persona/memory_store.hpp>
#include <persona/testing/embedder_kit.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace persona;

namespace {

std::filesystem::path test_dir() {
    char const* root = std::getenv("PERSONA_TEST_TMP");
    // One directory per process: ctest runs test cases as parallel processes, and each
    // writes its own files (a shared path would be read while another process rewrites it).
    auto dir = std::filesystem::path(root ? root : "/tmp") / ("word-vectors-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir;
}

// An encoder of the documented file format written independently of the library's own
// (docs/word-vectors.md), so the format is pinned and not just self-consistent. Words go
// in as given (the test keeps them sorted), with hand-chosen int8 codes.
struct hand_word {
    std::string word;
    std::uint32_t rank;
    float norm;
    std::array<std::int8_t, 4> codes;
};

std::uint32_t crc32_bitwise(std::string_view bytes) {
    std::uint32_t c = 0xffffffffU;
    for (unsigned char b : bytes) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c & 1U) ? 0xedb88320U ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

void le32(std::string& s, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void le64(std::string& s, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string encode(std::vector<hand_word> const& words, std::uint32_t version = 1) {
    std::string body, strings;
    std::vector<std::uint32_t> offsets{0};
    for (auto const& w : words) offsets.push_back(static_cast<std::uint32_t>((strings += w.word).size()));
    for (auto o : offsets) le32(body, o);
    for (auto const& w : words) le32(body, w.rank);
    for (auto const& w : words) le32(body, std::bit_cast<std::uint32_t>(w.norm));
    for (auto const& w : words) {
        double q = 0;
        for (auto c : w.codes) q += double(c) * c;
        le32(body, std::bit_cast<std::uint32_t>(q > 0 ? static_cast<float>(1 / std::sqrt(q)) : 0.0f));
    }
    for (auto const& w : words) body.append(reinterpret_cast<char const*>(w.codes.data()), 4);
    body += strings;
    std::string file = "\x89PVEC\r\n\x1a";
    le32(file, version);
    le32(file, 4);
    le32(file, static_cast<std::uint32_t>(words.size()));
    le32(file, 1);
    le64(file, strings.size());
    le64(file, 64 + body.size());
    le32(file, crc32_bitwise(body));
    file.resize(64, '\0');
    return file + body;
}

// Four axes: food, travel, drink, work. Sorted by bytes; ranks as a frequency list would give.
std::vector<hand_word> const tiny_words{
    {"afternoon", 40, 4.0f, {0, 10, 0, 100}},
    {"airplane", 30, 5.0f, {0, 127, 0, 0}},
    {"banana", 50, 5.0f, {127, 0, 0, 0}},
    {"bread", 20, 5.0f, {120, 0, 10, 0}},
    {"coffee", 10, 5.0f, {10, 0, 120, 0}},
    {"flight", 25, 5.0f, {0, 120, 10, 0}},
    {"meet", 15, 5.0f, {0, 0, 10, 120}},
    {"meetings", 35, 5.0f, {0, 0, 0, 127}},
    {"pm", 45, 3.0f, {0, 0, 0, 127}},
    {"prefer", 12, 4.0f, {0, 0, 30, 100}},
    {"recipe", 60, 5.0f, {120, 0, 0, 10}},
    {"tea", 11, 5.0f, {10, 0, 110, 20}},
    {"the", 0, 2.0f, {60, 60, 60, 60}},
    {"walnuts", 90, 5.0f, {110, 0, 20, 0}},
};

std::filesystem::path write_file(std::string const& name, std::string const& bytes) {
    auto const p = test_dir() / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
}

word_vectors tiny() {
    static auto const path = write_file("tiny.pvec", encode(tiny_words));
    return word_vectors::load(path).value();
}

std::vector<float> embed_one(word_vector_embedder const& e, std::string_view text) {
    std::vector<std::string_view> texts{text};
    std::vector<float> out(e.dimension(), 42.0f);
    REQUIRE(e.embed(texts, out));
    return out;
}

std::vector<float> unit(std::array<double, 4> v) {
    double n = 0;
    for (double x : v) n += x * x;
    std::vector<float> out;
    for (double x : v) out.push_back(static_cast<float>(x / std::sqrt(n)));
    return out;
}

void check_close(std::vector<float> const& a, std::vector<float> const& b, double tol = 1e-6) {
    REQUIRE(a.size() == b.size());
    for (std::size_t j = 0; j < a.size(); ++j) {
        INFO("component " << j);
        CHECK(std::abs(a[j] - b[j]) < tol);
    }
}

double dot(std::vector<float> const& a, std::vector<float> const& b) {
    double s = 0;
    for (std::size_t j = 0; j < a.size(); ++j) s += double(a[j]) * b[j];
    return s;
}

error load_error(std::string const& name, std::string const& bytes, word_vectors::load_options o = {}) {
    auto r = word_vectors::load(write_file(name, bytes), o);
    REQUIRE_FALSE(r);
    return r.error();
}

} // namespace

static_assert(embedder<word_vector_embedder>);

TEST_CASE("word_vectors: the CRC-32 is zlib's") {
    CHECK(detail::crc32_update(0, "123456789", 9) == 0xcbf43926U);
    std::string const long_text(1000, 'x');
    CHECK(detail::crc32_update(detail::crc32_update(0, long_text.data(), 7), long_text.data() + 7, 993) ==
          crc32_bitwise(long_text));
}

TEST_CASE("word_vectors: a hand-written file loads; lookups are exact") {
    auto const v = tiny();
    CHECK(v.dimension() == 4);
    CHECK(v.size() == tiny_words.size());
    CHECK(v.vocabulary_size() == 91);
    for (std::size_t i = 0; i < v.size(); ++i) CHECK(v.word(i) == tiny_words[i].word);

    auto const coffee = v.find("coffee");
    REQUIRE(coffee);
    CHECK(coffee.size() == 4);
    CHECK(coffee.rank() == 10);
    CHECK(coffee.norm() == 5.0f);
    CHECK(v.word(coffee.index()) == "coffee");
    std::vector<float> dir(4);
    coffee.copy_to(dir);
    check_close(dir, unit({10, 0, 120, 0}));
    CHECK(coffee[2] == dir[2]);

    CHECK_FALSE(v.find("Coffee")); // exact: callers pass folded words
    CHECK_FALSE(v.find("coffe"));
    CHECK_FALSE(v.find(""));
    CHECK(v.find("unknown").size() == 0);
    CHECK(v.find("walnuts"));
    CHECK(v.find("afternoon"));
}

TEST_CASE("word_vectors: similarity is the cosine; unknown words give 0") {
    auto const v = tiny();
    CHECK(v.similarity("coffee", "coffee") == Approx(1.0).epsilon(1e-6));
    double const expected = dot(unit({10, 0, 120, 0}), unit({10, 0, 110, 20}));
    CHECK(v.similarity("coffee", "tea") == Approx(expected).epsilon(1e-6));
    CHECK(v.similarity("coffee", "tea") > v.similarity("coffee", "airplane"));
    CHECK(v.similarity("coffee", "airplane") == 0.0f);
    CHECK(v.similarity("coffee", "nonsense") == 0.0f);
    CHECK(similarity(v.find("tea"), word_vector{}) == 0.0f);
    CHECK(v.find("tea").dot(unit({10, 0, 120, 0})) == Approx(expected).epsilon(1e-6));
    CHECK(v.find("tea").dot(std::vector<float>(3)) == 0.0f);
}

TEST_CASE("word_vectors: nearest words, best first, ties by word") {
    auto const v = tiny();
    auto const near = v.nearest("coffee", 2);
    REQUIRE(near.size() == 2);
    CHECK(near[0].word == "tea");
    CHECK(near[0].similarity == Approx(v.similarity("coffee", "tea")));
    CHECK(near[1].word == "the");
    CHECK(v.nearest("meetings", 1)[0].word == "pm"); // identical direction to "meetings"
    CHECK(v.nearest("pm", 1)[0].word == "meetings");
    CHECK(v.nearest("nonsense", 3).empty());
    CHECK(v.nearest("coffee", 0).empty());
    CHECK(v.nearest("coffee", 100).size() == v.size() - 1);
    auto const food = v.nearest(std::vector<float>{1, 0, 0, 0}, 1);
    REQUIRE(food.size() == 1);
    CHECK(food[0].word == "banana");
    CHECK(v.nearest(std::vector<float>{1, 0}, 1).empty());
}

TEST_CASE("word_vectors: build, save and load round-trip") {
    std::vector<word_vector_entry> entries{
        {"the", {1, 1, 1}}, {"tea", {0.1f, 0.2f, 3.0f}}, {"coffee", {0.2f, 0.1f, 2.5f}}, {"zero", {0, 0, 0}}};
    auto const built = word_vectors::build(3, entries);
    REQUIRE(built);
    CHECK(built->size() == 4);
    CHECK(built->word(0) == "coffee"); // sorted by bytes
    CHECK(built->find("the").rank() == 0);
    CHECK(built->find("coffee").rank() == 2);
    CHECK(built->find("tea").norm() == Approx(std::sqrt(0.01 + 0.04 + 9.0)));
    double const exact = (0.02 + 0.02 + 7.5) / std::sqrt(0.01 + 0.04 + 9.0) / std::sqrt(0.04 + 0.01 + 6.25);
    CHECK(std::abs(built->similarity("tea", "coffee") - exact) < 5e-3); // int8
    CHECK(built->similarity("zero", "tea") == 0.0f);

    auto const path = test_dir() / "built.pvec";
    REQUIRE(built->save(path));
    auto const loaded = word_vectors::load(path);
    REQUIRE(loaded);
    CHECK_FALSE(*loaded == *built); // another table, same contents
    REQUIRE(loaded->size() == built->size());
    for (std::size_t i = 0; i < loaded->size(); ++i) {
        CHECK(loaded->word(i) == built->word(i));
        CHECK(loaded->at(i).rank() == built->at(i).rank());
        CHECK(loaded->at(i).norm() == built->at(i).norm());
        for (std::size_t j = 0; j < 3; ++j) CHECK(loaded->at(i)[j] == built->at(i)[j]);
    }
    // The library writes exactly what the hand encoder writes for the same table.
    auto const hand = encode({{"a", 1, 2.0f, {0, 127, 0, 0}}, {"b", 0, 1.0f, {127, 0, 0, 0}}});
    auto const from_hand = word_vectors::load(write_file("hand.pvec", hand)).value();
    REQUIRE(from_hand.save(test_dir() / "hand-again.pvec"));
    std::ifstream again(test_dir() / "hand-again.pvec", std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(again), {}) == hand);
}

TEST_CASE("word_vectors: build refuses bad input") {
    auto const code = [](std::size_t dim, std::vector<word_vector_entry> const& e) {
        auto r = word_vectors::build(dim, e);
        return r ? errc{} : r.error().code;
    };
    CHECK(code(0, {}) == errc::invalid_request);
    CHECK(code(2, {{"a", {1, 2, 3}}}) == errc::invalid_request);
    CHECK(code(2, {{"a", {1, 2}}, {"a", {2, 1}}}) == errc::invalid_request);
    CHECK(code(2, {{"", {1, 2}}}) == errc::invalid_request);
    CHECK(code(2, {{"a", {1, std::nanf("")}}}) == errc::invalid_request);
    CHECK(code(2, {{"a", {1, INFINITY}}}) == errc::invalid_request);
    auto const empty = word_vectors::build(2, {});
    REQUIRE(empty);
    CHECK(empty->empty());
    CHECK_FALSE(empty->find("a"));
    CHECK(word_vectors().dimension() == 0);
    CHECK_FALSE(word_vectors().find("a"));
}

TEST_CASE("word_vectors: bad files are clean errors") {
    std::string const good = encode(tiny_words);
    SECTION("missing") {
        auto r = word_vectors::load(test_dir() / "no-such-file.pvec");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::not_found);
        CHECK(r.error().message.find("does not exist") != std::string::npos);
    }
    SECTION("a directory") {
        auto r = word_vectors::load(test_dir());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal_error);
    }
    SECTION("empty") { CHECK(load_error("empty.pvec", "").code == errc::internal_error); }
    SECTION("wrong magic") {
        std::string bad = good;
        bad[1] = 'X';
        auto const e = load_error("magic.pvec", bad);
        CHECK(e.code == errc::internal_error);
        CHECK(e.message.find("not a persona word vector file") != std::string::npos);
        CHECK(load_error("text.pvec", "coffee 0.1 0.2 0.3\ntea 0.3 0.2 0.1\n").code == errc::internal_error);
    }
    SECTION("truncated anywhere") {
        for (std::size_t n : {std::size_t(4), std::size_t(63), std::size_t(64), std::size_t(100), good.size() - 1}) {
            INFO("first " << n << " bytes");
            auto const e = load_error("truncated.pvec", good.substr(0, n));
            CHECK(e.code == errc::internal_error);
            CHECK(e.message.find("truncated") != std::string::npos);
        }
    }
    SECTION("trailing bytes") {
        CHECK(load_error("trailing.pvec", good + "x").message.find("after its end") != std::string::npos);
    }
    SECTION("a flipped byte fails the checksum") {
        std::string bad = good;
        bad[good.size() - 7] ^= 0x20; // "walnuts" becomes "Walnuts", now before "the"
        auto const e = load_error("flipped.pvec", bad);
        CHECK(e.code == errc::internal_error);
        CHECK(e.message.find("checksum") != std::string::npos);
        // Unchecked, it still fails cleanly: the words are no longer sorted.
        CHECK(load_error("flipped.pvec", bad, {.verify_checksum = false}).message.find("sorted") != std::string::npos);
    }
    SECTION("another version") {
        auto const e = load_error("version.pvec", encode(tiny_words, 2));
        CHECK(e.code == errc::invalid_request);
        CHECK(e.message.find("version 2") != std::string::npos);
    }
    SECTION("another encoding") {
        std::string bad = good;
        bad[20] = 2;
        CHECK(load_error("encoding.pvec", bad).code == errc::invalid_request);
    }
    SECTION("a header claiming billions of words allocates nothing") {
        std::string bad = good;
        for (int i : {16, 17, 18}) bad[static_cast<std::size_t>(i)] = '\xff';
        CHECK(load_error("huge.pvec", bad).message.find("malformed header") != std::string::npos);
        bad = good;
        bad[12] = 0; // dimension 0
        CHECK(load_error("dim0.pvec", bad).message.find("malformed header") != std::string::npos);
        bad = good;
        bad[50] = 1; // reserved bytes are zero in version 1 (and outside the checksum)
        CHECK(load_error("reserved.pvec", bad).message.find("malformed header") != std::string::npos);
    }
    SECTION("well-formed bytes with bad content: checksum right, tables wrong") {
        auto unsorted = tiny_words;
        std::swap(unsorted[0], unsorted[1]);
        CHECK(load_error("unsorted.pvec", encode(unsorted)).message.find("not sorted or not unique") !=
              std::string::npos);
        auto dup = tiny_words;
        dup[1].word = dup[0].word;
        CHECK(load_error("dup.pvec", encode(dup)).message.find("not sorted or not unique") != std::string::npos);
        auto nan_norm = tiny_words;
        nan_norm[3].norm = std::nanf("");
        CHECK(load_error("nan.pvec", encode(nan_norm)).message.find("non-finite") != std::string::npos);
    }
}

TEST_CASE("word_vector_embedder passes the embedder kit") {
    word_vector_embedder const e(tiny());
    auto const rep = testing::check_embedder(e);
    INFO(rep.to_string());
    CHECK(rep.ok());
    word_vector_embedder const plain(tiny(), {.sif_a = 0, .remove_common_direction = false});
    auto const rep2 = testing::check_embedder(plain);
    INFO(rep2.to_string());
    CHECK(rep2.ok());
}

TEST_CASE("word_vector_embedder: the normalised mean of the known words") {
    word_vector_embedder const plain(tiny(), {.sif_a = 0, .remove_common_direction = false});
    CHECK(plain.dimension() == 4);
    // Unit directions summed, then normalised; case, stop words and punctuation do not count.
    auto const u1 = unit({10, 0, 120, 0}), u2 = unit({10, 0, 110, 20});
    std::vector<float> sum{u1[0] + u2[0], u1[1] + u2[1], u1[2] + u2[2], u1[3] + u2[3]};
    check_close(embed_one(plain, "Coffee, and the TEA!"), unit({sum[0], sum[1], sum[2], sum[3]}));
    check_close(embed_one(plain, "coffee"), u1);
    check_close(embed_one(plain, "coffee coffee"), u1);
    check_close(embed_one(plain, "The coffee's taste"), u1); // possessive and unknown "taste"
    // An unknown word falls back to its stem: "meeting" → "meet".
    check_close(embed_one(plain, "meeting"), embed_one(plain, "meet"));
    word_vector_embedder const no_stem(tiny(), {.sif_a = 0, .stem_fallback = false, .remove_common_direction = false});
    check_close(embed_one(no_stem, "meeting"), std::vector<float>(4, 0.0f));
    // Stop words kept on request ("the" is in the table).
    word_vector_embedder const keep(tiny(), {.sif_a = 0, .remove_stop_words = false, .remove_common_direction = false});
    CHECK(dot(embed_one(keep, "the coffee"), embed_one(plain, "coffee")) < 0.99);
}

TEST_CASE("word_vector_embedder: SIF weights favour rare words") {
    word_vector_embedder const sif(tiny(), {.remove_stop_words = false, .remove_common_direction = false});
    word_vector_embedder const plain(tiny(), {.sif_a = 0, .remove_stop_words = false, .remove_common_direction = false});
    auto const the = tiny().find("the"), walnuts = tiny().find("walnuts");
    CHECK(sif.weight(the) < sif.weight(walnuts));
    CHECK(plain.weight(the) == 1.0);
    auto const banana = embed_one(plain, "banana");
    // "the" (rank 0) pulls the mean less with SIF than without.
    CHECK(dot(embed_one(sif, "the banana"), banana) > dot(embed_one(plain, "the banana"), banana));
}

TEST_CASE("word_vectors: the common direction is the Zipf-weighted mean direction, shared by handles") {
    auto const v = tiny();
    auto const c = v.common_direction();
    REQUIRE(c.size() == 4);
    std::array<double, 4> expected{};
    for (auto const& w : tiny_words) {
        auto const u = unit({double(w.codes[0]), double(w.codes[1]), double(w.codes[2]), double(w.codes[3])});
        for (std::size_t j = 0; j < 4; ++j) expected[j] += u[j] / (w.rank + 1.0);
    }
    check_close(std::vector<float>(c.begin(), c.end()), unit(expected), 1e-5);
    word_vectors const copy = v;
    CHECK(copy.common_direction().data() == c.data()); // computed once per table
    CHECK(word_vectors().common_direction().empty());
}

TEST_CASE("word_vector_embedder: removing the common direction") {
    auto const v = tiny();
    word_vector_embedder const e(v);
    word_vector_embedder const kept(v, {.remove_common_direction = false});
    CHECK(e.get_common_direction().data() == v.common_direction().data());
    CHECK(kept.get_common_direction().empty());
    auto const c = v.common_direction();
    std::vector<float> const common(c.begin(), c.end());
    for (std::string_view text : {"coffee", "banana bread", "meetings in the afternoon", "a flight"}) {
        INFO(text);
        auto const row = embed_one(e, text);
        CHECK(std::abs(dot(row, common)) < 1e-6); // orthogonal to it
        CHECK(dot(row, row) == Approx(1.0));
        // What is left is the rest of the mean: the same row as without removal, minus its projection.
        auto r = embed_one(kept, text);
        double const along = dot(r, common);
        for (std::size_t j = 0; j < 4; ++j) r[j] -= static_cast<float>(along * common[j]);
        double const n = std::sqrt(dot(r, r));
        for (auto& x : r) x = static_cast<float>(x / n);
        check_close(row, r, 1e-5);
    }
}

TEST_CASE("word_vector_embedder: texts without known words give zero rows") {
    word_vector_embedder const e(tiny());
    std::vector<std::string_view> texts{"", "the and of", "xylophone quartz", "!!! ???", "a b c", "coffee"};
    std::vector<float> out(texts.size() * 4, 42.0f);
    REQUIRE(e.embed(texts, out));
    for (std::size_t i = 0; i + 1 < texts.size(); ++i) {
        INFO(texts[i]);
        for (std::size_t j = 0; j < 4; ++j) CHECK(out[i * 4 + j] == 0.0f);
    }
    double n = 0;
    for (std::size_t j = 20; j < 24; ++j) n += double(out[j]) * out[j];
    CHECK(n == Approx(1.0));
    std::vector<float> small(5 * 4);
    auto const too_small = e.embed(texts, small);
    REQUIRE_FALSE(too_small);
    CHECK(too_small.error().code == errc::invalid_request);
}

TEST_CASE("word_vector_embedder: copies share one table; construction needs vectors") {
    auto const v = tiny();
    word_vector_embedder const a(v);
    word_vector_embedder const b = a; // NOLINT: a copy is the point
    CHECK(a.get_vectors() == b.get_vectors());
    CHECK(a.get_vectors() == v);
    CHECK_THROWS_AS(word_vector_embedder(word_vectors{}), std::invalid_argument);
    auto const missing = word_vector_embedder::load(test_dir() / "no-such-file.pvec");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == errc::not_found);
    auto const loaded = word_vector_embedder::load(test_dir() / "tiny.pvec");
    REQUIRE(loaded);
    CHECK(loaded->dimension() == 4);
}

TEST_CASE("word_vector_embedder: concurrent embeds give identical rows") {
    word_vector_embedder const e(tiny());
    std::vector<std::string_view> const texts{"coffee or tea in the afternoon", "banana bread recipe",
                                              "an airplane flight", "meetings at 2 pm"};
    std::vector<float> expected(texts.size() * 4);
    REQUIRE(e.embed(texts, expected));
    std::vector<std::vector<float>> got(4, std::vector<float>(texts.size() * 4));
    std::vector<std::thread> threads;
    for (auto& g : got)
        threads.emplace_back([&] {
            for (int r = 0; r < 200; ++r) (void)e.embed(texts, g);
        });
    for (auto& t : threads) t.join();
    for (auto const& g : got) CHECK(g == expected);
}

TEST_CASE("word_vector_embedder composes an engine") {
    using wv_engine = engine<memory_store, word_vector_embedder, flat_retriever, extractive_answerer>;
    static_assert(personalization_api<wv_engine>);
    wv_engine e(memory_store{}, word_vector_embedder(tiny()));
    REQUIRE(e.register_user({.user_id = "u1"}));
    ingest_request in;
    in.user_id = "u1";
    auto const at = std::chrono::sys_days{std::chrono::year{2025} / 10 / 10};
    in.events.push_back({"e1", "note", at, "Bought a bag of tea for the office.", {}});
    in.events.push_back({"e2", "note", at, "Booked an airplane seat.", {}});
    REQUIRE(e.ingest(in));
    chunks_request c;
    c.user_id = "u1";
    c.conversation.push_back({"user", "coffee"}); // no shared word: only the vectors can tell
    auto const hits = e.chunks(c);
    REQUIRE(hits);
    REQUIRE_FALSE(hits->results.empty());
    CHECK(hits->results.front().chunk_id.starts_with("e1"));
}

// The real vectors (scripts/word-vectors.sh): found through PERSONA_WORD_VECTORS, else at
// the build's default path; when absent these tests pass with a warning, as the vectors
// are optional.
namespace {
std::optional<word_vectors> real_vectors() {
    std::filesystem::path path;
    if (char const* env = std::getenv("PERSONA_WORD_VECTORS"); env && *env) {
        path = env;
    } else {
#ifdef PERSONA_TEST_WORD_VECTORS_DEFAULT
        path = PERSONA_TEST_WORD_VECTORS_DEFAULT;
#endif
    }
    if (path.empty() || !std::filesystem::exists(path)) {
        WARN("real word vector tests skipped: no file at '"
             << path.string() << "' (run scripts/word-vectors.sh, or set PERSONA_WORD_VECTORS)");
        return std::nullopt;
    }
    static std::optional<word_vectors> cached;
    static std::filesystem::path cached_path;
    if (!cached || cached_path != path) {
        auto v = word_vectors::load(path);
        INFO("loading " << path.string());
        REQUIRE(v); // present but unreadable is a failure, not a skip
        cached = std::move(*v);
        cached_path = path;
    }
    return cached;
}
} // namespace

TEST_CASE("real word vectors: related words are closer than unrelated ones") {
    auto const v = real_vectors();
    if (!v) return;
    CHECK(v->dimension() == 100);
    CHECK(v->size() > 10000); // --max-words makes smaller files
    CHECK(v->similarity("coffee", "tea") > v->similarity("coffee", "airplane"));
    CHECK(v->similarity("hiking", "trekking") > v->similarity("hiking", "spreadsheet"));
    CHECK(v->similarity("dog", "puppy") > 0.5);
    CHECK(v->similarity("king", "queen") > 0.5);
    auto const near = v->nearest("coffee", 10);
    CHECK(std::ranges::any_of(near, [](word_neighbor const& n) { return n.word == "tea"; }));
}

TEST_CASE("real word vectors: paraphrases embed closer than unrelated sentences") {
    auto const v = real_vectors();
    if (!v) return;
    word_vector_embedder const e(*v);
    auto const rep = testing::check_embedder(e);
    INFO(rep.to_string());
    CHECK(rep.ok());
    auto const cos = [&](std::string_view a, std::string_view b) { return dot(embed_one(e, a), embed_one(e, b)); };
    CHECK(cos("I love hiking in the mountains", "She enjoys trekking on alpine trails") >
          cos("I love hiking in the mountains", "The quarterly budget report is due on Friday"));
    CHECK(cos("My dog is a golden retriever puppy", "We adopted a young labrador") >
          cos("My dog is a golden retriever puppy", "The stock market fell sharply today"));
    CHECK(cos("She plays the violin in an orchestra", "He is a cellist in a symphony") >
          cos("She plays the violin in an orchestra", "They repaired the roof of the garage"));
}
