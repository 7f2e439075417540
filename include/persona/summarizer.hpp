#ifndef PERSONA_SUMMARIZER_HPP
#define PERSONA_SUMMARIZER_HPP

/// @file
/// `summarizer`: the deterministic profile summaries of `/summary`.

#include <persona/concepts.hpp>
#include <persona/detail/evidence_text.hpp>
#include <persona/text/analyzer.hpp>
#include <persona/text/utf8.hpp>
#include <persona/traits.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace persona {

/** Builds a profile summary: traits first, then salient, non-redundant facts.

    Facts are evidence sentences chosen by maximal marginal relevance: relevance is
    the retrieval score of their chunk for the purpose's query (see `purpose_query`),
    redundancy the term overlap with facts already chosen. Chosen facts are written
    newest first, so where two facts conflict the newer one leads. The text is cut to
    `max_chars` code points at a word boundary.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (const, no state).
*/
class summarizer {
public:
    /// Tuning.
    struct options {
        std::size_t max_facts = 6;          ///< facts in a summary
        std::size_t default_max_chars = 1200; ///< length when the request sets none
        double relevance_weight = 0.7;      ///< MMR lambda: relevance against novelty
        double redundancy_cutoff = 0.6;     ///< a fact this similar to a chosen one is dropped
    };

    summarizer() = default;
    explicit summarizer(options const& o) : options_(o) {}

    /** The retrieval query for a summary purpose: words that facts of that purpose use. */
    static search_query purpose_query(std::string_view purpose) {
        struct entry {
            std::string_view purpose;
            std::string_view words;
            bool recent;
        };
        static constexpr entry entries[] = {
            {"general", "prefer like always usually important plan work project decided love want", false},
            {"work-style", "work schedule meeting meetings focus prefer communication async morning afternoon hours "
                           "team stand-up calendar deadline concise",
             false},
            {"persona", "role founder engineer background personality interests hobby family lives values", false},
            {"decision-style", "decide decided decision chose choose prefer option tradeoff because priority rather",
             false},
            {"preferences", "prefer prefers like love favorite enjoy want dislike hate avoid rather", false},
            {"tool", "tool tools app software use slack notion gmail jira github editor calendar docs", false},
            {"device", "device phone laptop mac macbook iphone android windows tablet ipad watch headphones", false},
            {"situation", "currently now today this week traveling busy working deadline plan soon next", true},
        };
        search_query q;
        for (auto const& e : entries)
            if (e.purpose == purpose) {
                q.parts.push_back({std::string(e.words), 1.0});
                q.prefer_recent = e.recent;
            }
        return q;
    }

    /** Summarise `user` for `purpose` from `ev` (retrieved for `purpose_query`, best first). */
    std::string summarize(user_record const& user, std::string_view purpose, std::span<evidence const> ev,
                          std::optional<std::size_t> max_chars) const {
        std::string out = header(user);
        std::size_t const budget = max_chars.value_or(options_.default_max_chars);
        auto facts = choose_facts(ev, purpose, budget);
        std::size_t length = text::count_code_points(out);
        for (auto const& f : facts) {
            // Whole facts only while they fit; a cut mid-citation reads badly.
            std::size_t const n = text::count_code_points(f) + 1;
            if (length + n > budget) continue;
            out += ' ';
            out += f;
            length += n;
        }
        if (facts.empty() && ev.empty()) {
            if (!out.empty()) out += ' ';
            out += "No events or documents to summarise.";
        }
        return text::truncate_at_word(out, budget);
    }

private:
    static std::string display_key(std::string_view path) {
        std::string key(path.substr(path.rfind('.') == std::string_view::npos ? 0 : path.rfind('.') + 1));
        std::ranges::replace(key, '_', ' ');
        if (!key.empty()) key[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(key[0])));
        return key;
    }

    /// "Ash Lewis (usr_42af7c). Timezone: America/Los_Angeles. Notes: ..."
    static std::string header(user_record const& user) {
        std::string out = detail::display_name(user);
        if (out != user.ref.user_id) out += " (" + user.ref.user_id + ")";
        out += '.';
        for (auto const& t : flatten_traits(user.traits)) {
            if (t.path == "name" || t.path == "full_name" || t.path == "first_name" || t.path == "display_name") continue;
            out += ' ' + display_key(t.path) + ": " + detail::as_sentence(t.value);
        }
        return out;
    }

    struct candidate {
        std::string_view text;
        std::size_t evidence_index;
        double relevance;
        std::vector<std::string> terms;
    };

    std::vector<std::string> choose_facts(std::span<evidence const> ev, std::string_view purpose,
                                          std::size_t budget) const {
        // A sentence is relevant through its chunk's retrieval score and its own use of
        // the purpose's words (a chunk can mix a relevant sentence with small talk).
        std::vector<std::string> purpose_terms;
        for (auto const& p : purpose_query(purpose).parts) analyzer_.terms(p.text, purpose_terms);
        std::ranges::sort(purpose_terms);
        purpose_terms.erase(std::unique(purpose_terms.begin(), purpose_terms.end()), purpose_terms.end());
        std::vector<candidate> pool;
        for (auto& s : detail::split_evidence(analyzer_, ev)) {
            if (s.terms.size() < 2) continue; // "Thanks!" and the like carry no fact
            double const own = static_cast<double>(detail::shared_terms(s.terms, purpose_terms));
            double const relevance = 0.6 * ev[s.evidence_index].score + 0.4 * own / (own + 1.0);
            pool.push_back({s.text, s.evidence_index, relevance, std::move(s.terms)});
        }
        std::vector<candidate const*> chosen;
        std::vector<bool> used(pool.size(), false);
        std::size_t length = 0;
        while (chosen.size() < options_.max_facts && length < budget) {
            std::optional<std::size_t> best;
            double best_value = 0;
            for (std::size_t i = 0; i < pool.size(); ++i) {
                if (used[i]) continue;
                double redundancy = 0;
                for (auto const* c : chosen) redundancy = std::max(redundancy, detail::jaccard(pool[i].terms, c->terms));
                if (redundancy > options_.redundancy_cutoff) {
                    used[i] = true;
                    continue;
                }
                double const value =
                    options_.relevance_weight * pool[i].relevance - (1 - options_.relevance_weight) * redundancy;
                if (!best || value > best_value) { // strict: ties keep the earlier (better-ranked) sentence
                    best = i;
                    best_value = value;
                }
            }
            if (!best) break;
            used[*best] = true;
            chosen.push_back(&pool[*best]);
            length += pool[*best].text.size() + 32;
        }
        std::ranges::stable_sort(chosen, [&](candidate const* a, candidate const* b) {
            auto const& ca = ev[a->evidence_index].chunk;
            auto const& cb = ev[b->evidence_index].chunk;
            return ca.time != cb.time ? ca.time > cb.time : ca.chunk_id < cb.chunk_id;
        });
        std::vector<std::string> out;
        for (auto const* c : chosen) {
            auto const& ch = ev[c->evidence_index].chunk;
            std::string fact = detail::as_sentence(c->text);
            if (fact.back() == '.') fact.pop_back(); // "fact (email, 10 October 2025)." reads better
            out.push_back(fact + " (" + detail::citation(ch) + ").");
        }
        return out;
    }

    options options_{};
    text::analyzer analyzer_{};
};

} // namespace persona

#endif
