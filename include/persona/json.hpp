#ifndef PERSONA_JSON_HPP
#define PERSONA_JSON_HPP

/// @file
/// Boost.JSON conversions of the requests and responses of `api.hpp`, validating
/// exactly as API.md says. The server parses requests and writes responses with these;
/// the remote client does the opposite, so every conversion goes both ways.

#include <persona/api.hpp>
#include <persona/detail/validation.hpp>
#include <persona/error.hpp>
#include <persona/text/utf8.hpp>
#include <persona/time.hpp>

#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace persona {

//------------------------------------------------------------------------------
// Strict parsing
//------------------------------------------------------------------------------

namespace detail {

// Builds the value exactly like boost::json::parser, and also rejects what Boost 1.81
// accepts silently: duplicate keys (it keeps one of them, so a request could say two
// things at once) and numbers that overflow a double (it yields infinity).
class strict_json_handler {
public:
    static constexpr std::size_t max_object_size = boost::json::object::max_size();
    static constexpr std::size_t max_array_size = boost::json::array::max_size();
    static constexpr std::size_t max_key_size = boost::json::string::max_size();
    static constexpr std::size_t max_string_size = boost::json::string::max_size();

    // The value stack's scratch space starts on the handler (which lives on the parsing
    // function's stack), so a small body is parsed without a heap allocation for it.
    strict_json_handler() : stack({}, scratch_, sizeof scratch_) {}
    strict_json_handler(strict_json_handler const&) = delete;
    strict_json_handler& operator=(strict_json_handler const&) = delete;

private:
    // Declared before `stack`, which keeps values in it: it must outlive them, and be
    // aligned for them (the value stack uses it as an array of values as it is).
    alignas(boost::json::value) unsigned char scratch_[1024];

public:
    boost::json::value_stack stack;
    std::optional<std::string> duplicate_key;
    bool overflow = false;

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) {
        objects_.push_back({keys_used_, {}});
        return true;
    }
    bool on_object_end(std::size_t n, boost::system::error_code&) {
        keys_used_ = objects_.back().first_key;
        objects_.pop_back();
        stack.push_object(n);
        return true;
    }
    bool on_array_begin(boost::system::error_code&) { return true; }
    bool on_array_end(std::size_t n, boost::system::error_code&) {
        stack.push_array(n);
        return true;
    }
    bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        key_.append(s.data(), s.size());
        stack.push_chars(s);
        return true;
    }
    bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
        key_.append(s.data(), s.size());
        if (!remember_key()) {
            duplicate_key = std::move(key_);
            ec = errc::invalid_request;
            return false;
        }
        key_.clear();
        stack.push_key(s);
        return true;
    }
    bool on_string_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        stack.push_chars(s);
        return true;
    }
    bool on_string(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        stack.push_string(s);
        return true;
    }
    bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t i, boost::json::string_view, boost::system::error_code&) {
        stack.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, boost::json::string_view, boost::system::error_code&) {
        stack.push_uint64(u);
        return true;
    }
    bool on_double(double d, boost::json::string_view, boost::system::error_code& ec) {
        if (!std::isfinite(d)) {
            overflow = true;
            ec = errc::invalid_request;
            return false;
        }
        stack.push_double(d);
        return true;
    }
    bool on_bool(bool b, boost::system::error_code&) {
        stack.push_bool(b);
        return true;
    }
    bool on_null(boost::system::error_code&) {
        stack.push_null();
        return true;
    }
    bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

private:
    // An object's keys are compared one by one while it has few (request bodies have a
    // handful, mostly short enough for no allocation); past `linear_keys` they go to a
    // hash set, so a huge object is not quadratic.
    static constexpr std::size_t linear_keys = 16;

    struct open_object {
        std::size_t first_key = 0;                         // its first key in keys_
        std::unique_ptr<std::unordered_set<std::string>> many; // its keys, once it has many
    };

    // Record key_ for the innermost open object; false if it already has it.
    bool remember_key() {
        auto& o = objects_.back();
        std::size_t const count = keys_used_ - o.first_key;
        if (o.many) return o.many->insert(key_).second;
        for (std::size_t i = o.first_key; i < keys_used_; ++i)
            if (keys_[i] == key_) return false;
        if (count + 1 > linear_keys) {
            o.many = std::make_unique<std::unordered_set<std::string>>(
                std::make_move_iterator(keys_.begin() + static_cast<std::ptrdiff_t>(o.first_key)),
                std::make_move_iterator(keys_.begin() + static_cast<std::ptrdiff_t>(keys_used_)));
            keys_used_ = o.first_key;
            return o.many->insert(key_).second;
        }
        if (keys_used_ == keys_.size()) keys_.emplace_back();
        keys_[keys_used_++] = key_; // reuses a string's capacity from an object already closed
        return true;
    }

    std::vector<open_object> objects_; // the open objects, innermost last
    std::vector<std::string> keys_;    // the keys of the open objects, by object; first keys_used_ are live
    std::size_t keys_used_ = 0;
    std::string key_; // the key being assembled from parts
};

