#ifndef PERSONA_TEXT_STOP_WORDS_HPP
#define PERSONA_TEXT_STOP_WORDS_HPP

/// @file
/// The English stop list used by the analyzer.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace persona::text {

namespace detail {

// Function words from the NLTK/SMART lists, plus whole contractions because
// the tokenizer keeps "don't" as one token. Words that carry meaning in
// questions about time, order or taste ("before", "after", "first", "last",
// "time", "new", "like", "prefer", and "may" the month) are deliberately
// absent, as are NLTK's contraction fragments ("don", "won", "ll") that only
// exist for tokenizers that split on apostrophes. "us" is absent because it
// is also how "US" folds.
//
// Sorted by byte value, so that the words sharing a first byte are together (see
// `stop_word_buckets`); a static_assert below keeps it that way.
inline constexpr std::array<std::string_view, 188> stop_word_list = {
    "a", "about", "above", "again", "against", "ain't", "all", "also", "am", "an", "and", "any",
    "are", "aren't", "as", "at", "be", "because", "been", "being", "below", "between", "both",
    "but", "by", "can", "can't", "cannot", "could", "could've", "couldn't", "did", "didn't",
    "do", "does", "doesn't", "doing", "don't", "down", "during", "each", "few", "for", "from",
    "further", "had", "hadn't", "has", "hasn't", "have", "haven't", "having", "he", "he'd",
    "he'll", "he's", "her", "here", "here's", "hers", "herself", "him", "himself", "his", "how",
    "how's", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "isn't", "it", "it'd",
    "it'll", "it's", "its", "itself", "just", "let's", "me", "might've", "mightn't", "more",
    "most", "must've", "mustn't", "my", "myself", "needn't", "no", "nor", "not", "now", "of",
    "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over",
    "own", "same", "shall", "shan't", "she", "she'd", "she'll", "she's", "should", "should've",
    "shouldn't", "so", "some", "such", "than", "that", "that'll", "that's", "the", "their",
    "theirs", "them", "themselves", "then", "there", "there's", "these", "they", "they'd",
    "they'll", "they're", "they've", "this", "those", "through", "to", "too", "under", "until",
    "up", "very", "was", "wasn't", "we", "we'd", "we'll", "we're", "we've", "were",
    "weren't", "what", "what's", "when", "when's", "where", "where's", "which", "while", "who",
    "who's", "whom", "why", "why's", "will", "with", "won't", "would", "would've", "wouldn't",
    "you", "you'd", "you'll", "you're", "you've", "your", "yours", "yourself", "yourselves",
};

static_assert(std::is_sorted(stop_word_list.begin(), stop_word_list.end()),
              "stop_word_list must stay sorted: the buckets rely on it");
static_assert(std::adjacent_find(stop_word_list.begin(), stop_word_list.end()) ==
                  stop_word_list.end(),
              "stop_word_list must not contain duplicates");

/// For each byte value, the range of `stop_word_list` whose words start with it: a lookup
/// compares a couple of dozen words at most instead of 188 (the check runs on every token).
struct stop_word_buckets {
    std::array<std::uint8_t, 257> first{}; // words starting with byte b: [first[b], first[b + 1])
    constexpr stop_word_buckets() {
        std::size_t i = 0;
        for (std::size_t b = 0; b < 256; ++b) {
            first[b] = static_cast<std::uint8_t>(i);
            while (i < stop_word_list.size() && static_cast<unsigned char>(stop_word_list[i][0]) == b) ++i;
        }
        first[256] = static_cast<std::uint8_t>(i);
    }
};
inline constexpr stop_word_buckets stop_word_index{};
static_assert(stop_word_list.size() < 256, "bucket bounds are bytes");

} // namespace detail

/** Return `true` if `folded_word` is an English stop word.

    @param folded_word A token as produced by the tokenizer: lower-case,
    accent-stripped, with apostrophes normalized to `'`.
    @return `true` for function words such as "the", "and", "don't".

    @par Complexity
    Linear in the stop words sharing its first byte (28 at most); no allocation.
*/
constexpr bool is_stop_word(std::string_view folded_word) noexcept {
    // No stop word is longer than "yourselves"; this rejects most content words at once.
    if (folded_word.empty() || folded_word.size() > 10)
        return false;
    auto const b = static_cast<unsigned char>(folded_word[0]);
    auto const* const begin = detail::stop_word_list.begin() + detail::stop_word_index.first[b];
    auto const* const end = detail::stop_word_list.begin() + detail::stop_word_index.first[b + 1];
    // 28 words at most ("w"): comparing lengths first rejects nearly all of them without
    // touching their bytes, which beats a binary search's calls to memcmp.
    for (auto const* w = begin; w != end; ++w)
        if (*w == folded_word) return true;
    return false;
}

} // namespace persona::text

#endif
