#ifndef PERSONA_EVAL_DATASET_HPP
#define PERSONA_EVAL_DATASET_HPP

/// @file
/// The evaluation file format (`../shared/eval/README.md`): one JSON object a line,
/// `register`, `ingest` and `query` records, read into users with their events and
/// questions.

#include <persona/api.hpp>
#include <persona/error.hpp>
#include <persona/time.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace persona::eval {

/** One `query` record: a question about a user, with what a good engine returns. */
struct eval_query {
    std::string query_id;
    std::string question;
    std::optional<std::string> answer;            ///< the gold answer; `nullopt` when null, absent or empty
    std::vector<std::string> evidence_event_ids;  ///< gold evidence, event ids (duplicates removed)
    std::string category = "none";                ///< `category` as text (`"1"`, `"explicit"`); `"none"` when absent
    bool numeric_category = false;                ///< `category` was an integer (LoCoMo's numbering)
    std::vector<std::string> options;             ///< decision prediction: the choices (may be empty)
    std::optional<std::size_t> correct_option;    ///< index into `options` of the right pick
};

/** One user of the file: the profile, the events in file order, then the questions. */
struct eval_user {
    std::string user_id;
    boost::json::object traits;     ///< from the `register` record(s); later ones overwrite keys
    std::vector<event_input> events;
    std::vector<eval_query> queries;
};

/** A whole evaluation file. Users are in the order they first appear. */
struct dataset {
    std::vector<eval_user> users;

    /// Return the number of events of all users.
    std::size_t event_count() const noexcept {
        std::size_t n = 0;
        for (auto const& u : users) n += u.events.size();
        return n;
    }
    /// Return the number of questions of all users.
    std::size_t query_count() const noexcept {
        std::size_t n = 0;
        for (auto const& u : users) n += u.queries.size();
        return n;
    }
};

namespace detail {

inline error dataset_error(std::size_t line, std::string_view field, std::string const& message) {
    boost::json::object details;
    details["line"] = line;
    if (!field.empty()) details["field"] = field;
    return make_error(errc::invalid_request, "line " + std::to_string(line) + ": " + message, std::move(details));
}

// A required or optional string member; `nullopt` with `ok == false` reports a bad type.
struct string_member {
    bool ok = true;
    std::optional<std::string> value;
};

inline string_member get_string(boost::json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return {};
    if (!v->is_string()) return {false, std::nullopt};
    return {true, std::string(v->get_string())};
}

// A scalar as text: gold answers are sometimes numbers (a year) in the sources.
inline std::optional<std::string> scalar_text(boost::json::value const& v) {
    char buf[64];
    switch (v.kind()) {
    case boost::json::kind::string: return std::string(v.get_string());
    case boost::json::kind::int64: return std::to_string(v.get_int64());
    case boost::json::kind::uint64: return std::to_string(v.get_uint64());
    case boost::json::kind::double_: {
        auto const r = std::to_chars(buf, buf + sizeof buf, v.get_double());
        return std::string(buf, r.ptr);
    }
    case boost::json::kind::bool_: return std::string(v.get_bool() ? "true" : "false");
    default: return std::nullopt;
    }
}

inline result<std::vector<std::string>> get_strings(boost::json::object const& o, std::string_view key,
                                                    std::size_t line) {
    std::vector<std::string> out;
    auto const* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_array()) return dataset_error(line, key, std::string(key) + " must be an array of strings");
    for (auto const& e : v->get_array()) {
        if (!e.is_string()) return dataset_error(line, key, std::string(key) + " must be an array of strings");
        out.emplace_back(e.get_string());
    }
    return out;
}

} // namespace detail

