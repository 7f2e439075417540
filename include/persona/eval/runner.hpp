#ifndef PERSONA_EVAL_RUNNER_HPP
#define PERSONA_EVAL_RUNNER_HPP

/// @file
/// `evaluate`: feed an evaluation file to any model of `personalization_api` (an engine
/// in process, or a server through `remote_api`) and score what it returns.

#include <persona/api.hpp>
#include <persona/concepts.hpp>
#include <persona/eval/dataset.hpp>
#include <persona/eval/metrics.hpp>
#include <persona/json.hpp>

#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace persona::eval {

/** How far a run is, for a progress display. */
struct run_progress {
    std::size_t done = 0;      ///< events ingested plus questions asked so far
    std::size_t total = 0;     ///< events plus questions of the whole run
    std::string_view phase;    ///< `ingest` or `query`
    std::string_view user_id;  ///< the user being fed or asked about
};

/** How `evaluate` feeds the file. */
struct run_options {
    std::size_t top_k = 50;                 ///< `/chunks` depth asked (recall@k needs k ≤ top_k)
    std::size_t ingest_batch = 100;         ///< events per `/ingest` request, in file order
    std::size_t max_users = 0;              ///< only the first N users (0: all)
    std::size_t max_queries_per_user = 0;   ///< only each user's first N questions (0: all)
    std::string source = "persona-eval";    ///< the `source` of the ingest requests
    std::function<void(run_progress const&)> on_progress; ///< called after each request that moves the run on
};

/** What the target returned for one question, and the gold data to score it. */
struct query_outcome {
    std::string user_id;
    std::string query_id;
    std::string category;
    std::vector<std::string> evidence;   ///< gold item ids
    std::vector<std::string> retrieved;  ///< items of the `/chunks` results, best first, each once
    bool chunks_failed = false;          ///< `/chunks` returned an error (recall counts it as nothing found)
    std::optional<double> f1;            ///< answer F1, when the question has a gold answer
    bool scored_choice = false;          ///< the question has `options` and `correct_option`
    bool choice_correct = false;         ///< the response's `choice` was `correct_option`
    std::optional<std::size_t> choice;   ///< the response's `choice`
    std::string answer;                  ///< the response's `answer` (empty when `/query` failed)
    bool query_failed = false;           ///< `/query` returned an error
};

/** Latency percentiles of one operation, in milliseconds. */
struct operation_latency {
    std::string operation; ///< `register`, `ingest`, `chunks` or `query`
    std::size_t count = 0; ///< requests timed
    double p50 = 0, p95 = 0, p99 = 0;
};

/** The outcome of a run: every question's result and the timings. Aggregate with the members. */
struct report {
    std::size_t users = 0;               ///< users fed
    std::size_t events = 0;              ///< events ingested
    std::size_t queries = 0;             ///< questions asked
    std::size_t top_k = 0;               ///< the `/chunks` depth used (lowered when the target refuses more)
    std::vector<std::size_t> ks;         ///< the k of recall@k that depth allows
    std::vector<query_outcome> outcomes; ///< in file order
    std::vector<std::string> warnings;   ///< what a reader of the numbers should know
    std::map<std::string, std::vector<double>> latency_ms; ///< samples per operation
    double ingest_seconds = 0;           ///< time spent in `/ingest` requests
    double seconds = 0;                  ///< the whole run

    /// Return evidence recall@k per category, then `all`.
    std::vector<category_mean> recall_at(std::size_t k) const {
        category_means m;
        for (auto const& o : outcomes) m.add(o.category, evidence_recall(o.retrieved, o.evidence, k));
        return m.rows();
    }
    /// Return choice accuracy per category, then `all`, over the questions with options; empty when none has.
    std::vector<category_mean> choice_accuracy() const {
        category_means m;
        for (auto const& o : outcomes)
            if (o.scored_choice) m.add(o.category, o.choice_correct ? 1.0 : 0.0);
        return m.rows();
    }
    /// Return answer F1 per category, then `all`, over the questions with a gold answer; empty when none has.
    std::vector<category_mean> answer_f1() const {
        category_means m;
        for (auto const& o : outcomes)
            if (o.f1) m.add(o.category, *o.f1);
        return m.rows();
    }
    /// Return how many `/chunks` requests failed.
    std::size_t chunks_errors() const noexcept {
        return static_cast<std::size_t>(std::count_if(outcomes.begin(), outcomes.end(),
                                                      [](query_outcome const& o) { return o.chunks_failed; }));
    }
    /// Return how many `/query` requests failed.
    std::size_t query_errors() const noexcept {
        return static_cast<std::size_t>(std::count_if(outcomes.begin(), outcomes.end(),
                                                      [](query_outcome const& o) { return o.query_failed; }));
    }
    /// Return p50/p95/p99 of each operation that ran, in the order register, ingest, chunks, query.
    std::vector<operation_latency> latencies() const {
        std::vector<operation_latency> out;
        for (std::string_view op : {"register", "ingest", "chunks", "query"}) {
            auto it = latency_ms.find(std::string(op));
            if (it == latency_ms.end() || it->second.empty()) continue;
            out.push_back({std::string(op), it->second.size(), percentile(it->second, 50), percentile(it->second, 95),
                           percentile(it->second, 99)});
        }
        return out;
    }
    /// Return events ingested per second of `/ingest` time (0 when nothing was ingested).
    double ingest_events_per_second() const noexcept {
        return ingest_seconds > 0 ? static_cast<double>(events) / ingest_seconds : 0.0;
    }
};