// `parse_json` with the start of its syntax error messages given, so that a request body
// ("request body is not valid JSON: ...") and a line of an import ("not valid JSON: ...",
// then prefixed with the line) each name what was wrong.
inline result<boost::json::value> parse_json_strict(std::string_view input, std::size_t max_depth,
                                                    std::string_view not_json, boost::json::storage_ptr sp = {}) {
    auto const invalid = [&](std::string const& why) { return invalid_field("body", std::string(not_json) + why); };
    if (input.find_first_not_of(" \t\r\n") == std::string_view::npos) return invalid("the body is empty");
    // Boost.JSON checks UTF-8 only inside strings and then reports a bare "syntax error".
    if (!text::is_valid_utf8(input)) return invalid("invalid UTF-8");
    boost::json::parse_options opt;
    opt.max_depth = max_depth;
    boost::json::basic_parser<strict_json_handler> parser(opt);
    auto& h = parser.handler();
    h.stack.reset(std::move(sp));
    boost::system::error_code ec;
    auto const used = parser.write_some(false, input.data(), input.size(), ec);
    if (h.duplicate_key) return invalid_field(*h.duplicate_key, "duplicate key '" + *h.duplicate_key + "'");
    if (h.overflow) return invalid("a number is out of range");
    if (ec == boost::json::error::too_deep)
        return invalid("nested deeper than " + std::to_string(max_depth) + " levels");
    if (ec) return invalid(ec.message() + " at byte " + std::to_string(used));
    if (used != input.size()) return invalid("unexpected data after the value at byte " + std::to_string(used));
    return h.stack.release();
}

} // namespace detail

/** Parse a request body strictly.

    Accepts exactly one JSON value surrounded by optional white space. Beyond what
    Boost.JSON checks (syntax, UTF-8 in strings, trailing data), it rejects duplicate
    keys in any object and numbers outside the range of `double`.

    @param body The bytes of the body.
    @param max_depth The deepest nesting of arrays and objects allowed.
    @param sp Where the value's memory comes from (a `boost::json::monotonic_resource`
    for a value that lives only while a request is served); the default heap when empty.
    @returns The value, or `errc::invalid_request` with `details.field` set to `"body"`
    (or to the duplicated key's name).

    @par Complexity
    Linear in `body.size()`; the nesting limit bounds the parser's recursion.
*/
inline result<boost::json::value> parse_json(std::string_view body, std::size_t max_depth = 64,
                                            boost::json::storage_ptr sp = {}) {
    return detail::parse_json_strict(body, max_depth, "request body is not valid JSON: ", std::move(sp));
}

//------------------------------------------------------------------------------
// Reading: one small reader validates every member, so each rule is written once
//------------------------------------------------------------------------------

namespace detail {

/** A member name with up to two aliases: the first present (non-null) one is read,
    and errors always name the canonical `name`. An empty name means the value itself
    (an array element). */
struct json_key {
    std::string_view name;
    std::array<std::string_view, 2> aliases{};

    json_key() = default;
    json_key(char const* n) : name(n) {} // implicit: most members have no alias
    json_key(char const* n, char const* a1, char const* a2 = "") : name(n), aliases{a1, a2} {}
};

/// The value an array element reader reads with `get(element, ...)`.
inline json_key const element{};

/// What a string member must look like.
struct string_rule {
    bool required = false;
    std::size_t min_chars = 0;                  ///< in code points
    std::size_t max_chars = 0;                  ///< in code points; 0: no limit
    bool non_blank = false;                     ///< needs a character that is not white space
    bool item_id = false;                       ///< no `#`: it separates an item id from a segment
    std::span<std::string_view const> one_of{}; ///< the allowed values, if restricted
};

inline constexpr std::string_view message_roles[] = {"system", "user", "assistant", "tool"};
inline constexpr std::string_view conversation_roles[] = {"system", "user", "assistant"};
inline constexpr std::string_view delete_scopes[] = {"global"};

inline constexpr string_rule user_id_rule{.required = true, .min_chars = 1, .max_chars = api_limits::max_user_id_chars};
inline constexpr string_rule required_text{.required = true, .non_blank = true};
inline constexpr string_rule required_string{.required = true};

inline std::string join(std::span<std::string_view const> values) {
    std::string out;
    for (auto v : values) (out += out.empty() ? "" : ", ") += v;
    return out;
}

/** Reads the members of one JSON object (or one array element) into C++ values.

    Errors do not propagate through return values: the first one is recorded in a
    slot shared by a reader and its children and later calls do nothing, so a type's
    reader is a flat list of `get` calls and the caller checks once at the end.
*/
class json_reader {
public:
    json_reader(boost::json::value const& self, std::optional<error>& err, std::string prefix = {},
                std::optional<std::size_t> index = {})
        : self_(&self), err_(&err), prefix_(std::move(prefix)), index_(index) {}

    bool ok() const noexcept { return !*err_; }
    bool is_object() const noexcept { return self_->is_object(); }

    /// The wire name of member `k`, such as `events[2].timestamp`.
    std::string path(json_key const& k) const {
        if (k.name.empty()) return prefix_;
        return prefix_.empty() ? std::string(k.name) : prefix_ + "." + std::string(k.name);
    }

    /// Record the error `message` about member `k`, unless an earlier one is recorded.
    void report(json_key const& k, std::string message) {
        if (!ok()) return;
        *err_ = invalid_field(path(k), std::move(message));
        if (index_) (*err_)->details["index"] = *index_;
    }
    /// Record the error "<member> <what>", such as "events[2].content must not be empty".
    void fail(json_key const& k, std::string const& what) { report(k, path(k) + " " + what); }

