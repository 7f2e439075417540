#include <persona/text/sentences.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

using namespace persona::text;
using views = std::vector<std::string_view>;

namespace {

bool inside(std::string_view outer, std::string_view inner) {
    return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

} // namespace

TEST_CASE("split_sentences on terminal punctuation", "[text][sentences]") {
    CHECK(split_sentences("").empty());
    CHECK(split_sentences("   \n\n  ").empty());
    CHECK(split_sentences("Hello world") == views{"Hello world"});
    CHECK(split_sentences("Hello world. How are you? Fine!") ==
          views{"Hello world.", "How are you?", "Fine!"});
    CHECK(split_sentences("  Leading and trailing.   ") == views{"Leading and trailing."});
    CHECK(split_sentences("Really?! Yes...  Well\xE2\x80\xA6 ok") ==
          views{"Really?!", "Yes...", "Well\xE2\x80\xA6", "ok"});
}

TEST_CASE("split_sentences keeps closing quotes and brackets", "[text][sentences]") {
    CHECK(split_sentences("He said \"stop.\" Then he left.") ==
          views{"He said \"stop.\"", "Then he left."});
    CHECK(split_sentences("(This is an aside.) Next one.") ==
          views{"(This is an aside.)", "Next one."});
}

TEST_CASE("split_sentences requires white space after the punctuation", "[text][sentences]") {
    CHECK(split_sentences("Visit example.com today. Version 3.5 is out.") ==
          views{"Visit example.com today.", "Version 3.5 is out."});
    CHECK(split_sentences("It costs $3.50.Then") == views{"It costs $3.50.Then"});
}

TEST_CASE("split_sentences does not split after abbreviations", "[text][sentences]") {
    CHECK(split_sentences("Mr. Smith met Dr. Jones at St. Mary's. They talked.") ==
          views{"Mr. Smith met Dr. Jones at St. Mary's.", "They talked."});
    CHECK(split_sentences("Bring fruit, e.g. apples, i.e. red ones. Done.") ==
          views{"Bring fruit, e.g. apples, i.e. red ones.", "Done."});
    CHECK(split_sentences("We meet at 2 p.m. tomorrow. OK.") ==
          views{"We meet at 2 p.m. tomorrow.", "OK."});
    CHECK(split_sentences("She moved to the U.S. last year.") ==
          views{"She moved to the U.S. last year."});
    CHECK(split_sentences("Cats vs. dogs, pens etc. are fine. Prof. X agrees.") ==
          views{"Cats vs. dogs, pens etc. are fine.", "Prof. X agrees."});
    // Only whole words are abbreviations: "Kasr." is not "Sr.".
    CHECK(split_sentences("I saw Kasr. Then left.") == views{"I saw Kasr.", "Then left."});
}

TEST_CASE("split_sentences ends a sentence at every line break", "[text][sentences]") {
    CHECK(split_sentences("first line\nsecond line\r\n\r\nthird") ==
          views{"first line", "second line", "third"});
    CHECK(split_sentences("- item one\n- item two") == views{"- item one", "- item two"});
}

TEST_CASE("split_sentences handles CJK full stops", "[text][sentences]") {
    const std::string text = "\xE4\xBB\x8A\xE6\x97\xA5\xE3\x80\x82\xE6\x98\x8E\xE6\x97\xA5\xEF\xBC\x81";
    CHECK(split_sentences(text) == views{"\xE4\xBB\x8A\xE6\x97\xA5\xE3\x80\x82",
                                         "\xE6\x98\x8E\xE6\x97\xA5\xEF\xBC\x81"});
}

TEST_CASE("split_sentences returns views into the input", "[text][sentences]") {
    const std::string text = "One. Two! \xC3\x89t\xC3\xA9 three?\n\nFour";
    const auto s = split_sentences(text);
    REQUIRE(s.size() == 4);
    for (auto v : s) {
        CHECK(inside(text, v));
        CHECK_FALSE(v.empty());
    }
    CHECK(s[2] == "\xC3\x89t\xC3\xA9 three?");
}

TEST_CASE("split_sentences tolerates invalid UTF-8", "[text][sentences]") {
    const std::string text = "Bad \xFF byte. Next \xC3";
    CHECK(split_sentences(text) == views{"Bad \xFF byte.", "Next \xC3"});
}