/** Read an evaluation file's text.

    Each non-blank line is one JSON object whose `op` is `register` (`user_id`,
    optional `traits`), `ingest` (`user_id`, `event_id`, `type`, `timestamp`,
    `content`) or `query` (`user_id`, `query_id`, `question`, optional `answer`,
    `evidence_event_ids`, `category`, `options`, `correct_option`). `meta` and any
    other member are ignored: they describe the source, they are not API input. A
    user's records may be spread over the file; its events keep their file order, and
    every question is asked after all its user's events are ingested.

    @param text the file's content (UTF-8; `\n` or `\r\n` line ends).
    @returns the users in order of first appearance, or `errc::invalid_request` whose
    `details.line` (1-based) and `details.field` name the first bad record.

    @par Complexity
    Linear in the size of `text`.
*/
[[nodiscard]] inline result<dataset> parse_dataset(std::string_view text) {
    dataset d;
    std::map<std::string, std::size_t, std::less<>> index;
    auto const user_of = [&](std::string const& id) -> eval_user& {
        auto [it, fresh] = index.try_emplace(id, d.users.size());
        if (fresh) d.users.push_back(eval_user{.user_id = id, .traits = {}, .events = {}, .queries = {}});
        return d.users[it->second];
    };

    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;

        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(line, ec);
        if (ec) return detail::dataset_error(line_no, "", "not valid JSON: " + ec.message());
        if (!v.is_object()) return detail::dataset_error(line_no, "", "a record must be a JSON object");
        auto const& o = v.get_object();

        auto const op = detail::get_string(o, "op");
        if (!op.ok || !op.value) return detail::dataset_error(line_no, "op", "op is required (register, ingest or query)");
        auto const user_id = detail::get_string(o, "user_id");
        if (!user_id.ok || !user_id.value || user_id.value->empty())
            return detail::dataset_error(line_no, "user_id", "user_id is required");

        if (*op.value == "register") {
            eval_user& u = user_of(*user_id.value);
            if (auto const* t = o.if_contains("traits"); t != nullptr && !t->is_null()) {
                if (!t->is_object()) return detail::dataset_error(line_no, "traits", "traits must be an object");
                for (auto const& [k, tv] : t->get_object()) u.traits[k] = tv;
            }
        } else if (*op.value == "ingest") {
            event_input e;
            for (auto [field, out] : {std::pair{"event_id", &e.event_id}, std::pair{"type", &e.type},
                                      std::pair{"content", &e.content}}) {
                auto const s = detail::get_string(o, field);
                if (!s.ok || !s.value) return detail::dataset_error(line_no, field, std::string(field) + " is required");
                *out = *s.value;
            }
            auto const ts = detail::get_string(o, "timestamp");
            if (!ts.ok || !ts.value) return detail::dataset_error(line_no, "timestamp", "timestamp is required");
            e.time = parse_timestamp(*ts.value);
            if (!e.time) return detail::dataset_error(line_no, "timestamp", "timestamp is not an ISO 8601 time");
            user_of(*user_id.value).events.push_back(std::move(e));
        } else if (*op.value == "query") {
            eval_query q;
            auto const qid = detail::get_string(o, "query_id");
            auto const question = detail::get_string(o, "question");
            if (!qid.ok || !qid.value) return detail::dataset_error(line_no, "query_id", "query_id is required");
            if (!question.ok || !question.value)
                return detail::dataset_error(line_no, "question", "question is required");
            q.query_id = *qid.value;
            q.question = *question.value;
            if (auto const* a = o.if_contains("answer"); a != nullptr && !a->is_null()) {
                q.answer = detail::scalar_text(*a);
                if (!q.answer) return detail::dataset_error(line_no, "answer", "answer must be a string, a number or null");
                if (q.answer->find_first_not_of(" \t\r\n") == std::string::npos) q.answer.reset();
            }
            auto ev = detail::get_strings(o, "evidence_event_ids", line_no);
            if (!ev) return ev.error();
            for (auto& id : *ev)
                if (std::find(q.evidence_event_ids.begin(), q.evidence_event_ids.end(), id) == q.evidence_event_ids.end())
                    q.evidence_event_ids.push_back(std::move(id));
            if (auto const* c = o.if_contains("category"); c != nullptr && !c->is_null()) {
                if (c->is_int64() || c->is_uint64()) {
                    q.category = *detail::scalar_text(*c);
                    q.numeric_category = true;
                } else if (c->is_string() && !c->get_string().empty()) {
                    q.category = std::string(c->get_string());
                } else {
                    return detail::dataset_error(line_no, "category", "category must be an integer or a string");
                }
            }
            auto opts = detail::get_strings(o, "options", line_no);
            if (!opts) return opts.error();
            q.options = std::move(*opts);
            if (auto const* c = o.if_contains("correct_option"); c != nullptr && !c->is_null()) {
                if (!c->is_int64() && !c->is_uint64())
                    return detail::dataset_error(line_no, "correct_option", "correct_option must be an integer");
                auto const i = c->is_int64() ? c->get_int64() : static_cast<std::int64_t>(c->get_uint64());
                if (i < 0 || static_cast<std::size_t>(i) >= q.options.size())
                    return detail::dataset_error(line_no, "correct_option", "correct_option must index options");
                q.correct_option = static_cast<std::size_t>(i);
            }
            user_of(*user_id.value).queries.push_back(std::move(q));
        } else {
            return detail::dataset_error(line_no, "op", "unknown op '" + *op.value + "' (register, ingest or query)");
        }
    }
    return d;
}

/** Read an evaluation file from disk (see `parse_dataset`).

    @returns the dataset, `errc::not_found` when the file cannot be read, or the
    parse error.
*/
[[nodiscard]] inline result<dataset> read_dataset(std::filesystem::path const& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(errc::not_found, "cannot read " + path.string());
    std::ostringstream buf;
    buf << in.rdbuf();
    auto d = parse_dataset(buf.str());
    if (!d) d.error().message = path.string() + ": " + d.error().message;
    return d;
}

} // namespace persona::eval

#endif