    /// Return member `k` (or an alias), or null when absent or JSON null.
    boost::json::value const* find(json_key const& k) const {
        if (k.name.empty()) return self_;
        auto const* obj = self_->if_object();
        if (!obj) return nullptr;
        for (auto name : {k.name, k.aliases[0], k.aliases[1]}) {
            if (name.empty()) continue;
            auto const* v = obj->if_contains(name);
            if (v && !v->is_null()) return v;
        }
        return nullptr;
    }

    void get(json_key const& k, std::string& out, string_rule const& rule = {}) {
        if (auto s = read_string(k, rule)) out = std::move(*s);
    }
    void get(json_key const& k, std::optional<std::string>& out, string_rule const& rule = {}) {
        if (auto s = read_string(k, rule)) out = std::move(*s);
    }

    void get(json_key const& k, std::optional<timestamp>& out, bool required = false) {
        auto const s = read_string(k, {.required = required});
        if (!s) return;
        out = parse_timestamp(*s);
        if (!out) fail(k, "must be an ISO 8601 timestamp such as 2025-10-11T16:05:00Z");
    }
    void get(json_key const& k, timestamp& out) {
        std::optional<timestamp> t;
        get(k, t, true);
        if (t) out = *t;
    }

    void get(json_key const& k, boost::json::object& out) {
        auto const* v = find(k);
        if (!v) return;
        if (auto const* o = v->if_object()) out = *o;
        else fail(k, "must be an object");
    }

    void get(json_key const& k, bool& out) {
        auto const* v = find(k);
        if (!v) return;
        if (auto const* b = v->if_bool()) out = *b;
        else fail(k, "must be true or false");
    }

    void get(json_key const& k, double& out) {
        auto const* v = find(k);
        if (!v) return;
        if (v->is_number()) out = v->to_number<double>();
        else fail(k, "must be a number");
    }
    void get(json_key const& k, std::optional<double>& out, double lo, double hi) {
        double d = lo;
        if (!find(k)) return;
        get(k, d);
        if (ok() && !(d >= lo && d <= hi)) fail(k, "must be a number from " + number(lo) + " to " + number(hi));
        if (ok()) out = d;
    }

    /// Read an integer in [lo, hi]; a double with an integral value counts (JS clients send 5.0).
    void get(json_key const& k, std::size_t& out, std::size_t lo = 0,
             std::size_t hi = std::numeric_limits<std::size_t>::max()) {
        auto const* v = find(k);
        if (!v) return;
        std::optional<std::size_t> n;
        if (auto const* i = v->if_int64()) {
            if (*i >= 0) n = static_cast<std::size_t>(*i);
        } else if (auto const* u = v->if_uint64()) {
            n = static_cast<std::size_t>(*u);
        } else if (auto const* d = v->if_double()) {
            // 2^64 is exact in a double, so the bound check cannot overflow the cast.
            if (*d >= 0 && *d < 18446744073709551616.0 && std::trunc(*d) == *d) n = static_cast<std::size_t>(*d);
        }
        if (!n || *n < lo || *n > hi)
            return fail(k, hi == std::numeric_limits<std::size_t>::max()
                               ? "must be a non-negative integer"
                               : "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
        out = *n;
    }
    void get(json_key const& k, std::optional<std::size_t>& out) {
        if (!find(k)) return;
        std::size_t n = 0;
        get(k, n);
        if (ok()) out = n;
    }

    /// Call `f(reader)` for member `k`, an object, with a reader prefixed by its name.
    template <class F>
    void nested(json_key const& k, F&& f) {
        auto const* v = find(k);
        if (!v) return;
        if (!v->is_object()) return fail(k, "must be an object");
        json_reader child(*v, *err_, path(k), index_);
        f(child);
    }

    /// Call `f(reader)` for each element of member `k`, an array; each reader's errors
    /// name `k[i]` and carry `details.index` = i. Returns false when absent.
    template <class F>
    bool each(json_key const& k, F&& f, bool required = false) {
        auto const* v = find(k);
        if (!v) {
            if (required) fail(k, "is required");
            return false;
        }
        auto const* arr = v->if_array();
        if (!arr) {
            fail(k, "must be an array");
            return true;
        }
        for (std::size_t i = 0; i < arr->size() && ok(); ++i) {
            json_reader child((*arr)[i], *err_, path(k) + "[" + std::to_string(i) + "]", i);
            f(child);
        }
        return true;
    }
    /// Like `each`, for arrays whose elements must be objects.
    template <class F>
    bool each_object(json_key const& k, F&& f, bool required = false) {
        return each(
            k,
            [&](json_reader& item) {
                if (item.is_object()) f(item);
                else item.fail(element, "must be an object");
            },
            required);
    }

private:
    static std::string number(double d) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", d);
        return buf;
    }

    std::optional<std::string> read_string(json_key const& k, string_rule const& rule) {
        auto const* v = find(k);
        if (!v) {
            if (rule.required) fail(k, "is required");
            return std::nullopt;
        }
        auto const* s = v->if_string();
        if (!s) {
            fail(k, "must be a string");
            return std::nullopt;
        }
        std::string_view const sv(*s);
        auto const chars = text::count_code_points(sv);
        if (rule.max_chars && (chars < rule.min_chars || chars > rule.max_chars))
            fail(k, "must be " + std::to_string(rule.min_chars) + " to " + std::to_string(rule.max_chars) +
                        " characters long");
        else if (chars < rule.min_chars || (rule.non_blank && is_blank(sv)))
            fail(k, "must not be empty");
        else if (rule.item_id && sv.find('#') != std::string_view::npos)
            fail(k, "must not contain '#'");
        else if (!rule.one_of.empty() && std::find(rule.one_of.begin(), rule.one_of.end(), sv) == rule.one_of.end())
            fail(k, "must be one of: " + join(rule.one_of));
        if (!ok()) return std::nullopt;
        return std::string(sv);
    }

