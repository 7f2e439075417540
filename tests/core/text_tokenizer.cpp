#include <persona/text/tokenizer.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace persona::text;
using strings = std::vector<std::string>;

namespace {

strings words(std::string_view s) {
    strings out;
    tokenize_words(s, out);
    return out;
}

} // namespace

TEST_CASE("tokenize splits on non-word characters and folds case", "[text][tokenizer]") {
    CHECK(words("").empty());
    CHECK(words("  \t\n ,.;!  ").empty());
    CHECK(words("Hello, World!") == strings{"hello", "world"});
    CHECK(words("one  two\tthree\nfour") == strings{"one", "two", "three", "four"});
    CHECK(words("snake_case") == strings{"snake", "case"});
    CHECK(words("a@b.com") == strings{"a", "b", "com"});
}

TEST_CASE("tokenize reports byte offsets into the input", "[text][tokenizer]") {
    const std::string text = "  Caf\xC3\xA9 au-lait!";
    const auto toks = tokenize(text);
    REQUIRE(toks.size() == 3);
    CHECK(toks[0].text == "cafe");
    CHECK(toks[0].offset == 2);
    CHECK(toks[0].length == 5);
    CHECK(text.substr(toks[0].offset, toks[0].length) == "Caf\xC3\xA9");
    CHECK(toks[1].text == "au");
    CHECK(toks[1].offset == 8);
    CHECK(toks[2].text == "lait");
    CHECK(text.substr(toks[2].offset, toks[2].length) == "lait");
}

TEST_CASE("tokenize strips accents so accented and plain spellings match", "[text][tokenizer]") {
    CHECK(words("Caf\xC3\xA9") == strings{"cafe"});
    CHECK(words("CAF\xC3\x89") == strings{"cafe"});
    CHECK(words("cafe\xCC\x81 na\xC3\xAFve") == strings{"cafe", "naive"}); // decomposed é
    CHECK(words("Jalape\xC3\xB1o") == strings{"jalapeno"});
    CHECK(words("Stra\xC3\x9F" "e") == strings{"strasse"});
    CHECK(words("\xC5\x92uvre") == strings{"oeuvre"});
    CHECK(words("\xC5\x81\xC3\xB3\x64\xC5\xBA") == strings{"lodz"}); // Łódź
}

TEST_CASE("tokenize keeps apostrophes only before a letter", "[text][tokenizer]") {
    CHECK(words("Caroline's dog") == strings{"caroline's", "dog"});
    CHECK(words("Caroline\xE2\x80\x99s dog") == strings{"caroline's", "dog"}); // U+2019
    CHECK(words("don't") == strings{"don't"});
    CHECK(words("the students' books") == strings{"the", "students", "books"});
    CHECK(words("'quoted'") == strings{"quoted"});
    CHECK(words("rock'n'roll") == strings{"rock'n'roll"});
    CHECK(words("it's 'x") == strings{"it's", "x"});
    CHECK(words("abc'1") == strings{"abc", "1"});
}

TEST_CASE("tokenize keeps numbers, times and alphanumerics together", "[text][tokenizer]") {
    CHECK(words("meet at 2pm") == strings{"meet", "at", "2pm"});
    CHECK(words("rated 3.5 stars") == strings{"rated", "3.5", "stars"});
    CHECK(words("at 9:30, then") == strings{"at", "9:30", "then"});
    CHECK(words("v2.0") == strings{"v2.0"});
    CHECK(words("ends in 5.") == strings{"ends", "in", "5"});
    CHECK(words("note: 5") == strings{"note", "5"});
    CHECK(words("end.Next") == strings{"end", "next"});
    CHECK(words("1,000") == strings{"1", "000"});
}

TEST_CASE("tokenize splits hyphenated words", "[text][tokenizer]") {
    CHECK(words("stand-up meeting") == strings{"stand", "up", "meeting"});
    CHECK(words("2024-05-01") == strings{"2024", "05", "01"});
    CHECK(words("well\xE2\x80\x94known") == strings{"well", "known"}); // em dash
}

TEST_CASE("tokenize treats invalid UTF-8 bytes as separators", "[text][tokenizer]") {
    CHECK(words("abc\xFF" "def") == strings{"abc", "def"});
    CHECK(words("\xC3") == strings{});
    CHECK(words("caf\xC3") == strings{"caf"});
    const std::string text = "ab\x80\x80" "cd";
    const auto toks = tokenize(text);
    REQUIRE(toks.size() == 2);
    CHECK(toks[1].offset == 4);
    CHECK(toks[1].length == 2);
}

TEST_CASE("tokenize makes each CJK character a token", "[text][tokenizer]") {
    const std::string text = "\xE6\x9D\xB1\xE4\xBA\xAC tower\xE3\x81\x82";
    const auto toks = tokenize(text);
    REQUIRE(toks.size() == 4);
    CHECK(toks[0].text == "\xE6\x9D\xB1"); // 東
    CHECK(toks[0].offset == 0);
    CHECK(toks[0].length == 3);
    CHECK(toks[1].text == "\xE4\xBA\xAC"); // 京
    CHECK(toks[1].offset == 3);
    CHECK(toks[2].text == "tower");
    CHECK(toks[3].text == "\xE3\x81\x82"); // あ
    CHECK(toks[3].offset == 12);
    // Hangul words are space-separated and stay whole.
    CHECK(words("\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 ok") ==
          strings{"\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4", "ok"});
}

TEST_CASE("tokenize folds Greek and Cyrillic", "[text][tokenizer]") {
    CHECK(words("\xCE\x9B\xCF\x8C\xCE\xB3\xCE\xBF\xCF\x82") ==
          strings{"\xCE\xBB\xCF\x8C\xCE\xB3\xCE\xBF\xCF\x83"}); // Λόγος -> λόγοσ
    CHECK(words("\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0") ==
          strings{"\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"}); // Москва
}

TEST_CASE("tokenize_words appends to the output", "[text][tokenizer]") {
    strings out{"existing"};
    tokenize_words("new words", out);
    CHECK(out == strings{"existing", "new", "words"});
}
