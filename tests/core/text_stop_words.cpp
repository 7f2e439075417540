#include <persona/text/stop_words.hpp>

#include <catch2/catch.hpp>

#include <string_view>

using namespace persona::text;

TEST_CASE("is_stop_word recognises function words", "[text][stop_words]") {
    for (std::string_view w : {"a", "an", "the", "and", "or", "but", "of", "to", "in", "is",
                               "was", "were", "be", "been", "i", "me", "my", "you", "your",
                               "he", "she", "it", "we", "they", "them", "this", "that",
                               "with", "from", "about", "what", "which", "who", "how",
                               "don't", "i'm", "can't", "won't", "it's", "let's",
                               "yourselves", "would", "should", "not", "no"}) {
        INFO(w);
        CHECK(is_stop_word(w));
    }
}

TEST_CASE("is_stop_word keeps content-bearing words", "[text][stop_words]") {
    for (std::string_view w : {"time", "first", "last", "before", "after", "new", "like",
                               "prefer", "may", "coffee", "caroline", "meeting", "morning",
                               "us", "don", "won", "ll", "", "theirselves", "zzz"}) {
        INFO(w);
        CHECK_FALSE(is_stop_word(w));
    }
}

TEST_CASE("is_stop_word expects folded input", "[text][stop_words]") {
    CHECK_FALSE(is_stop_word("The"));
    CHECK_FALSE(is_stop_word("don\xE2\x80\x99t")); // the tokenizer normalizes U+2019
}

TEST_CASE("is_stop_word is usable at compile time", "[text][stop_words]") {
    static_assert(is_stop_word("the"));
    static_assert(!is_stop_word("prefer"));
    CHECK(detail::stop_word_list.size() >= 120);
}