    boost::json::value const* self_;
    std::optional<error>* err_;
    std::string prefix_;
    std::optional<std::size_t> index_;
};

inline constexpr string_rule item_id_rule(bool required) {
    return {.required = required, .min_chars = required ? 1U : 0U, .max_chars = api_limits::max_item_id_chars, .item_id = true};
}

inline bool is_email(std::string_view s) noexcept {
    auto const at = s.find('@');
    return at != std::string_view::npos && at > 0 && at + 1 < s.size() && s.find('@', at + 1) == std::string_view::npos;
}

// One `read_fields` per type; `from_json` dispatches on the type of its output.

inline void read_fields(json_reader& r, register_request& x) {
    r.get("user_id", x.user_id, {.min_chars = 1, .max_chars = api_limits::max_user_id_chars});
    r.get("email", x.email, {.min_chars = 1});
    if (x.email && !is_email(*x.email)) r.fail("email", "must contain one '@' with text on both sides");
    r.get("traits", x.traits);
    r.get("purpose", x.purpose);
    if (x.user_id.empty() && !x.email) r.fail("user_id", "is required (or email)");
}

// An ingest's event and document, shared with the lines of an import, which call the
// event's type `event_type` (their `type` names the line's kind).
inline void read_fields(json_reader& e, event_input& ev, json_key const& type = "type") {
    e.get("event_id", ev.event_id, item_id_rule(true));
    e.get(type, ev.type, {.required = true, .min_chars = 1});
    e.get("timestamp", ev.time, true);
    e.get("content", ev.content, required_text);
    e.get("metadata", ev.metadata);
}

inline void read_fields(json_reader& d, document_input& doc) {
    d.get("doc_id", doc.doc_id, item_id_rule(false));
    d.get("content", doc.content, required_text);
    d.get("title", doc.title);
    d.get({"kind", "document_type"}, doc.kind);
    d.get("created_at", doc.created_at);
    d.get("metadata", doc.metadata);
}

inline void read_fields(json_reader& r, ingest_request& x) {
    r.get("user_id", x.user_id, user_id_rule);
    r.get("source", x.source);
    r.each_object("events", [&](json_reader& e) { read_fields(e, x.events.emplace_back()); });
    r.each_object("documents", [&](json_reader& d) { read_fields(d, x.documents.emplace_back()); });
    r.each_object("message_history", [&](json_reader& m) {
        auto& msg = x.message_history.emplace_back();
        m.get("role", msg.role, {.required = true, .one_of = message_roles});
        m.get("content", msg.content, required_text);
        m.get("timestamp", msg.time);
        m.get({"id", "message_id"}, msg.id, item_id_rule(false));
    });
    r.nested("options", [&](json_reader& o) { o.get("dedupe", x.dedupe); });
    if (x.events.empty() && x.documents.empty() && x.message_history.empty())
        r.report("events", "at least one event, document or message is required");
}

inline void read_fields(json_reader& r, query_request& x) {
    r.get("user_id", x.user_id, user_id_rule);
    r.get("question", x.question, required_text);
    r.get("use_cache", x.use_cache);
    bool const has_options =
        r.each("options", [&](json_reader& o) { o.get(element, x.options.emplace_back(), required_text); });
    if (has_options && (x.options.size() < api_limits::min_options || x.options.size() > api_limits::max_options))
        r.fail("options", "must have " + std::to_string(api_limits::min_options) + " to " +
                              std::to_string(api_limits::max_options) + " entries");
}

inline void read_fields(json_reader& r, chunks_request& x) {
    r.get("user_id", x.user_id, user_id_rule);
    r.each_object(
        {"conversation", "history", "conversation_history"},
        [&](json_reader& t) {
            auto& turn = x.conversation.emplace_back();
            t.get("role", turn.role, {.required = true, .one_of = conversation_roles});
            t.get("content", turn.content, required_string);
        },
        true);
    if (x.conversation.empty()) r.fail("conversation", "must not be empty");
    r.get({"top_k", "k"}, x.top_k, api_limits::min_top_k, api_limits::max_top_k);
    r.get("similarity_threshold", x.similarity_threshold, 0.0, 1.0);
}

inline void read_fields(json_reader& r, delete_request& x) {
    r.get("user_id", x.user_id, user_id_rule);
    r.get("scope", x.scope, {.one_of = delete_scopes});
    r.get("reason", x.reason);
}

inline void read_fields(json_reader& r, register_response& x) {
    r.get("user_id", x.user_id, required_string);
    r.get("created_at", x.created_at);
    r.get("status", x.status);
    r.get("email", x.email);
}

inline void read_fields(json_reader& r, ingest_response& x) {
    r.get("user_id", x.user_id, required_string);
    r.nested("ingested", [&](json_reader& n) {
        n.get("events", x.events);
        n.get("documents", x.documents);
    });
    r.each_object("skipped", [&](json_reader& s) {
        auto& item = x.skipped.emplace_back();
        s.get("id", item.id, required_string);
        s.get("kind", item.kind);
        s.get("reason", item.reason);
    });
    r.get("updated_at", x.updated_at);
}

inline void read_fields(json_reader& r, query_response& x) {
    r.get("user_id", x.user_id, required_string);
    r.get("answer", x.answer, required_string);
    r.each_object("sources", [&](json_reader& s) {
        auto& src = x.sources.emplace_back();
        s.get("chunk_id", src.chunk_id, required_string);
        s.get("score", src.score);
    });
    r.get("choice", x.choice);
    r.each("option_scores", [&](json_reader& s) { s.get(element, x.option_scores.emplace_back()); });
}

inline void read_fields(json_reader& r, summary_response& x) {
    r.get("user_id", x.user_id, required_string);
    r.get("generated_at", x.generated_at);
    r.get("purpose", x.purpose);
    r.get("summary", x.summary, required_string);
}

inline void read_fields(json_reader& r, chunks_response& x) {
    r.each_object(
        "results",
        [&](json_reader& c) {
            auto& res = x.results.emplace_back();
            c.get("chunk_id", res.chunk_id, required_string);
            c.get("excerpt", res.excerpt, required_string);
            c.get("score", res.score);
        },
        true);
}

inline void read_fields(json_reader& r, delete_response& x) {
    r.get("ticket_id", x.ticket_id, required_string);
    r.get("status", x.status);
    r.get("eta", x.eta);
}

inline void read_fields(json_reader& r, import_response& x) {
    r.get("user_id", x.user_id, required_string);
    r.get("events", x.events);
    r.get("documents", x.documents);
}

template <class T, class... Ts>
inline constexpr bool is_one_of = (std::same_as<T, Ts> || ...);

} // namespace detail

