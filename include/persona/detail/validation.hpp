#ifndef PERSONA_DETAIL_VALIDATION_HPP
#define PERSONA_DETAIL_VALIDATION_HPP

// Not API. The semantic checks of API.md that the engine applies to every request,
// whether it came from JSON or from C++ code.

#include <persona/api.hpp>
#include <persona/error.hpp>
#include <persona/text/utf8.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace persona::detail {

/// True when `s` has nothing but (Unicode) white space.
inline bool is_blank(std::string_view s) noexcept {
    for (std::size_t pos = 0; pos < s.size();) {
        auto const d = text::decode_one(s, pos);
        if (!text::is_space(d.cp)) return false;
        pos += d.length;
    }
    return true;
}

inline std::string indexed_field(std::string_view array, std::size_t index, std::string_view member) {
    std::string f(array);
    f += '[';
    f += std::to_string(index);
    f += ']';
    if (!member.empty()) {
        f += '.';
        f += member;
    }
    return f;
}

/// An INVALID_REQUEST error about member `member` of element `index` of array `array`.
inline error invalid_item(std::string_view array, std::size_t index, std::string_view member, std::string message) {
    auto e = invalid_field(indexed_field(array, index, member), std::move(message));
    e.details["index"] = index;
    return e;
}

inline result<void> check_text(std::string_view field, std::string_view value) {
    if (!text::is_valid_utf8(value)) return invalid_field(field, std::string(field) + " is not valid UTF-8");
    return {};
}

// The messages below are the JSON layer's, word for word ("<field> <what>"), so that a
// request rejected in C++ and the same request rejected on the wire read the same.

inline result<void> check_user_id(std::string_view id) {
    if (id.empty()) return invalid_field("user_id", "user_id is required");
    if (!text::is_valid_utf8(id)) return invalid_field("user_id", "user_id is not valid UTF-8");
    if (text::count_code_points(id) > api_limits::max_user_id_chars)
        return invalid_field("user_id", "user_id must be 1 to " + std::to_string(api_limits::max_user_id_chars) +
                                            " characters long");
    return {};
}

/// An item id: non-empty, valid UTF-8, no '#' (it separates an item id from a chunk ordinal).
/// An INVALID_REQUEST error "<array>[<index>].<member> <what>" with field and index.
inline error item_error(std::string_view array, std::size_t index, std::string_view member, std::string_view what) {
    return invalid_item(array, index, member, indexed_field(array, index, member) + " " + std::string(what));
}

inline result<void> check_item_id(std::string_view array, std::size_t index, std::string_view member,
                                  std::string_view id) {
    if (id.empty()) return item_error(array, index, member, "is required");
    if (!text::is_valid_utf8(id)) return item_error(array, index, member, "is not valid UTF-8");
    if (text::count_code_points(id) > api_limits::max_item_id_chars)
        return item_error(array, index, member,
                          "must be 1 to " + std::to_string(api_limits::max_item_id_chars) + " characters long");
    if (id.find('#') != std::string_view::npos) return item_error(array, index, member, "must not contain '#'");
    return {};
}

inline result<void> check_content(std::string_view array, std::size_t index, std::string_view content) {
    if (!text::is_valid_utf8(content)) return item_error(array, index, "content", "is not valid UTF-8");
    if (is_blank(content)) return item_error(array, index, "content", "must not be empty");
    return {};
}

inline bool is_conversation_role(std::string_view role) noexcept {
    return role == "system" || role == "user" || role == "assistant";
}

/// The title of an event: its `metadata.subject` when that is a string. Ingest and the
/// export reader both derive it, so an event reads the same however it arrived.
inline std::string event_title(boost::json::object const& metadata) {
    auto const* subject = metadata.if_contains("subject");
    return subject && subject->is_string() ? std::string(subject->get_string()) : std::string();
}

/** Address an INVALID_REQUEST (or PII_DETECTED) error to line `line` of an import:
    "line 3: content must not be empty", with `details.line` and without `details.index`
    (an import's lines are not an array). `details.field` stays the member's name. */
inline error at_line(error e, std::size_t line) {
    e.message = "line " + std::to_string(line) + ": " + e.message;
    e.details.erase("index");
    e.details["line"] = line;
    return e;
}

} // namespace persona::detail

#endif