namespace detail {

// The k of recall@k a depth allows: the standard ones up to it, and the depth itself
// when it is below the deepest standard k (so recall at the full depth is still shown).
inline std::vector<std::size_t> ks_for(std::size_t top_k) {
    std::vector<std::size_t> ks;
    for (auto k : recall_ks)
        if (k <= top_k) ks.push_back(k);
    if (top_k < recall_ks[std::size(recall_ks) - 1] && (ks.empty() || ks.back() != top_k)) ks.push_back(top_k);
    return ks;
}

inline bool refuses_top_k(error const& e) {
    if (e.code != errc::invalid_request) return false;
    if (auto const* f = e.details.if_contains("field"); f && f->is_string() && f->get_string() == "top_k") return true;
    return e.message.find("top_k") != std::string::npos;
}

} // namespace detail

/** Feed `data` to `api` and score every question.

    For each user in file order: `register_user` with the file's traits, `ingest` of
    its events in batches of `o.ingest_batch` (file order), then for each question
    `chunks` (the question as the one user turn, `top_k = o.top_k`) for evidence
    recall and `query` (with the question's `options`, if any) for answer F1 (the
    questions with a gold answer, except LoCoMo's adversarial category 5, which LoCoMo
    scores by abstention) and choice accuracy (the questions with `options` and
    `correct_option`; no `choice` in the response counts as wrong). Requests run one
    at a time, so the same data and target give the same outcomes.

    When the target refuses `o.top_k` (API.md caps `top_k` at 20), the run continues
    at `api_limits::max_top_k`, says so in `warnings`, and reports recall only up to
    that depth. A failed `chunks` or `query` counts as a miss (the outcome says so);
    a failed `register` or `ingest` ends the run.

    @returns the report, or the error of a `register` or `ingest` (its message names
    the user).

    @par Thread safety
    Calls `api` from the calling thread only.
*/
template <personalization_api Api>
[[nodiscard]] result<report> evaluate(Api& api, dataset const& data, run_options const& o = {}) {
    using clock = std::chrono::steady_clock;
    auto const ms_since = [](clock::time_point t0) {
        return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    };
    auto const run_start = clock::now();

    report r;
    r.top_k = std::max<std::size_t>(1, o.top_k);
    r.ks = detail::ks_for(r.top_k);
    std::size_t const batch = std::max<std::size_t>(1, o.ingest_batch);
    std::size_t const n_users = o.max_users ? std::min(o.max_users, data.users.size()) : data.users.size();
    auto const queries_of = [&](eval_user const& u) {
        return o.max_queries_per_user ? std::min(o.max_queries_per_user, u.queries.size()) : u.queries.size();
    };

    run_progress p;
    for (std::size_t i = 0; i < n_users; ++i) p.total += data.users[i].events.size() + queries_of(data.users[i]);
    auto const advance = [&](std::size_t by, std::string_view phase, std::string_view user) {
        p.done += by;
        p.phase = phase;
        p.user_id = user;
        if (o.on_progress) o.on_progress(p);
    };
    bool first_chunks = true;

    for (std::size_t ui = 0; ui < n_users; ++ui) {
        eval_user const& u = data.users[ui];
        register_request reg;
        reg.user_id = u.user_id;
        reg.traits = u.traits;
        auto t0 = clock::now();
        auto registered = api.register_user(reg);
        r.latency_ms["register"].push_back(ms_since(t0));
        if (!registered) {
            auto e = registered.error();
            e.message = "register " + u.user_id + ": " + e.message;
            return e;
        }
        ++r.users;

        for (std::size_t b = 0; b < u.events.size(); b += batch) {
            ingest_request in;
            in.user_id = u.user_id;
            in.source = o.source;
            auto const end = std::min(u.events.size(), b + batch);
            in.events.assign(u.events.begin() + static_cast<std::ptrdiff_t>(b),
                             u.events.begin() + static_cast<std::ptrdiff_t>(end));
            t0 = clock::now();
            auto ingested = api.ingest(in);
            double const took = ms_since(t0);
            r.latency_ms["ingest"].push_back(took);
            r.ingest_seconds += took / 1000.0;
            if (!ingested) {
                auto e = ingested.error();
                e.message = "ingest " + u.user_id + " (events " + std::to_string(b + 1) + "-" + std::to_string(end) +
                            "): " + e.message;
                return e;
            }
            r.events += end - b;
            advance(end - b, "ingest", u.user_id);
        }

        for (std::size_t qi = 0, nq = queries_of(u); qi < nq; ++qi) {
            eval_query const& q = u.queries[qi];
            query_outcome out;
            out.user_id = u.user_id;
            out.query_id = q.query_id;
            out.category = q.category;
            out.evidence = q.evidence_event_ids;

            chunks_request c;
            c.user_id = u.user_id;
            c.conversation.push_back({"user", q.question});
            c.top_k = r.top_k;
            t0 = clock::now();
            auto found = api.chunks(c);
            if (!found && first_chunks && r.top_k > api_limits::max_top_k && detail::refuses_top_k(found.error())) {
                r.warnings.push_back("the target refused top_k " + std::to_string(r.top_k) + " (" +
                                     found.error().message + "); recall is measured up to " +
                                     std::to_string(api_limits::max_top_k));
                r.top_k = c.top_k = api_limits::max_top_k;
                r.ks = detail::ks_for(r.top_k);
                t0 = clock::now();
                found = api.chunks(c);
            }
            r.latency_ms["chunks"].push_back(ms_since(t0));
            first_chunks = false;
            if (found) {
                out.retrieved = ranked_items(found->results);
            } else {
                out.chunks_failed = true;
                if (r.chunks_errors() == 0)
                    r.warnings.push_back("chunks " + q.query_id + " failed: " + found.error().message);
            }

            query_request qr;
            qr.user_id = u.user_id;
            qr.question = q.question;
            qr.options = q.options;
            t0 = clock::now();
            auto answered = api.query(qr);
            r.latency_ms["query"].push_back(ms_since(t0));
            if (answered) {
                out.answer = answered->answer;
                out.choice = answered->choice;
            } else {
                out.query_failed = true;
                if (r.query_errors() == 0)
                    r.warnings.push_back("query " + q.query_id + " failed: " + answered.error().message);
            }
            // LoCoMo scores its adversarial category (5) by abstention, not F1: it is skipped.
            if (q.answer && !(q.numeric_category && q.category == "5"))
                out.f1 = locomo_f1(out.answer, *q.answer, q.category, q.numeric_category);
            if (!q.options.empty() && q.correct_option) {
                out.scored_choice = true;
                out.choice_correct = out.choice && *out.choice == *q.correct_option;
            }
            r.outcomes.push_back(std::move(out));
            ++r.queries;
            advance(1, "query", u.user_id);
        }
    }
    r.seconds = ms_since(run_start) / 1000.0;
    return r;
}