/// The request and response types of `api.hpp` that have a JSON form.
template <class T>
concept wire_type =
    detail::is_one_of<T, register_request, ingest_request, query_request, chunks_request, delete_request,
                      register_response, ingest_response, query_response, summary_response, chunks_response,
                      delete_response, import_response>;

/** Convert a parsed JSON body to a request or response, validating it as API.md says.

    Unknown members are ignored and a member set to `null` counts as absent.

    @tparam T A `wire_type`, such as `ingest_request`.
    @param v The body, normally from `parse_json`.
    @returns The value, or `errc::invalid_request` whose `details.field` names the first
    offending member (`events[2].timestamp`) and, for an array element, `details.index`.
    A body that is not an object gives `details.field` = `"body"`.
*/
template <class T>
    requires wire_type<T>
result<T> from_json(boost::json::value const& v) {
    if (!v.is_object()) return invalid_field("body", "request body must be a JSON object");
    std::optional<error> err;
    detail::json_reader reader(v, err);
    T out{};
    detail::read_fields(reader, out);
    if (err) return std::move(*err);
    return out;
}

/** Parse an error body, in the top-level form `{"code","message","details"}` or the
    nested form `{"error":{...}}`.

    @returns The error; an unknown or missing code gives `errc::internal_error`, keeping
    the message. Never fails: a body that is not an error still yields an error.
*/
inline error error_from_json(boost::json::value const& v) {
    error e{errc::internal_error, {}, {}};
    auto const* obj = v.if_object();
    if (!obj) {
        e.message = "malformed error body";
        return e;
    }
    if (auto const* inner = obj->if_contains("error"); inner && inner->is_object()) obj = &inner->get_object();
    if (auto const* code = obj->if_contains("code"); code && code->is_string())
        e.code = errc_from_string(code->get_string());
    if (auto const* msg = obj->if_contains("message"); msg && msg->is_string()) e.message = msg->get_string();
    if (auto const* details = obj->if_contains("details"); details && details->is_object())
        e.details = details->get_object();
    return e;
}

//------------------------------------------------------------------------------
// Writing
//------------------------------------------------------------------------------

/** Convert an error to its wire body `{"code","message","details"}` (`details` always present). */
inline boost::json::object to_json(error const& e) {
    return {{"code", to_string(e.code)}, {"message", e.message}, {"details", e.details}};
}

// `value_from` support: each function writes the members in API.md's order, which
// Boost.JSON objects keep, so serialized bodies are stable.

