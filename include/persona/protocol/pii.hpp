#ifndef PERSONA_PROTOCOL_PII_HPP
#define PERSONA_PROTOCOL_PII_HPP

/// @file
/// PII screening for ingested text: what API.md's `PII_DETECTED` error is about.

#include <cctype>
#include <optional>
#include <string>
#include <string_view>

namespace persona::protocol {

/** Return what kind of PII `text` contains first, or `std::nullopt`.

    Recognised, without regular expressions: e-mail addresses (`name@domain.tld`),
    payment card numbers (13–19 digits, spaces or dashes allowed, passing the Luhn
    check) and US social security numbers (`123-45-6789`). Deliberately narrow: a
    screen that rejects ordinary text would be worse than none.
*/
inline std::optional<std::string_view> find_pii(std::string_view text) {
    auto const is_digit = [](char c) { return c >= '0' && c <= '9'; };
    for (std::size_t i = 0; i < text.size(); ++i) {
        char const c = text[i];
        if (c == '@' && i > 0) {
            std::size_t l = i;
            while (l > 0 && (std::isalnum(static_cast<unsigned char>(text[l - 1])) || std::string_view("._%+-").find(text[l - 1]) != std::string_view::npos)) --l;
            std::size_t r = i + 1, dot = std::string_view::npos;
            while (r < text.size() && (std::isalnum(static_cast<unsigned char>(text[r])) || text[r] == '.' || text[r] == '-')) {
                if (text[r] == '.') dot = r;
                ++r;
            }
            if (l < i && dot != std::string_view::npos && dot > i + 1 && r - dot > 2) return "email address"; // tld of 2+
        }
        if (!is_digit(c) || (i > 0 && is_digit(text[i - 1]))) continue;
        // A run of digits with single spaces or dashes between groups.
        std::string digits;
        std::size_t j = i;
        while (j < text.size() && (is_digit(text[j]) || ((text[j] == ' ' || text[j] == '-') && j + 1 < text.size() && is_digit(text[j + 1]) && !digits.empty()))) {
            if (is_digit(text[j])) digits += text[j];
            ++j;
        }
        std::string_view const run = text.substr(i, j - i);
        if (digits.size() == 9 && run.size() == 11 && run[3] == '-' && run[6] == '-') return "social security number";
        if (digits.size() >= 13 && digits.size() <= 19) {
            int sum = 0;
            for (std::size_t k = 0; k < digits.size(); ++k) {
                int d = digits[digits.size() - 1 - k] - '0';
                if (k % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
                sum += d;
            }
            if (sum % 10 == 0) return "payment card number";
        }
        i = j == i ? i : j - 1;
    }
    return std::nullopt;
}

} // namespace persona::protocol

#endif