namespace detail {

inline double percent(double fraction) { return std::round(fraction * 10000.0) / 100.0; }
inline double rounded_ms(double ms) { return std::round(ms * 1000.0) / 1000.0; }

inline boost::json::object percents(std::vector<category_mean> const& rows) {
    boost::json::object o;
    for (auto const& row : rows) o[row.category] = percent(row.mean);
    return o;
}

inline boost::json::object counts(std::vector<category_mean> const& rows) {
    boost::json::object o;
    for (auto const& row : rows) o[row.category] = row.count;
    return o;
}

inline std::string fixed(double x, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
    return buf;
}

inline std::string pad_left(std::string s, std::size_t width) {
    if (s.size() < width) s.insert(0, width - s.size(), ' ');
    return s;
}

inline std::string pad_right(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

} // namespace detail

/** Return the report as one JSON object.

    Deterministic members (the same for the same file and target): `users`,
    `events`, `queries`, `top_k`, `recall` (k as a string → category → percent,
    plus `all`), `choice` and `f1` (category → percent, plus `all`; present only
    when some question has options / a gold answer), `count` (how many questions
    each table averages), `errors` (`chunks`, `query`). Timing members, which differ
    from run to run: `latency_ms` (operation → `n`, `p50`, `p95`, `p99`),
    `ingest_events_per_s` and `seconds`. Percents have two decimals.
*/
inline boost::json::object report_json(report const& r) {
    boost::json::object j;
    j["users"] = r.users;
    j["events"] = r.events;
    j["queries"] = r.queries;
    j["top_k"] = r.top_k;
    boost::json::object recall;
    for (auto k : r.ks) recall[std::to_string(k)] = detail::percents(r.recall_at(k));
    j["recall"] = std::move(recall);
    auto const choice = r.choice_accuracy();
    auto const f1 = r.answer_f1();
    if (!choice.empty()) j["choice"] = detail::percents(choice);
    if (!f1.empty()) j["f1"] = detail::percents(f1);
    boost::json::object count;
    count["recall"] = detail::counts(r.recall_at(1));
    if (!choice.empty()) count["choice"] = detail::counts(choice);
    if (!f1.empty()) count["f1"] = detail::counts(f1);
    j["count"] = std::move(count);
    j["errors"] = boost::json::object{{"chunks", r.chunks_errors()}, {"query", r.query_errors()}};
    boost::json::object lat;
    for (auto const& l : r.latencies())
        lat[l.operation] = boost::json::object{{"n", l.count},
                                               {"p50", detail::rounded_ms(l.p50)},
                                               {"p95", detail::rounded_ms(l.p95)},
                                               {"p99", detail::rounded_ms(l.p99)}};
    j["latency_ms"] = std::move(lat);
    j["ingest_events_per_s"] = std::round(r.ingest_events_per_second() * 10.0) / 10.0;
    j["seconds"] = std::round(r.seconds * 1000.0) / 1000.0;
    return j;
}

/** Return the report as human-readable tables (recall, choice, F1, latency, throughput). */
inline std::string format_report(report const& r) {
    using detail::fixed;
    using detail::pad_left;
    using detail::pad_right;
    std::string s;
    s += std::to_string(r.users) + " users, " + std::to_string(r.events) + " events, " + std::to_string(r.queries) +
         " questions; /chunks top_k " + std::to_string(r.top_k) + "\n";

    auto const recall_rows = r.recall_at(1);
    std::size_t width = 8;
    for (auto const& row : recall_rows) width = std::max(width, row.category.size() + 2);

    s += "\nEvidence recall@k (%)\n" + pad_right("category", width) + pad_left("n", 6);
    for (auto k : r.ks) s += pad_left("@" + std::to_string(k), 7);
    s += "\n";
    std::vector<std::vector<category_mean>> by_k;
    for (auto k : r.ks) by_k.push_back(r.recall_at(k));
    for (std::size_t i = 0; i < recall_rows.size(); ++i) {
        s += pad_right(recall_rows[i].category, width) + pad_left(std::to_string(recall_rows[i].count), 6);
        for (auto const& rows : by_k) s += pad_left(fixed(rows[i].mean * 100, 1), 7);
        s += "\n";
    }

    auto const table = [&](std::string const& title, std::vector<category_mean> const& rows, std::string const& col) {
        if (rows.empty()) return;
        s += "\n" + title + "\n" + pad_right("category", width) + pad_left("n", 6) + pad_left(col, 10) + "\n";
        for (auto const& row : rows)
            s += pad_right(row.category, width) + pad_left(std::to_string(row.count), 6) +
                 pad_left(fixed(row.mean * 100, 1), 10) + "\n";
    };
    table("Choice accuracy (%, through /query with options)", r.choice_accuracy(), "accuracy");
    table("Answer token-F1 (%, LoCoMo normalisation; questions without a gold answer skipped)", r.answer_f1(), "F1");

    if (auto const ch = r.chunks_errors(), q = r.query_errors(); ch || q)
        s += "\nErrors: " + std::to_string(ch) + " /chunks, " + std::to_string(q) + " /query (counted as misses)\n";

    s += "\nLatency (ms)\n" + pad_right("operation", 10) + pad_left("n", 7) + pad_left("p50", 10) + pad_left("p95", 10) +
         pad_left("p99", 10) + "\n";
    for (auto const& l : r.latencies())
        s += pad_right(l.operation, 10) + pad_left(std::to_string(l.count), 7) + pad_left(fixed(l.p50, 2), 10) +
             pad_left(fixed(l.p95, 2), 10) + pad_left(fixed(l.p99, 2), 10) + "\n";
    s += "\nIngest throughput: " + fixed(r.ingest_events_per_second(), 0) + " events/s; whole run " +
         fixed(r.seconds, 1) + " s\n";
    return s;
}

} // namespace persona::eval

#endif