/// @{
/** Write `x` into `jv`; makes `boost::json::value_from(x)` work. */
inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, error const& e) { jv = to_json(e); }

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, register_request const& x) {
    auto& o = jv.emplace_object();
    if (!x.user_id.empty()) o.emplace("user_id", x.user_id);
    if (x.email) o.emplace("email", *x.email);
    o.emplace("traits", x.traits);
    if (x.purpose) o.emplace("purpose", *x.purpose);
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, event_input const& x) {
    auto& o = jv.emplace_object();
    o.emplace("event_id", x.event_id);
    o.emplace("type", x.type);
    if (x.time) o.emplace("timestamp", format_timestamp(*x.time));
    o.emplace("content", x.content);
    if (!x.metadata.empty()) o.emplace("metadata", x.metadata);
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, document_input const& x) {
    auto& o = jv.emplace_object();
    if (!x.doc_id.empty()) o.emplace("doc_id", x.doc_id);
    o.emplace("content", x.content);
    if (!x.title.empty()) o.emplace("title", x.title);
    if (!x.kind.empty()) o.emplace("kind", x.kind);
    if (x.created_at) o.emplace("created_at", format_timestamp(*x.created_at));
    if (!x.metadata.empty()) o.emplace("metadata", x.metadata);
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, message_input const& x) {
    auto& o = jv.emplace_object();
    o.emplace("role", x.role);
    o.emplace("content", x.content);
    if (x.time) o.emplace("timestamp", format_timestamp(*x.time));
    if (!x.id.empty()) o.emplace("id", x.id);
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, ingest_request const& x) {
    auto& o = jv.emplace_object();
    o.emplace("user_id", x.user_id);
    if (!x.source.empty()) o.emplace("source", x.source);
    if (!x.events.empty()) o.emplace("events", boost::json::value_from(x.events, o.storage()));
    if (!x.documents.empty()) o.emplace("documents", boost::json::value_from(x.documents, o.storage()));
    if (!x.message_history.empty())
        o.emplace("message_history", boost::json::value_from(x.message_history, o.storage()));
    if (x.dedupe) o.emplace("options", boost::json::object{{"dedupe", true}});
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, query_request const& x) {
    auto& o = jv.emplace_object();
    o.emplace("user_id", x.user_id);
    o.emplace("question", x.question);
    if (x.use_cache) o.emplace("use_cache", true);
    if (!x.options.empty()) o.emplace("options", boost::json::value_from(x.options, o.storage()));
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, conversation_turn const& x) {
    jv = {{"role", x.role}, {"content", x.content}};
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, chunks_request const& x) {
    auto& o = jv.emplace_object();
    o.emplace("user_id", x.user_id);
    o.emplace("conversation", boost::json::value_from(x.conversation, o.storage()));
    o.emplace("top_k", x.top_k);
    if (x.similarity_threshold) o.emplace("similarity_threshold", *x.similarity_threshold);
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, delete_request const& x) {
    auto& o = jv.emplace_object();
    o.emplace("user_id", x.user_id);
    o.emplace("scope", x.scope);
    if (!x.reason.empty()) o.emplace("reason", x.reason);
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, register_response const& x) {
    auto& o = jv.emplace_object();
    o.emplace("user_id", x.user_id);
    o.emplace("created_at", format_timestamp(x.created_at));
    o.emplace("status", x.status);
    if (x.email) o.emplace("email", *x.email);
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, skipped_item const& x) {
    jv = {{"id", x.id}, {"kind", x.kind}, {"reason", x.reason}};
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, ingest_response const& x) {
    auto& o = jv.emplace_object();
    o.emplace("user_id", x.user_id);
    o.emplace("ingested", boost::json::object{{"events", x.events}, {"documents", x.documents}});
    o.emplace("skipped", boost::json::value_from(x.skipped, o.storage()));
    o.emplace("updated_at", format_timestamp(x.updated_at));
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, source_ref const& x) {
    jv = {{"chunk_id", x.chunk_id}, {"score", x.score}};
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, query_response const& x) {
    auto& o = jv.emplace_object();
    o.emplace("user_id", x.user_id);
    o.emplace("answer", x.answer);
    o.emplace("sources", boost::json::value_from(x.sources, o.storage()));
    if (x.choice) {
        o.emplace("choice", *x.choice);
        o.emplace("option_scores", boost::json::value_from(x.option_scores, o.storage()));
    }
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, summary_response const& x) {
    jv = {{"user_id", x.user_id},
          {"generated_at", format_timestamp(x.generated_at)},
          {"purpose", x.purpose},
          {"summary", x.summary}};
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, chunk_result const& x) {
    jv = {{"chunk_id", x.chunk_id}, {"excerpt", x.excerpt}, {"score", x.score}};
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, chunks_response const& x) {
    jv.emplace_object().emplace("results", boost::json::value_from(x.results, jv.storage()));
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, delete_response const& x) {
    jv = {{"ticket_id", x.ticket_id}, {"status", x.status}, {"eta", format_timestamp(x.eta)}};
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, import_response const& x) {
    jv = {{"user_id", x.user_id}, {"events", x.events}, {"documents", x.documents}};
}
/// @}

/** Convert a request or response to JSON, members in API.md's order.

    `from_json<T>(to_json(x))` gives back `x` (timestamps at second precision).
*/
template <class T>
    requires wire_type<T>
boost::json::value to_json(T const& x) {
    return boost::json::value_from(x);
}

namespace detail {

/// The end of the run of characters from `i` on that a JSON string writes as they are
/// (not `"`, `\` or a control character): the position of the first one that needs an
/// escape, or `s.size()`. Eight bytes at a time: a scan of chunk text is most of what
/// serialising a `/chunks` answer costs.
inline std::size_t plain_run_end(std::string_view s, std::size_t i) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    // A byte of `x` is zero (or, for `below`, under n <= 128) where the high bit of the
    // result is set. Borrows run only upwards, so the lowest flagged byte is always a
    // true one, which is the only one used.
    auto const zero_byte = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
    auto const below = [](std::uint64_t x, std::uint64_t n) { return (x - ones * n) & ~x & highs; };
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t x;
        std::memcpy(&x, s.data() + i, 8);
        std::uint64_t const hit = below(x, 0x20) | zero_byte(x ^ (ones * '"')) | zero_byte(x ^ (ones * '\\'));
        if (hit != 0) {
            if constexpr (std::endian::native == std::endian::little)
                return i + static_cast<std::size_t>(std::countr_zero(hit)) / 8;
            else
                break; // the byte loop below finds it
        }
    }
    for (; i < s.size(); ++i) {
        auto const u = static_cast<unsigned char>(s[i]);
        if (u < 0x20 || u == '"' || u == '\\') return i;
    }
    return s.size();
}

