#include <persona/text/analyzer.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

using namespace persona::text;
using strings = std::vector<std::string>;

TEST_CASE("analyzer produces stemmed content terms", "[text][analyzer]") {
    const analyzer a;
    CHECK(a.terms("").empty());
    CHECK(a.terms("The meetings are scheduled for the mornings") ==
          strings{"meet", "schedul", "morn"});
    CHECK(a.terms("She prefers tea over coffee") == strings{"prefer", "tea", "coffe"});
}

TEST_CASE("analyzer drops the possessive", "[text][analyzer]") {
    const analyzer a;
    CHECK(a.terms("Caroline's birthday") == strings{"carolin", "birthday"});
    CHECK(a.terms("Caroline\xE2\x80\x99s") == a.terms("Caroline"));
    CHECK(a.terms("James's car") == strings{"jame", "car"});
    // "let's" is a stop word as a whole even though "let" is not.
    CHECK(a.terms("let's go") == strings{"go"});
    CHECK(a.terms("let go") == strings{"let", "go"});
}

TEST_CASE("analyzer removes stop words and contractions", "[text][analyzer]") {
    const analyzer a;
    CHECK(a.terms("I don't like it") == strings{"like"});
    CHECK(a.terms("What did I do before the first meeting?") ==
          strings{"befor", "first", "meet"});
    CHECK(a.terms("before after first last") == strings{"befor", "after", "first", "last"});
    CHECK(a.terms("the and of to") == strings{});
}

TEST_CASE("analyzer drops single letters but keeps single digits", "[text][analyzer]") {
    const analyzer a;
    CHECK(a.terms("plan B for the U.S. x 3 kids") == strings{"plan", "3", "kid"});
}

TEST_CASE("analyzer does not stem tokens with digits", "[text][analyzer]") {
    const analyzer a;
    CHECK(a.terms("meetings at 9:30 and 2pm, rated 3.5, b12s") ==
          strings{"meet", "9:30", "2pm", "rate", "3.5", "b12s"});
}

TEST_CASE("analyzer matches accented and plain spellings", "[text][analyzer]") {
    const analyzer a;
    CHECK(a.terms("Caf\xC3\xA9s") == a.terms("cafes"));
    CHECK(a.terms("NA\xC3\x8FVE") == strings{"naiv"});
}

TEST_CASE("analyzer keeps duplicates and order", "[text][analyzer]") {
    const analyzer a;
    CHECK(a.terms("dogs and cats and dogs") == strings{"dog", "cat", "dog"});
}

TEST_CASE("analyzer options", "[text][analyzer]") {
    const analyzer plain(analyzer::options{false, false});
    CHECK_FALSE(plain.get_options().stem);
    CHECK(plain.terms("The meetings") == strings{"the", "meetings"});
    const analyzer no_stem(analyzer::options{false, true});
    CHECK(no_stem.terms("The meetings") == strings{"meetings"});
    analyzer::options o;
    o.remove_stop_words = false;
    const analyzer stem_only(o);
    CHECK(stem_only.terms("The meetings") == strings{"the", "meet"});
}

TEST_CASE("analyzer appending variant", "[text][analyzer]") {
    const analyzer a;
    strings out{"x"};
    a.terms("running fast", out);
    a.terms("", out);
    a.terms("dogs", out);
    CHECK(out == strings{"x", "run", "fast", "dog"});
}

TEST_CASE("analyzer handles CJK and invalid UTF-8", "[text][analyzer]") {
    const analyzer a;
    CHECK(a.terms("\xE6\x9D\xB1\xE4\xBA\xAC tower") ==
          strings{"\xE6\x9D\xB1", "\xE4\xBA\xAC", "tower"});
    CHECK(a.terms("bad\xFF" "bytes") == strings{"bad", "byte"});
}

TEST_CASE("analyzer is safe to use from several threads", "[text][analyzer]") {
    const analyzer a;
    const strings expected = a.terms("Caroline's meetings were scheduled early");
    std::vector<int> ok(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            int good = 1;
            for (int i = 0; i < 200; ++i)
                good &= a.terms("Caroline's meetings were scheduled early") == expected;
            ok[static_cast<std::size_t>(t)] = good;
        });
    for (auto& th : threads)
        th.join();
    CHECK(ok == std::vector<int>(4, 1));
}

TEST_CASE("analyzer: the per-thread stem memo gives Porter2's stems, also after it fills up", "[text][analyzer]") {
    // More distinct words than the memo holds (16,384), twice over, so that it is cleared
    // and refilled; every stem must equal a fresh porter2_stem, the first time and from
    // the memo.
    const analyzer a;
    static constexpr const char* suffixes[] = {"ing", "ed", "ness", "ational", "ly", "s", "ies", "ful"};
    static constexpr const char* roots[] = {"connect", "relate", "happy", "generous", "run", "hope", "cry", "adjust"};
    std::size_t checked = 0;
    for (int pass = 0; pass < 2; ++pass)
        for (int i = 0; i < 20000; ++i) {
            // Letters only: a digit would skip stemming.
            std::string word = roots[i % 8];
            for (int n = i / 64; n > 0; n /= 26) word += static_cast<char>('a' + n % 26);
            word += suffixes[(i / 8) % 8];
            const auto terms = a.terms(word);
            REQUIRE(terms.size() == 1);
            if (terms[0] != porter2_stem(word))
                FAIL("'" << word << "' gave '" << terms[0] << "', Porter2 gives '" << porter2_stem(word) << "'");
            ++checked;
        }
    CHECK(checked == 40000);
}
