#include <persona/text/chunker.hpp>

#include <catch2/catch.hpp>

#include <persona/text/utf8.hpp>

#include <string>
#include <string_view>
#include <vector>

using namespace persona::text;
using views = std::vector<std::string_view>;

namespace {

bool inside(std::string_view outer, std::string_view inner) {
    return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

// Checks the invariants every chunking result must satisfy.
void check_chunks(std::string_view text, const views& chunks, std::size_t max) {
    std::size_t last_end = 0;
    for (auto c : chunks) {
        INFO("chunk: [" << c << "]");
        CHECK_FALSE(c.empty());
        CHECK(inside(text, c));
        CHECK(c.size() <= max);
        CHECK(is_space(decode_one(c, 0).cp) == false);
        CHECK(is_valid_utf8(c));
        const auto begin = static_cast<std::size_t>(c.data() - text.data());
        CHECK(begin >= last_end); // in order, not overlapping
        last_end = begin + c.size();
    }
}

// The non-space bytes of `s`, to check that chunking loses no content.
std::string content(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
            out.push_back(c);
    return out;
}

std::string joined_content(const views& chunks) {
    std::string out;
    for (auto c : chunks)
        out += content(c);
    return out;
}

} // namespace

TEST_CASE("split_paragraphs separates on blank lines", "[text][chunker]") {
    CHECK(split_paragraphs("").empty());
    CHECK(split_paragraphs(" \n \t\n").empty());
    CHECK(split_paragraphs("  one paragraph  ") == views{"one paragraph"});
    const std::string text = "First para\nstill first.\n\n  \n\t\nSecond para.\r\n\r\nThird";
    const auto p = split_paragraphs(text);
    CHECK(p == views{"First para\nstill first.", "Second para.", "Third"});
    check_chunks(text, p, 1200);
}

TEST_CASE("split_paragraphs windows long paragraphs at sentences", "[text][chunker]") {
    std::string text;
    for (int i = 0; i < 30; ++i)
        text += "Sentence number " + std::to_string(i) + " is here. ";
    text += "\n\nShort tail.";
    const auto p = split_paragraphs(text, 100);
    check_chunks(text, p, 100);
    REQUIRE(p.size() > 2);
    CHECK(p.back() == "Short tail.");
    for (std::size_t i = 0; i + 1 < p.size(); ++i) {
        INFO(p[i]);
        CHECK(p[i].back() == '.'); // windows end at sentence boundaries
        CHECK(p[i].substr(0, 9) == "Sentence ");
    }
    CHECK(joined_content(p) == content(text));
}

TEST_CASE("split_paragraphs cuts an over-long sentence at white space", "[text][chunker]") {
    std::string text;
    for (int i = 0; i < 50; ++i)
        text += "word" + std::to_string(i) + " ";
    const auto p = split_paragraphs(text, 40);
    check_chunks(text, p, 40);
    CHECK(p.size() > 5);
    for (auto c : p) {
        CHECK(c.substr(0, 4) == "word"); // never cut inside a word
        CHECK(c.back() != ' ');
    }
    CHECK(joined_content(p) == content(text));
}

TEST_CASE("split_paragraphs never cuts inside a UTF-8 sequence", "[text][chunker]") {
    std::string text;
    for (int i = 0; i < 100; ++i)
        text += "\xC3\xA9\xE2\x82\xAC"; // é€ with no white space at all
    for (std::size_t max : {7U, 10U, 33U, 64U}) {
        const auto p = split_paragraphs(text, max);
        check_chunks(text, p, max);
        CHECK(joined_content(p) == content(text));
    }
    // A window smaller than one code point still makes progress.
    const auto tiny = split_paragraphs("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 2);
    CHECK(tiny == views{"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"});
}

TEST_CASE("split_paragraphs with no limit", "[text][chunker]") {
    const std::string text(5000, 'x');
    CHECK(split_paragraphs(text, 0) == views{text});
}

TEST_CASE("split_segments keeps short events whole", "[text][chunker]") {
    CHECK(split_segments("").empty());
    CHECK(split_segments("  \n\n ").empty());
    const std::string text = "  Hi Bob,\n\nLunch at 12?\n\nCheers  ";
    CHECK(split_segments(text) == views{"Hi Bob,\n\nLunch at 12?\n\nCheers"});
}

TEST_CASE("split_segments packs paragraphs greedily", "[text][chunker]") {
    std::string text;
    for (int i = 0; i < 20; ++i)
        text += "Paragraph " + std::to_string(i) + " has a few words.\n\n";
    const auto s = split_segments(text, 120);
    check_chunks(text, s, 120);
    REQUIRE(s.size() > 1);
    // Greedy packing: each segment but the last could not take the next paragraph.
    const auto paragraphs = split_paragraphs(text, 120);
    CHECK(s.size() < paragraphs.size());
    for (std::size_t i = 0; i + 1 < s.size(); ++i)
        CHECK(s[i].size() + 2 + 30 > 120);
    CHECK(joined_content(s) == content(text));
}

TEST_CASE("split_segments splits a long single paragraph", "[text][chunker]") {
    std::string text;
    for (int i = 0; i < 40; ++i)
        text += "This is sentence " + std::to_string(i) + ". ";
    const auto s = split_segments(text, 200);
    check_chunks(text, s, 200);
    CHECK(s.size() >= 4);
    CHECK(joined_content(s) == content(text));
}