/// Append `s` as a JSON string: quoted, with `"`, `\` and control characters escaped
/// (the short escapes where JSON has one, else `\u00XX`); other bytes as they are.
inline void write_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    // Runs of characters that need no escape are appended whole (most text is one run).
    for (std::size_t i = 0; i < s.size();) {
        std::size_t const run = plain_run_end(s, i);
        out.append(s.data() + i, run - i);
        if (run == s.size()) break;
        i = run + 1;
        char const c = s[run];
        auto const u = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    out += '"';
}

/// Append `d` in its shortest round-trip form (`0.84`, `1e-07`, `3`); `null` when it is
/// not finite, which JSON cannot express.
inline void write_json_double(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out += "null";
        return;
    }
    char buf[64];
    auto const r = std::to_chars(buf, buf + sizeof buf, d);
    out.append(buf, r.ptr);
}

} // namespace detail

/** Append `v` to `out` as compact JSON.

    Like `boost::json::serialize`, except for numbers: a double is written in its
    shortest round-trip form as other JSON libraries write it (`0.84`, `1e-07`, `3`),
    not as Boost's `8.4E-1`, so persona's bodies read like the hosted API's.
    Non-finite doubles (which JSON cannot express) are written as `null`.
*/
inline void serialize_to(std::string& out, boost::json::value const& v) {
    auto const string = [&out](std::string_view s) { detail::write_json_string(out, s); };
    switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64: out += std::to_string(v.get_int64()); break;
    case boost::json::kind::uint64: out += std::to_string(v.get_uint64()); break;
    case boost::json::kind::double_: detail::write_json_double(out, v.get_double()); break;
    case boost::json::kind::string: string(v.get_string()); break;
    case boost::json::kind::array: {
        out += '[';
        bool first = true;
        for (auto const& e : v.get_array()) {
            if (!first) out += ',';
            first = false;
            serialize_to(out, e);
        }
        out += ']';
        break;
    }
    case boost::json::kind::object: {
        out += '{';
        bool first = true;
        for (auto const& [k, e] : v.get_object()) {
            if (!first) out += ',';
            first = false;
            string(k);
            out += ':';
            serialize_to(out, e);
        }
        out += '}';
        break;
    }
    }
}

/** Return `v` as compact JSON (see `serialize_to`). */
inline std::string serialize(boost::json::value const& v) {
    std::string out;
    serialize_to(out, v);
    return out;
}

/** Serialize a request, response or error to a compact JSON string. */
template <class T>
    requires(wire_type<T> || std::same_as<T, error>)
std::string serialize(T const& x) {
    if constexpr (std::same_as<T, chunks_response>) {
        // The answer of every turn of every conversation: written directly, without a
        // `boost::json::value` in between (the same bytes; tests/core/json.cpp compares).
        std::string out;
        out += "{\"results\":[";
        for (std::size_t i = 0; i < x.results.size(); ++i) {
            auto const& r = x.results[i];
            out += i == 0 ? "{\"chunk_id\":" : ",{\"chunk_id\":";
            detail::write_json_string(out, r.chunk_id);
            out += ",\"excerpt\":";
            detail::write_json_string(out, r.excerpt);
            out += ",\"score\":";
            detail::write_json_double(out, r.score);
            out += '}';
        }
        out += "]}";
        return out;
    } else {
        // The value is dropped once written: its memory comes from the stack first.
        alignas(std::max_align_t) unsigned char scratch[8192];
        boost::json::monotonic_resource memory(scratch, sizeof scratch);
        return persona::serialize(boost::json::value_from(x, &memory));
    }
}

//------------------------------------------------------------------------------
// The export format (persona extension): `application/x-ndjson`, one object a line
//------------------------------------------------------------------------------

namespace detail {

inline constexpr std::string_view export_formats[] = {export_format};
inline constexpr std::string_view item_line_types[] = {"event", "document"};

// An item line reads like an ingest item plus `type`, `source` and `ingested_at`.
inline boost::json::object export_line(item const& x) {
    boost::json::object o;
    if (x.kind == item_kind::event) {
        o.emplace("type", "event");
        o.emplace("event_id", x.id);
        o.emplace("event_type", x.type);
        o.emplace("source", x.source);
        o.emplace("timestamp", format_timestamp(x.time));
    } else {
        o.emplace("type", "document");
        o.emplace("doc_id", x.id);
        o.emplace("kind", x.type);
        o.emplace("title", x.title);
        o.emplace("source", x.source);
        o.emplace("created_at", format_timestamp(x.time));
    }
    o.emplace("ingested_at", format_timestamp(x.ingested_at));
    o.emplace("content", x.content);
    o.emplace("metadata", x.metadata);
    return o;
}

// The first line: the profile, with register's rules for what register reads.
inline void read_user_line(json_reader& r, user_export& x) {
    std::string type;
    r.get("type", type, required_string);
    if (r.ok() && type != "user") r.fail("type", "must be \"user\": an export starts with the user's line");
    std::string format;
    r.get("format", format, {.required = true, .one_of = export_formats});
    r.get("user_id", x.user_id, user_id_rule);
    register_request reg;
    read_fields(r, reg);
    x.email = std::move(reg.email);
    x.traits = std::move(reg.traits);
    x.purpose = std::move(reg.purpose).value_or("");
    r.get("created_at", x.created_at);
    std::optional<timestamp> updated;
    r.get("updated_at", updated);
    x.updated_at = updated.value_or(x.created_at);
}

// Every other line: an event or a document, with ingest's rules for what ingest reads.
inline void read_item_line(json_reader& r, item& x) {
    std::string type;
    r.get("type", type, {.required = true, .one_of = item_line_types});
    if (!r.ok()) return;
    std::optional<timestamp> created_at; // a document's; an event's time is required
    if (type == "event") {
        event_input ev;
        read_fields(r, ev, "event_type");
        x = item{std::move(ev.event_id), item_kind::event, std::move(ev.type), {}, event_title(ev.metadata),
                 std::move(ev.content), ev.time.value_or(timestamp{}), {}, std::move(ev.metadata)};
    } else {
        document_input doc;
        read_fields(r, doc);
        created_at = doc.created_at;
        x = item{std::move(doc.doc_id), item_kind::document, std::move(doc.kind), {}, std::move(doc.title),
                 std::move(doc.content), {}, {}, std::move(doc.metadata)};
    }
    r.get("source", x.source);
    r.get("ingested_at", x.ingested_at);
    // A document without `created_at` is dated by its ingest, as in `/ingest`.
    if (x.kind == item_kind::document) x.time = created_at.value_or(x.ingested_at);
}

} // namespace detail

