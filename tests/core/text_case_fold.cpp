#include <persona/text/case_fold.hpp>

#include <catch2/catch.hpp>

using namespace persona::text;

TEST_CASE("fold_case lower-cases ASCII and Latin", "[text][case_fold]") {
    CHECK(fold_case(U'A') == U'a');
    CHECK(fold_case(U'Z') == U'z');
    CHECK(fold_case(U'a') == U'a');
    CHECK(fold_case(U'0') == U'0');
    CHECK(fold_case(U'@') == U'@');
    CHECK(fold_case(U'\u00C9') == U'\u00E9'); // É
    CHECK(fold_case(U'\u00D6') == U'\u00F6'); // Ö
    CHECK(fold_case(U'\u00D7') == U'\u00D7'); // × is not a letter
    CHECK(fold_case(U'\u00DF') == U'\u00DF'); // ß has no simple upper/lower pair
    CHECK(fold_case(U'\u0100') == U'\u0101'); // Ā
    CHECK(fold_case(U'\u0101') == U'\u0101');
    CHECK(fold_case(U'\u0141') == U'\u0142'); // Ł (odd-parity block)
    CHECK(fold_case(U'\u0160') == U'\u0161'); // Š
    CHECK(fold_case(U'\u0178') == U'\u00FF'); // Ÿ
    CHECK(fold_case(U'\u017D') == U'\u017E'); // Ž
    CHECK(fold_case(U'\u0130') == U'i');      // İ
    CHECK(fold_case(U'\u0131') == U'\u0131'); // ı is already lower case
    CHECK(fold_case(U'\u1EA0') == U'\u1EA1'); // Ạ (Vietnamese)
    CHECK(fold_case(U'\uFF21') == U'\uFF41'); // full-width A
}

TEST_CASE("fold_case lower-cases Greek and Cyrillic", "[text][case_fold]") {
    CHECK(fold_case(U'\u0391') == U'\u03B1'); // Α
    CHECK(fold_case(U'\u03A3') == U'\u03C3'); // Σ
    CHECK(fold_case(U'\u03C2') == U'\u03C3'); // final ς folds like σ
    CHECK(fold_case(U'\u0386') == U'\u03AC'); // Ά
    CHECK(fold_case(U'\u038F') == U'\u03CE'); // Ώ
    CHECK(fold_case(U'\u0410') == U'\u0430'); // А
    CHECK(fold_case(U'\u042F') == U'\u044F'); // Я
    CHECK(fold_case(U'\u0401') == U'\u0451'); // Ё
    CHECK(fold_case(U'\u0462') == U'\u0463'); // Ѣ
    CHECK(fold_case(U'\u0531') == U'\u0561'); // Armenian Ա
}

TEST_CASE("fold_case leaves other scripts alone", "[text][case_fold]") {
    CHECK(fold_case(U'\u6771') == U'\u6771'); // 東
    CHECK(fold_case(U'\u05D0') == U'\u05D0'); // א
    CHECK(fold_case(U'\U0001F600') == U'\U0001F600');
}

TEST_CASE("strip_accent removes Latin diacritics and keeps case", "[text][case_fold]") {
    CHECK(strip_accent(U'\u00E9') == U'e'); // é
    CHECK(strip_accent(U'\u00C9') == U'E'); // É
    CHECK(strip_accent(U'\u00F1') == U'n'); // ñ
    CHECK(strip_accent(U'\u00FC') == U'u'); // ü
    CHECK(strip_accent(U'\u00E7') == U'c'); // ç
    CHECK(strip_accent(U'\u00E5') == U'a'); // å
    CHECK(strip_accent(U'\u00F8') == U'o'); // ø
    CHECK(strip_accent(U'\u00FF') == U'y'); // ÿ
    CHECK(strip_accent(U'\u0161') == U's'); // š
    CHECK(strip_accent(U'\u0142') == U'l'); // ł
    CHECK(strip_accent(U'\u0151') == U'o'); // ő
    CHECK(strip_accent(U'\u017E') == U'z'); // ž
    CHECK(strip_accent(U'\u0107') == U'c'); // ć
    CHECK(strip_accent(U'\u011F') == U'g'); // ğ
    CHECK(strip_accent(U'\u0131') == U'i'); // ı
    CHECK(strip_accent(U'\u017F') == U's'); // ſ
    CHECK(strip_accent(U'\u00DF') == U'\u00DF'); // ß has no base letter
    CHECK(strip_accent(U'\u00E6') == U'\u00E6'); // æ neither
    CHECK(strip_accent(U'\u0153') == U'\u0153'); // œ
    CHECK(strip_accent(U'\u00D7') == U'\u00D7'); // ×
    CHECK(strip_accent(U'a') == U'a');
    CHECK(strip_accent(U'\u03AC') == U'\u03AC'); // Greek is out of scope
}

TEST_CASE("is_word_char classifies letters, digits and marks", "[text][case_fold]") {
    for (char32_t c : {U'a', U'Z', U'0', U'9', U'\u00E9', U'\u00C0', U'\u00FF', U'\u00AA',
                       U'\u0101', U'\u01B0', U'\u0301', U'\u03B1', U'\u0416', U'\u05D0',
                       U'\u0628', U'\u0663', U'\u0915', U'\u0E01', U'\u3042', U'\u30A2',
                       U'\u30FC', U'\u6771', U'\uAC00', U'\uFF41', U'\U00020000'}) {
        INFO(static_cast<unsigned>(c));
        CHECK(is_word_char(c));
    }
    for (char32_t c : {U' ', U'-', U'\'', U'.', U',', U'_', U'@', U'\u00D7', U'\u00F7',
                       U'\u00A9', U'\u00B7', U'\u2019', U'\u2014', U'\u3002', U'\u30FB',
                       U'\u05BE', U'\u06D4', U'\u0964', U'\uFFFD', U'\U0001F600',
                       U'\u309B'}) {
        INFO(static_cast<unsigned>(c));
        CHECK_FALSE(is_word_char(c));
    }
}

TEST_CASE("is_cjk covers ideographs and kana only", "[text][case_fold]") {
    CHECK(is_cjk(U'\u6771'));     // 東
    CHECK(is_cjk(U'\u3042'));     // あ
    CHECK(is_cjk(U'\u30A2'));     // ア
    CHECK(is_cjk(U'\U00020000')); // Extension B
    CHECK_FALSE(is_cjk(U'\uAC00')); // Hangul is space-separated
    CHECK_FALSE(is_cjk(U'\u30FB')); // katakana middle dot is punctuation
    CHECK_FALSE(is_cjk(U'\u3002')); // 。
    CHECK_FALSE(is_cjk(U'a'));
}
