#ifndef PERSONA_TEXT_CASE_FOLD_HPP
#define PERSONA_TEXT_CASE_FOLD_HPP

/// @file
/// Table-free case folding, accent stripping and word-character classes for
/// the scripts persona meets in practice.

#include <cstddef>
#include <iterator>

namespace persona::text {

/** Return the simple lower-case form of `cp`.

    Covers ASCII, Latin-1 Supplement, Latin Extended-A, Latin Extended
    Additional, Greek (final sigma folds to σ), Cyrillic, Armenian and
    full-width Latin. Other code points are returned unchanged. This is a
    one-to-one mapping: `ß` stays `ß` (the tokenizer expands it).

    @param cp A code point.
    @return Its lower-case form.

    @par Complexity
    Constant.
*/
constexpr char32_t fold_case(char32_t cp) noexcept {
    if (cp < 0x80U)
        return (cp >= U'A' && cp <= U'Z') ? cp + 32U : cp;
    if (cp < 0x100U)
        return (cp >= 0xC0U && cp <= 0xDEU && cp != 0xD7U) ? cp + 32U : cp;
    if (cp < 0x180U) {
        // Latin Extended-A is made of upper/lower pairs whose parity flips at
        // U+0138 and U+0178, which is why three ranges are needed.
        if (cp == 0x130U)
            return U'i';
        if (cp == 0x178U)
            return 0xFFU;
        if (cp == 0x17FU)
            return U's'; // long s
        if ((cp <= 0x137U && cp != 0x131U) || (cp >= 0x14AU && cp <= 0x177U))
            return (cp % 2U == 0U) ? cp + 1U : cp;
        if ((cp >= 0x139U && cp <= 0x148U) || (cp >= 0x179U && cp <= 0x17EU))
            return (cp % 2U == 1U) ? cp + 1U : cp;
        return cp;
    }
    if (cp >= 0x370U && cp <= 0x3FFU) {
        if (cp >= 0x391U && cp <= 0x3ABU && cp != 0x3A2U)
            return cp + 32U;
        switch (cp) {
        case 0x386U: return 0x3ACU;
        case 0x388U: return 0x3ADU;
        case 0x389U: return 0x3AEU;
        case 0x38AU: return 0x3AFU;
        case 0x38CU: return 0x3CCU;
        case 0x38EU: return 0x3CDU;
        case 0x38FU: return 0x3CEU;
        case 0x3C2U: return 0x3C3U; // final sigma: "λόγος" must match "λόγοσ..."
        default: return cp;
        }
    }
    if (cp >= 0x400U && cp <= 0x52FU) {
        if (cp <= 0x40FU)
            return cp + 80U;
        if (cp <= 0x42FU)
            return cp + 32U;
        if ((cp >= 0x460U && cp <= 0x481U) || (cp >= 0x48AU && cp <= 0x4BFU) ||
            (cp >= 0x4D0U && cp <= 0x52FU))
            return (cp % 2U == 0U) ? cp + 1U : cp;
        if (cp == 0x4C0U)
            return 0x4CFU;
        if (cp >= 0x4C1U && cp <= 0x4CEU)
            return (cp % 2U == 1U) ? cp + 1U : cp;
        return cp;
    }
    if (cp >= 0x531U && cp <= 0x556U)
        return cp + 48U;
    if (cp >= 0x1E00U && cp <= 0x1EFFU) {
        if (cp == 0x1E9EU)
            return 0xDFU; // capital sharp s
        if (cp <= 0x1E95U || cp >= 0x1EA0U)
            return (cp % 2U == 0U) ? cp + 1U : cp;
        return cp;
    }
    if (cp >= 0xFF21U && cp <= 0xFF3AU)
        return cp + 32U;
    return cp;
}

/** Return `cp` without its diacritic, for Latin-1 and Latin Extended-A letters.

    Case is preserved (`É` → `E`, `é` → `e`). Letters that are not a base
    letter plus a mark (`ß`, `æ`, `œ`, `ð`, `þ`, `ĳ`, `ŋ`) and every other code
    point are returned unchanged.

    @param cp A code point.
    @return The base letter, or `cp`.

    @par Complexity
    Constant.
*/
constexpr char32_t strip_accent(char32_t cp) noexcept {
    // '.' marks "no base letter": the code point is returned unchanged.
    constexpr char latin1[] =
        "AAAAAA.CEEEEIIII.NOOOOO.OUUUUY.." // U+00C0..U+00DF
        "aaaaaa.ceeeeiiii.nooooo.ouuuuy.y"; // U+00E0..U+00FF
    constexpr char extended_a[] =
        "AaAaAaCcCcCcCcDd" // U+0100
        "DdEeEeEeEeEeGgGg" // U+0110
        "GgGgHhHhIiIiIiIi" // U+0120
        "Ii..JjKk.LlLlLlL" // U+0130
        "lLlNnNnNn...OoOo" // U+0140
        "Oo..RrRrRrSsSsSs" // U+0150
        "SsTtTtTtUuUuUuUu" // U+0160
        "UuUuWwYyYZzZzZzs"; // U+0170
    char base = '.';
    if (cp >= 0xC0U && cp <= 0xFFU)
        base = latin1[cp - 0xC0U];
    else if (cp >= 0x100U && cp <= 0x17FU)
        base = extended_a[cp - 0x100U];
    return base == '.' ? cp : static_cast<char32_t>(base);
}

namespace detail {

struct cp_range {
    char32_t first;
    char32_t last;
};

// Letters, digits and combining marks above Latin-1, sorted and disjoint.
// Scripts are listed in whole where their few punctuation code points are
// rare; the ones that commonly separate words (danda, Arabic full stop,
// Hebrew maqaf, katakana middle dot) are carved out.
inline constexpr cp_range word_ranges[] = {
    {0x0100, 0x02C1}, // Latin Extended-A/B, IPA, modifier letters
    {0x02C6, 0x02D1}, {0x02E0, 0x02E4}, {0x02EC, 0x02EC}, {0x02EE, 0x02EE},
    {0x0300, 0x036F}, // combining diacritical marks: decomposed accents stay in the word
    {0x0370, 0x0373}, {0x0376, 0x0377}, {0x037B, 0x037D}, {0x037F, 0x037F},
    {0x0386, 0x0386}, {0x0388, 0x03F5}, {0x03F7, 0x0481}, // Greek, Cyrillic
    {0x0483, 0x052F}, {0x0531, 0x0556}, {0x0559, 0x0559}, {0x0560, 0x0588}, // Armenian
    {0x0591, 0x05BD}, {0x05BF, 0x05BF}, {0x05C1, 0x05C2}, {0x05C4, 0x05C5}, // Hebrew points
    {0x05C7, 0x05C7}, {0x05D0, 0x05EA}, {0x05EF, 0x05F2},                   // Hebrew letters
    {0x0610, 0x061A}, {0x0620, 0x0669}, {0x066E, 0x06D3}, {0x06D5, 0x06DC}, // Arabic
    {0x06DF, 0x06E8}, {0x06EA, 0x06FC}, {0x06FF, 0x06FF}, {0x0750, 0x077F},
    {0x0900, 0x0963}, {0x0966, 0x096F}, {0x0971, 0x0DF3}, // Indic scripts
    {0x0E01, 0x0E3A}, {0x0E40, 0x0E4E}, {0x0E50, 0x0E59}, // Thai
    {0x10A0, 0x10FA}, {0x10FC, 0x10FF},                   // Georgian
    {0x1100, 0x11FF},                                     // Hangul Jamo
    {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},                   // more combining marks
    {0x1E00, 0x1FBC}, {0x1FC2, 0x1FCC}, {0x1FD0, 0x1FDB}, // Latin Ext. Additional, Greek Ext.
    {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FFC},
    {0x3005, 0x3007}, // ideographic iteration mark, closing mark, number zero
    {0x3041, 0x3096}, {0x3099, 0x309A}, {0x309D, 0x309F}, // Hiragana
    {0x30A1, 0x30FA}, {0x30FC, 0x30FF}, // Katakana
    {0x3131, 0x318E},                   // Hangul compatibility Jamo
    {0x31F0, 0x31FF},                   // Katakana phonetic extensions
    {0x3400, 0x4DBF},                   // CJK Extension A
    {0x4E00, 0x9FFF},                   // CJK Unified Ideographs
    {0xAC00, 0xD7A3},                   // Hangul syllables
    {0xF900, 0xFAFF},                   // CJK compatibility ideographs
    {0xFF10, 0xFF19}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, // full-width alphanumerics
    {0xFF66, 0xFF9F}, {0xFFA0, 0xFFDC},                   // half-width Katakana, Hangul
    {0x20000, 0x2FA1F},                                   // CJK Extensions B..F, supplement
    {0x30000, 0x323AF},                                   // CJK Extensions G, H
};

} // namespace detail

/** Return `true` if `cp` is part of a word: a letter, a digit or a combining mark.

    ASCII alphanumerics, Latin-1 letters (not `×`, `÷`, nor symbols such as
    `©`), Latin Extended, Greek, Cyrillic, Armenian, Hebrew, Arabic, Indic,
    Thai, Georgian, Hangul, kana and CJK ideographs are word characters.
    Combining marks U+0300..U+036F are too, so a decomposed `é` does not split
    its word.

    @param cp A code point.
    @return `true` for word characters.

    @par Complexity
    Constant for Latin-1; logarithmic in the (small, fixed) range table otherwise.
*/
constexpr bool is_word_char(char32_t cp) noexcept {
    if (cp < 0x80U)
        return (cp >= U'0' && cp <= U'9') || ((cp | 0x20U) >= U'a' && (cp | 0x20U) <= U'z');
    if (cp < 0x100U)
        return (cp >= 0xC0U && cp != 0xD7U && cp != 0xF7U) || cp == 0xAAU || cp == 0xB5U ||
               cp == 0xBAU;
    std::size_t lo = 0;
    std::size_t hi = std::size(detail::word_ranges);
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (cp > detail::word_ranges[mid].last)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < std::size(detail::word_ranges) && cp >= detail::word_ranges[lo].first;
}

/** Return `true` if `cp` is a Han ideograph or a kana.

    These scripts are written without spaces and persona has no dictionary
    to segment them, so the tokenizer makes each such code point a token of
    its own (unigram indexing), which still gives useful recall.

    @param cp A code point.
    @return `true` for CJK ideographs, Hiragana and Katakana.

    @par Complexity
    Constant.
*/
constexpr bool is_cjk(char32_t cp) noexcept {
    return ((cp >= 0x3005U && cp <= 0x3007U) || (cp >= 0x3041U && cp <= 0x30FFU) ||
           (cp >= 0x31F0U && cp <= 0x31FFU) || (cp >= 0x3400U && cp <= 0x4DBFU) ||
           (cp >= 0x4E00U && cp <= 0x9FFFU) || (cp >= 0xF900U && cp <= 0xFAFFU) ||
           (cp >= 0xFF66U && cp <= 0xFF9FU) || (cp >= 0x20000U && cp <= 0x323AFU)) &&
           is_word_char(cp); // drops the kana punctuation inside those blocks
}

} // namespace persona::text

#endif