/** Write a user's export as `GET /export` returns it: NDJSON, one object a line, each
    line ending in `\n`.

    Line 1 is the profile: `{"type":"user","format":"persona-export/1","user_id",
    "email" (when set),"traits","purpose" (when not empty),"created_at","updated_at"}`.
    Then one line per item, in the order of `x.items`: an event as
    `{"type":"event","event_id","event_type","source","timestamp","ingested_at","content","metadata"}`,
    a document as `{"type":"document","doc_id","kind","title","source","created_at",
    "ingested_at","content","metadata"}` — the names of `/ingest`'s items, plus `type`,
    `source` and `ingested_at` (`event_type`, because `type` names the line's kind).

    @par Complexity
    Linear in the size of the export.
*/
inline std::string to_ndjson(user_export const& x) {
    boost::json::object u;
    u.emplace("type", "user");
    u.emplace("format", export_format);
    u.emplace("user_id", x.user_id);
    if (x.email) u.emplace("email", *x.email);
    u.emplace("traits", x.traits);
    if (!x.purpose.empty()) u.emplace("purpose", x.purpose);
    u.emplace("created_at", format_timestamp(x.created_at));
    u.emplace("updated_at", format_timestamp(x.updated_at));
    std::string out;
    serialize_to(out, u);
    out += '\n';
    for (auto const& it : x.items) {
        serialize_to(out, detail::export_line(it));
        out += '\n';
    }
    return out;
}

/** Parse an export (the body of `POST /import`), validating every line as `/register`
    and `/ingest` validate theirs.

    Lines end in `\n` (or `\r\n`); blank lines at the end are ignored, blank lines
    elsewhere are errors (so that line numbers mean the same here and in the engine).
    The first line must be the `user` line with `format` `persona-export/1` and a
    `created_at`; every other line an `event` or a `document` with an `ingested_at`.
    Unknown members are ignored, `null` counts as absent; a document without
    `created_at` is dated by its `ingested_at`, one without `doc_id` gets its id from
    the engine (a hash of its content), as in `/ingest`.

    @returns The export, or `errc::invalid_request` for the first bad line, with
    `details.line` (1-based) and `details.field` (the member, or `"body"` for a line
    that is not a JSON object), and a message such as `"line 3: content must not be
    empty"`. An empty body is `details.field` = `"body"`.

    @par Complexity
    Linear in `body.size()`.
*/
inline result<user_export> user_export_from_ndjson(std::string_view body) {
    // Trailing blank lines (the last line's "\n" included) are not lines of the export.
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ' || body.back() == '\t'))
        body.remove_suffix(1);
    if (body.empty())
        return invalid_field("body", "request body is empty: an import is the body that GET /export returns");
    user_export x;
    for (std::size_t line = 1; !body.empty(); ++line) {
        auto const nl = body.find('\n');
        std::string_view const line_text = body.substr(0, nl);
        body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
        if (line_text.find_first_not_of(" \t\r") == std::string_view::npos)
            return detail::at_line(invalid_field("body", "the line is blank; each line must be one JSON object"), line);
        auto v = detail::parse_json_strict(line_text, 64, "not valid JSON: ");
        if (!v) {
            auto e = v.error();
            // The usual cause of objects run together on one line: `curl -d @file`.
            bool const one_line = nl == std::string_view::npos && line == 1;
            if (one_line && e.message.find("unexpected data after") != std::string::npos)
                e.message += " (one object a line: curl -d removes newlines, --data-binary keeps them)";
            return detail::at_line(std::move(e), line);
        }
        if (!v->is_object()) return detail::at_line(invalid_field("body", "the line must be a JSON object"), line);
        std::optional<error> err;
        detail::json_reader r(*v, err);
        if (line == 1) detail::read_user_line(r, x);
        else detail::read_item_line(r, x.items.emplace_back());
        if (err) return detail::at_line(std::move(*err), line);
    }
    return x;
}

} // namespace persona

#endif
