#include <persona/text/utf8.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace persona::text;
using namespace std::string_literals;

TEST_CASE("is_valid_utf8 accepts well-formed text", "[text][utf8]") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii text that is longer than eight bytes"));
    CHECK(is_valid_utf8("caf\xC3\xA9"));                 // é
    CHECK(is_valid_utf8("\xE2\x82\xAC"));                // €
    CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));            // 😀
    CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));            // U+10FFFF
    CHECK(is_valid_utf8("\xED\x9F\xBF"));                // U+D7FF, just below surrogates
    CHECK(is_valid_utf8("\xEE\x80\x80"));                // U+E000, just above
    CHECK(is_valid_utf8("\0embedded nul"s));
}

TEST_CASE("is_valid_utf8 rejects malformed text", "[text][utf8]") {
    CHECK_FALSE(is_valid_utf8("\x80"));                  // stray continuation
    CHECK_FALSE(is_valid_utf8("abc\xC3"));               // truncated 2-byte
    CHECK_FALSE(is_valid_utf8("\xE2\x82"));              // truncated 3-byte
    CHECK_FALSE(is_valid_utf8("\xF0\x9F\x98"));          // truncated 4-byte
    CHECK_FALSE(is_valid_utf8("\xC0\xAF"));              // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xC1\xBF"));              // overlong
    CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));          // overlong 3-byte
    CHECK_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));      // overlong 4-byte
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));          // U+D800 surrogate
    CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));          // U+DFFF surrogate
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));      // U+110000
    CHECK_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
    CHECK_FALSE(is_valid_utf8("\xFF"));
    CHECK_FALSE(is_valid_utf8("\xC3\x28"));              // bad continuation
    CHECK_FALSE(is_valid_utf8("0123456789abcdef\xE2\x28\xA1"));
}

TEST_CASE("count_code_points counts characters, not bytes", "[text][utf8]") {
    CHECK(count_code_points("") == 0);
    CHECK(count_code_points("abc") == 3);
    CHECK(count_code_points("caf\xC3\xA9") == 4);
    CHECK(count_code_points("\xF0\x9F\x98\x80!") == 2);
    CHECK(count_code_points("\xE6\x9D\xB1\xE4\xBA\xAC") == 2); // 東京
}

TEST_CASE("decode_one decodes and resynchronizes", "[text][utf8]") {
    const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xFF";
    auto d = decode_one(s, 0);
    CHECK(d.cp == U'a');
    CHECK(d.length == 1);
    d = decode_one(s, 1);
    CHECK(d.cp == U'\u00E9');
    CHECK(d.length == 2);
    d = decode_one(s, 3);
    CHECK(d.cp == U'\u20AC');
    CHECK(d.length == 3);
    d = decode_one(s, 6);
    CHECK(d.cp == U'\U0001F600');
    CHECK(d.length == 4);
    d = decode_one(s, 10);
    CHECK(d.cp == replacement_character);
    CHECK(d.length == 1);
    d = decode_one(s, 2); // middle of é
    CHECK(d.cp == replacement_character);
    CHECK(d.length == 1);
    d = decode_one(s, s.size());
    CHECK(d.length == 0);
    // A truncated sequence consumes only its lead byte.
    d = decode_one("\xE2\x82" "a", 0);
    CHECK(d.cp == replacement_character);
    CHECK(d.length == 1);
    // Surrogates are invalid.
    CHECK(decode_one("\xED\xA0\x80", 0).cp == replacement_character);
}

TEST_CASE("append_utf8 encodes every length and replaces the unencodable", "[text][utf8]") {
    std::string out;
    append_utf8(out, U'a');
    append_utf8(out, U'\u00E9');
    append_utf8(out, U'\u20AC');
    append_utf8(out, U'\U0001F600');
    CHECK(out == "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    out.clear();
    append_utf8(out, 0xD800);
    append_utf8(out, 0x110000);
    CHECK(out == "\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(is_valid_utf8(out));

    // Round trip over sample code points.
    for (char32_t cp : {U'\0', U'\x7F', U'\x80', U'\u07FF', U'\u0800', U'\uFFFF',
                        U'\U00010000', U'\U0010FFFF'}) {
        std::string e;
        append_utf8(e, cp);
        const auto d = decode_one(e, 0);
        CHECK(d.cp == cp);
        CHECK(d.length == e.size());
    }
}

TEST_CASE("is_space", "[text][utf8]") {
    CHECK(is_space(U' '));
    CHECK(is_space(U'\n'));
    CHECK(is_space(U'\t'));
    CHECK(is_space(U'\u00A0'));
    CHECK(is_space(U'\u3000'));
    CHECK_FALSE(is_space(U'a'));
    CHECK_FALSE(is_space(U'\u200B')); // zero-width space is not White_Space
}

TEST_CASE("truncate_at_word leaves short text unchanged", "[text][utf8]") {
    CHECK(truncate_at_word("", 5).empty());
    CHECK(truncate_at_word("hello", 5) == "hello");
    CHECK(truncate_at_word("caf\xC3\xA9", 4) == "caf\xC3\xA9");
    CHECK(truncate_at_word("hello world, ", 100) == "hello world, ");
}

TEST_CASE("truncate_at_word cuts between words", "[text][utf8]") {
    CHECK(truncate_at_word("hello world again", 14) == "hello world");
    CHECK(truncate_at_word("hello world again", 11) == "hello world"); // limit on a boundary
    CHECK(truncate_at_word("hello world again", 12) == "hello world");
    CHECK(truncate_at_word("hello world again", 10) == "hello");
    CHECK(truncate_at_word("one, two; three", 12) == "one, two");
    CHECK(truncate_at_word("one, two; three", 9) == "one, two");
    CHECK(truncate_at_word("we met at 9: then left", 14) == "we met at 9");
    CHECK(truncate_at_word("alpha - beta", 9) == "alpha");
}

TEST_CASE("truncate_at_word hard-cuts a single long word at a code point", "[text][utf8]") {
    CHECK(truncate_at_word("supercalifragilistic", 5) == "super");
    // "ééééé": each é is two bytes; the cut never splits one.
    const std::string e5 = "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
    CHECK(truncate_at_word(e5, 3) == "\xC3\xA9\xC3\xA9\xC3\xA9");
    const std::string emoji = "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80";
    const auto r = truncate_at_word(emoji, 2);
    CHECK(r == "\xF0\x9F\x98\x80\xF0\x9F\x98\x80");
    CHECK(is_valid_utf8(r));
    CHECK(truncate_at_word("  longwordhere", 5) == "  lon");
}

TEST_CASE("truncate_at_word never exceeds the limit", "[text][utf8]") {
    const std::string text = "Caf\xC3\xA9 au lait, s'il vous pla\xC3\xAEt \xE2\x80\x94 "
                             "\xE6\x9D\xB1\xE4\xBA\xAC tower \xF0\x9F\x98\x80 done.";
    for (std::size_t max = 0; max <= count_code_points(text) + 1; ++max) {
        const std::string r = truncate_at_word(text, max);
        INFO("max = " << max << ", result = " << r);
        CHECK(count_code_points(r) <= max);
        CHECK(is_valid_utf8(r));
        CHECK(text.compare(0, r.size(), r) == 0); // a prefix of the input
    }
    CHECK(truncate_at_word(text, 0).empty());
}
