#ifndef PERSONA_TEXT_PORTER2_HPP
#define PERSONA_TEXT_PORTER2_HPP

/// @file
/// The Snowball English ("Porter2") stemmer.

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace persona::text {

namespace detail::porter2 {

// The algorithm marks a 'y' that acts as a consonant as 'Y'; 'Y' is
// therefore deliberately not a vowel here.
constexpr bool is_vowel(char c) noexcept {
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

constexpr bool is_double(char a, char b) noexcept {
    if (a != b)
        return false;
    switch (a) {
    case 'b': case 'd': case 'f': case 'g': case 'm':
    case 'n': case 'p': case 'r': case 't':
        return true;
    default:
        return false;
    }
}

constexpr bool is_valid_li(char c) noexcept {
    switch (c) {
    case 'c': case 'd': case 'e': case 'g': case 'h':
    case 'k': case 'm': case 'n': case 'r': case 't':
        return true;
    default:
        return false;
    }
}

// Compares from the last letter: most candidate suffixes fail there, and a
// loop over a few bytes beats a call to memcmp, which dominated profiles.
inline bool ends_with(const std::string& w, std::string_view suffix) noexcept {
    const std::size_t n = w.size();
    const std::size_t k = suffix.size();
    if (n < k)
        return false;
    for (std::size_t i = 1; i <= k; ++i)
        if (w[n - i] != suffix[k - i])
            return false;
    return true;
}

inline bool has_vowel(const std::string& w, std::size_t begin, std::size_t end) noexcept {
    for (std::size_t i = begin; i < end; ++i)
        if (is_vowel(w[i]))
            return true;
    return false;
}

// Whether w[0, end) ends in a short syllable: non-vowel, vowel, non-vowel
// other than w, x or Y; or, for a two-letter prefix, vowel then non-vowel.
inline bool ends_in_short_syllable(const std::string& w, std::size_t end) noexcept {
    if (end >= 3) {
        const char c = w[end - 1];
        return !is_vowel(c) && c != 'w' && c != 'x' && c != 'Y' && is_vowel(w[end - 2]) &&
               !is_vowel(w[end - 3]);
    }
    return end == 2 && is_vowel(w[0]) && !is_vowel(w[1]);
}

// The position after the first non-vowel that follows a vowel, searching from `from`.
inline std::size_t region_start(const std::string& w, std::size_t from) noexcept {
    const std::size_t n = w.size();
    std::size_t i = from;
    while (i < n && !is_vowel(w[i]))
        ++i;
    if (i >= n)
        return n;
    while (i < n && is_vowel(w[i]))
        ++i;
    return i >= n ? n : i + 1;
}

inline void replace_suffix(std::string& w, std::size_t suffix_len, std::string_view by) {
    // replace(), not resize()+append(): GCC 12 at -O2 misreads the resize as a huge memset.
    w.replace(w.size() - suffix_len, suffix_len, by);
}

struct rule {
    std::string_view suffix;
    std::string_view replacement;
};

// Returns the longest suffix of `w` in `rules` (which must be ordered by
// decreasing length), or nullptr. Snowball's `among` picks the longest match
// and never falls back to a shorter one if its condition then fails.
template <std::size_t N>
const rule* longest_match(const std::string& w, const rule (&rules)[N]) noexcept {
    for (const rule& r : rules)
        if (ends_with(w, r.suffix))
            return &r;
    return nullptr;
}

inline bool exception1(std::string& w) {
    struct entry {
        std::string_view word;
        std::string_view stem;
    };
    static constexpr entry table[] = {
        {"skis", "ski"},     {"skies", "sky"},    {"dying", "die"},   {"lying", "lie"},
        {"tying", "tie"},    {"idly", "idl"},     {"gently", "gentl"}, {"ugly", "ugli"},
        {"early", "earli"},  {"only", "onli"},    {"singly", "singl"}, {"sky", "sky"},
        {"news", "news"},    {"howe", "howe"},    {"atlas", "atlas"}, {"cosmos", "cosmos"},
        {"bias", "bias"},    {"andes", "andes"},
    };
    for (const entry& e : table) {
        if (w == e.word) {
            w.assign(e.stem);
            return true;
        }
    }
    return false;
}

inline bool exception2(const std::string& w) noexcept {
    static constexpr std::string_view table[] = {"inning",  "outing", "canning", "herring",
                                                 "earring", "proceed", "exceed", "succeed"};
    for (std::string_view e : table)
        if (w == e)
            return true;
    return false;
}

inline void step_0(std::string& w) {
    if (ends_with(w, "'s'"))
        w.resize(w.size() - 3);
    else if (ends_with(w, "'s"))
        w.resize(w.size() - 2);
    else if (ends_with(w, "'"))
        w.resize(w.size() - 1);
}

inline void step_1a(std::string& w) {
    const std::size_t n = w.size();
    if (ends_with(w, "sses")) {
        w.erase(n - 2);
    } else if (ends_with(w, "ied") || ends_with(w, "ies")) {
        // "cries" -> "cri" but "ties" -> "tie": keep the 'e' after a lone letter.
        if (n - 3 > 1)
            w.erase(n - 2);
        else
            w.erase(n - 1);
    } else if (ends_with(w, "us") || ends_with(w, "ss")) {
        // unchanged
    } else if (ends_with(w, "s")) {
        // The vowel must not be the letter right before the 's' ("gas", "this").
        if (n >= 3 && has_vowel(w, 0, n - 2))
            w.erase(n - 1);
    }
}

inline void step_1b(std::string& w, std::size_t p1) {
    static constexpr std::string_view suffixes[] = {"eedly", "ingly", "edly", "eed", "ing", "ed"};
    std::string_view found;
    for (std::string_view s : suffixes) {
        if (ends_with(w, s)) {
            found = s;
            break;
        }
    }
    if (found.empty())
        return;
    const std::size_t start = w.size() - found.size();
    if (found == "eed" || found == "eedly") {
        if (start >= p1)
            replace_suffix(w, found.size(), "ee");
        return;
    }
    if (!has_vowel(w, 0, start))
        return;
    w.erase(start);
    if (ends_with(w, "at") || ends_with(w, "bl") || ends_with(w, "iz")) {
        w.push_back('e');
    } else if (w.size() >= 2 && is_double(w[w.size() - 2], w[w.size() - 1])) {
        w.pop_back();
    } else if (p1 == w.size() && ends_in_short_syllable(w, w.size())) {
        // A short word: restore the 'e' that the suffix absorbed ("hoped" -> "hope").
        w.push_back('e');
    }
}

inline void step_1c(std::string& w) {
    const std::size_t n = w.size();
    if (n >= 3 && (w[n - 1] == 'y' || w[n - 1] == 'Y') && !is_vowel(w[n - 2]))
        w[n - 1] = 'i';
}

inline void step_2(std::string& w, std::size_t p1) {
    static constexpr rule rules[] = {
        {"ational", "ate"}, {"fulness", "ful"}, {"iveness", "ive"}, {"ization", "ize"},
        {"ousness", "ous"}, {"biliti", "ble"},  {"lessli", "less"}, {"tional", "tion"},
        {"alism", "al"},    {"aliti", "al"},    {"ation", "ate"},   {"entli", "ent"},
        {"fulli", "ful"},   {"iviti", "ive"},   {"ousli", "ous"},   {"abli", "able"},
        {"alli", "al"},     {"anci", "ance"},   {"ator", "ate"},    {"enci", "ence"},
        {"izer", "ize"},    {"bli", "ble"},     {"ogi", "og"},      {"li", ""},
    };
    const rule* r = longest_match(w, rules);
    if (r == nullptr)
        return;
    const std::size_t start = w.size() - r->suffix.size();
    if (start < p1)
        return;
    if (r->suffix == "ogi") {
        if (start >= 1 && w[start - 1] == 'l')
            replace_suffix(w, 3, "og");
    } else if (r->suffix == "li") {
        if (start >= 1 && is_valid_li(w[start - 1]))
            w.erase(start);
    } else {
        replace_suffix(w, r->suffix.size(), r->replacement);
    }
}

inline void step_3(std::string& w, std::size_t p1, std::size_t p2) {
    static constexpr rule rules[] = {
        {"ational", "ate"}, {"tional", "tion"}, {"alize", "al"}, {"ative", ""},
        {"icate", "ic"},    {"iciti", "ic"},    {"ical", "ic"},  {"ness", ""},
        {"ful", ""},
    };
    const rule* r = longest_match(w, rules);
    if (r == nullptr)
        return;
    const std::size_t start = w.size() - r->suffix.size();
    if (start < p1)
        return;
    if (r->suffix == "ative" && start < p2)
        return;
    replace_suffix(w, r->suffix.size(), r->replacement);
}

inline void step_4(std::string& w, std::size_t p2) {
    static constexpr rule rules[] = {
        {"ement", ""}, {"ance", ""}, {"ence", ""}, {"able", ""}, {"ible", ""}, {"ment", ""},
        {"ant", ""},   {"ent", ""},  {"ism", ""},  {"ate", ""},  {"iti", ""},  {"ous", ""},
        {"ive", ""},   {"ize", ""},  {"ion", ""},  {"al", ""},   {"er", ""},   {"ic", ""},
    };
    const rule* r = longest_match(w, rules);
    if (r == nullptr)
        return;
    const std::size_t start = w.size() - r->suffix.size();
    if (start < p2)
        return;
    if (r->suffix == "ion") {
        if (start >= 1 && (w[start - 1] == 's' || w[start - 1] == 't'))
            w.erase(start);
    } else {
        w.erase(start);
    }
}

inline void step_5(std::string& w, std::size_t p1, std::size_t p2) {
    if (w.empty())
        return;
    const std::size_t start = w.size() - 1;
    if (w[start] == 'e') {
        if (start >= p2 || (start >= p1 && !ends_in_short_syllable(w, start)))
            w.erase(start);
    } else if (w[start] == 'l') {
        if (start >= p2 && start >= 1 && w[start - 1] == 'l')
            w.erase(start);
    }
}

} // namespace detail::porter2

/** Stem `word` in place with the Snowball English (Porter2) algorithm.

    This is the published algorithm (snowballstem.org, "english"), including
    its exceptional forms and the `gener`/`commun`/`arsen` region rule, so the
    output matches other Snowball implementations and stems stay comparable
    across index versions.

    @param word A lower-case ASCII word. Words of at most two characters and
    words containing bytes outside ASCII are left unchanged.

    @par Complexity
    Linear in `word.size()`.
*/
inline void porter2_stem_in_place(std::string& word) {
    namespace p = detail::porter2;
    if (word.size() <= 2)
        return;
    for (char c : word)
        if (static_cast<unsigned char>(c) >= 0x80U)
            return;
    if (p::exception1(word))
        return;

    // Prelude.
    if (word.front() == '\'')
        word.erase(0, 1);
    bool has_y = false;
    for (std::size_t i = 0; i < word.size(); ++i) {
        if (word[i] == 'y' && (i == 0 || p::is_vowel(word[i - 1]))) {
            word[i] = 'Y';
            has_y = true;
        }
    }

    // Regions.
    std::size_t p1 = word.size();
    bool special_prefix = false;
    for (std::string_view prefix : {std::string_view("gener"), std::string_view("commun"),
                                    std::string_view("arsen")}) {
        if (word.size() >= prefix.size() && word.compare(0, prefix.size(), prefix) == 0) {
            p1 = prefix.size();
            special_prefix = true;
            break;
        }
    }
    if (!special_prefix)
        p1 = p::region_start(word, 0);
    const std::size_t p2 = p::region_start(word, p1);

    p::step_0(word);
    p::step_1a(word);
    if (!p::exception2(word)) {
        p::step_1b(word, p1);
        p::step_1c(word);
        p::step_2(word, p1);
        p::step_3(word, p1, p2);
        p::step_4(word, p2);
        p::step_5(word, p1, p2);
    }

    if (has_y)
        for (char& c : word)
            if (c == 'Y')
                c = 'y';
}

/** Return the Snowball English (Porter2) stem of `word`.

    @param word A lower-case ASCII word; see `porter2_stem_in_place`.
    @return The stem, e.g. `"consolingly"` → `"consol"`.

    @par Complexity
    Linear in `word.size()`.
*/
inline std::string porter2_stem(std::string_view word) {
    std::string w(word);
    porter2_stem_in_place(w);
    return w;
}

} // namespace persona::text

#endif
