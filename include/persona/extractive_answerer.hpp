#ifndef PERSONA_EXTRACTIVE_ANSWERER_HPP
#define PERSONA_EXTRACTIVE_ANSWERER_HPP

/// @file
/// `extractive_answerer`: grounded answers composed from the user's own words, offline.

#include <persona/concepts.hpp>
#include <persona/detail/evidence_text.hpp>
#include <persona/soft_terms.hpp>
#include <persona/text/analyzer.hpp>
#include <persona/traits.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace persona {

/** Answers questions by quoting the best evidence sentences, with dates. Models `answerer`.

    Needs no network and is deterministic. It works out what is asked:
    - a **trait** (name, timezone, locale, location, role, ...): answered from the
      profile when a trait's key matches the question;
    - a **time** ("when", "what time", "what date"): sentences that name a time rank higher;
    - a **person** ("who", "whom"): sentences that name someone other than the user rank higher;
    - a **preference** ("prefer", "like", "favorite", ...): sentences that state one rank higher;
    - anything else: the sentences that share the most informative terms with the question.

    Every quoted sentence is followed by its citation: type, title and date.

    With `options` it predicts a decision: each option is scored by the evidence
    clauses that mention its distinctive terms (a clause that rejects what it names,
    "I avoid X" or "rather than X", counts against the option; an option that itself
    rejects it, "with no X", turns that around), and the best-scoring option is the
    `choice`. With `options::soft` on, an option's word also matches the similar
    words of the evidence ("smartphone" and "mobile"), weighted by their similarity.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (`answer` is const, keeps no state).
*/
class extractive_answerer {
public:
    /// Tuning.
    struct options {
        double min_evidence_score = 0.05; ///< evidence scoring less is ignored
        std::size_t max_sentences = 2;    ///< sentences quoted in an answer
        soft_terms soft{};                ///< with word vectors, options also match similar evidence words
        double assistant_weight = 0.1;    ///< weight in decisions of what an assistant said (lines "Assistant: ...")
    };

    extractive_answerer() = default;
    explicit extractive_answerer(options const& o) : options_(o) {}

    /** Answer `ctx.question` from `ctx.user`'s traits and `ctx.evidence`. */
    [[nodiscard]] result<persona::answer> answer(answer_context const& ctx) const {
        std::vector<evidence> ev;
        for (auto const& e : ctx.evidence)
            if (e.score >= options_.min_evidence_score) ev.push_back(e);
        std::string const name = detail::display_name(ctx.user);
        if (!ctx.options.empty()) return decide(ctx, ev, name);

        persona::answer out;
        auto const question_terms = detail::unique_terms(analyzer_, ctx.question);
        std::string trait_answer = answer_from_traits(ctx, name);
        auto picked = best_sentences(ctx.question, question_terms, ev, name);
        if (trait_answer.empty() && picked.empty()) {
            out.text = "I don't have enough information about " + name + " to answer that yet.";
            return out;
        }
        out.text = trait_answer;
        for (auto const& p : picked) {
            auto const& c = ev[p.evidence_index].chunk;
            if (!out.text.empty()) out.text += ' ';
            // The quote keeps its own punctuation; the citation carries the date.
            out.text += "\"" + std::string(trim(p.text)) + "\" (" + detail::citation(c) + ").";
            if (std::ranges::none_of(out.sources, [&](source_ref const& s) { return s.chunk_id == c.chunk_id; }))
                out.sources.push_back({c.chunk_id, ev[p.evidence_index].score});
        }
        return out;
    }

private:
    struct picked_sentence {
        std::string_view text;
        std::size_t evidence_index;
        double score;
    };

    static std::string_view trim(std::string_view s) {
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
        return s;
    }

    static bool has_word(std::vector<std::string> const& words, std::initializer_list<std::string_view> any) {
        return std::ranges::any_of(words, [&](std::string const& w) { return std::ranges::find(any, w) != any.end(); });
    }

    static bool asks_when(std::string_view question) {
        std::vector<std::string> words;
        text::tokenize_words(question, words);
        return has_word(words, {"when", "date", "day", "time", "year", "month"}) &&
               !has_word(words, {"timezone", "zone"});
    }

    /// A trait answers the question when the words of its key appear in it (synonyms included).
    std::string answer_from_traits(answer_context const& ctx, std::string const& name) const {
        std::vector<std::string> words;
        text::tokenize_words(ctx.question, words);
        struct synonym {
            std::string_view question_word;
            std::string_view key_word;
        };
        static constexpr synonym synonyms[] = {
            {"timezone", "timezone"}, {"zone", "timezone"},  {"tz", "timezone"},      {"locale", "locale"},
            {"language", "locale"},   {"language", "language"}, {"live", "location"}, {"based", "location"},
            {"located", "location"},  {"city", "city"},      {"country", "country"},  {"job", "role"},
            {"role", "role"},         {"title", "title"},    {"email", "email"},      {"name", "name"},
            {"called", "name"},       {"company", "company"}, {"work", "company"},    {"notes", "notes"},
        };
        std::string best_path, best_value;
        for (auto const& t : flatten_traits(ctx.user.traits)) {
            std::vector<std::string> key_words;
            std::string key = t.path;
            std::ranges::replace(key, '_', ' ');
            std::ranges::replace(key, '.', ' ');
            text::tokenize_words(key, key_words);
            bool match = false;
            for (auto const& kw : key_words) {
                if (kw.size() < 2) continue;
                if (std::ranges::find(words, kw) != words.end()) match = true;
                for (auto const& s : synonyms)
                    if (s.key_word == kw && std::ranges::find(words, s.question_word) != words.end()) match = true;
            }
            if (match && kw_not_generic(key_words)) {
                best_path = key;
                best_value = t.value;
                break;
            }
        }
        if (best_path.empty()) return {};
        return name + "'s " + best_path + " is " + best_value + ".";
    }

    static bool kw_not_generic(std::vector<std::string> const& key_words) {
        return !(key_words.size() == 1 && (key_words[0] == "notes" || key_words[0] == "note"));
    }

    /// Score every evidence sentence against the question; keep the best, non-redundant ones.
    std::vector<picked_sentence> best_sentences(std::string_view question, std::vector<std::string> const& q_terms,
                                                std::span<evidence const> ev, std::string const& name) const {
        auto const sentences = detail::split_evidence(analyzer_, ev);
        if (sentences.empty()) return {};
        auto const name_terms = detail::unique_terms(analyzer_, name);
        // Terms in many evidence sentences say little; weigh each question term by rarity.
        std::map<std::string, double> weight;
        for (auto const& t : q_terms) {
            if (std::ranges::binary_search(name_terms, t)) continue; // the user's own name matches everything
            std::size_t df = 0;
            for (auto const& s : sentences) df += std::ranges::binary_search(s.terms, t) ? 1 : 0;
            weight[t] = std::log(1.0 + static_cast<double>(sentences.size()) / (1.0 + static_cast<double>(df)));
        }
        double total = 0;
        for (auto const& [t, w] : weight) total += w;
        std::vector<std::string> words;
        text::tokenize_words(question, words);
        bool const wants_preference = has_word(words, {"prefer", "prefers", "preference", "like", "likes", "favorite",
                                                       "favourite", "enjoy", "love", "want", "usually"});
        bool const wants_time = asks_when(question);
        bool const wants_person = has_word(words, {"who", "whom", "whose"});
        std::vector<picked_sentence> scored;
        for (auto const& s : sentences) {
            double overlap = 0;
            for (auto const& [t, w] : weight) overlap += std::ranges::binary_search(s.terms, t) ? w : 0;
            double score = 0.6 * (total > 0 ? overlap / total : 0) + 0.4 * ev[s.evidence_index].score;
            if (wants_preference && states_preference(s.text)) score += 0.15;
            if (wants_time && names_a_time(s.text)) score += 0.15;
            if (wants_person && names_a_person(s.text, name)) score += 0.15;
            scored.push_back({s.text, s.evidence_index, score});
        }
        std::ranges::stable_sort(scored, [&](picked_sentence const& a, picked_sentence const& b) {
            return a.score != b.score ? a.score > b.score
                                      : ev[a.evidence_index].chunk.chunk_id < ev[b.evidence_index].chunk.chunk_id;
        });
        std::vector<picked_sentence> out{scored.front()};
        for (std::size_t i = 1; i < scored.size() && out.size() < options_.max_sentences; ++i) {
            if (scored[i].score < 0.6 * out.front().score) break;
            if (std::ranges::any_of(out, [&](picked_sentence const& p) { return p.evidence_index == scored[i].evidence_index; }))
                continue;
            out.push_back(scored[i]);
        }
        return out;
    }

    static bool states_preference(std::string_view s) {
        std::vector<std::string> words;
        text::tokenize_words(s, words);
        return has_word(words, {"prefer", "prefers", "preferred", "like", "love", "favorite", "favourite", "enjoy",
                                "always", "usually", "rather", "hate", "avoid", "never"});
    }

    /// Whether a sentence names a time or date: "2 PM", "9:30", "Tuesday", "morning", "March", "2023".
    static bool names_a_time(std::string_view s) {
        std::vector<std::string> words;
        text::tokenize_words(s, words);
        static constexpr std::string_view cues[] = {
            "am", "pm", "noon", "midnight", "morning", "mornings", "afternoon", "afternoons", "evening", "evenings",
            "night", "tonight", "today", "tomorrow", "yesterday", "week", "weekend", "month", "year", "monday",
            "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mondays", "tuesdays", "wednesdays",
            "thursdays", "fridays", "saturdays", "sundays", "january", "february", "march", "april", "may", "june",
            "july", "august", "september", "october", "november", "december", "ago", "since", "daily", "weekly"};
        for (auto const& w : words) {
            if (std::ranges::find(cues, w) != std::end(cues)) return true;
            if (w.find(':') != std::string::npos && std::isdigit(static_cast<unsigned char>(w.front()))) return true;
            if (w.size() >= 3 && (w.ends_with("am") || w.ends_with("pm")) && std::isdigit(static_cast<unsigned char>(w.front())))
                return true;
            if (w.size() == 4 && std::ranges::all_of(w, [](char c) { return c >= '0' && c <= '9'; }) && (w[0] == '1' || w[0] == '2'))
                return true;
        }
        return false;
    }

    /// Whether a sentence names someone other than the user: a capitalised word that does not
    /// start the sentence (or follow a colon) and is not "I" or the user's own name.
    static bool names_a_person(std::string_view s, std::string const& user_name) {
        auto const tokens = text::tokenize(s);
        for (std::size_t i = 1; i < tokens.size(); ++i) {
            unsigned char const first = static_cast<unsigned char>(s[tokens[i].offset]);
            if (!std::isupper(first) || tokens[i].text == "i") continue;
            auto const before = s.substr(0, tokens[i].offset);
            auto const last = before.find_last_not_of(" \t");
            if (last != std::string_view::npos && std::string_view(".:!?").find(before[last]) != std::string_view::npos)
                continue;
            std::string original(s.substr(tokens[i].offset, tokens[i].length));
            if (user_name.find(original) != std::string::npos) continue;
            return true;
        }
        return false;
    }

    /** Split `sentence` into clauses with a polarity: -1 for what the user turns away
        from, +1 otherwise. A clause is negative when it holds a negation or aversion
        word, or starts with a contrast that names the rejected side ("rather than X",
        "instead of X", or "over X" after a preference word); "but" starts a new clause,
        and so does "and", "while" or "whereas" before a preference verb ("... and
        prefer Y").
    */
    static std::vector<std::pair<std::string, double>> polar_clauses(std::string_view sentence) {
        std::vector<std::string> words;
        text::tokenize_words(sentence, words);
        static constexpr std::string_view negative[] = {
            "not", "don't", "dont", "never", "hate", "hates", "dislike", "dislikes", "avoid", "avoids", "no",
            "can't", "cannot", "allergic", "won't", "isn't", "aversion", "averse", "ineffective", "dread",
            "tired", "overwhelming", "uncomfortable", "boring", "distracting", "demotivating", "unappealing",
            "without", "against", "less", "stop", "away", "tedious", "annoying", "frustrating", "detest", "loathe",
            "nauseous", "stressful", "uninterested", "refuse", "neither", "nor", "too"};
        static constexpr std::string_view preference[] = {"prefer", "prefers", "preferred", "love", "loves", "like",
                                                          "likes", "enjoy", "enjoys", "favor", "favour", "want",
                                                          "rather", "opt", "choose", "best"};
        auto const in = [](std::string_view w, auto const& list) { return std::ranges::find(list, w) != std::end(list); };
        std::vector<std::pair<std::string, double>> out;
        std::string current;
        double polarity = 1.0;
        bool negated = false;
        bool prefers = false;
        auto const flush = [&] {
            if (!current.empty()) out.emplace_back(current, negated ? -1.0 : polarity);
            current.clear();
            polarity = 1.0;
            negated = prefers = false;
        };
        for (std::size_t i = 0; i < words.size(); ++i) {
            auto const& w = words[i];
            bool const next_is_preference = i + 1 < words.size() && in(words[i + 1], preference);
            if (w == "but" || ((w == "and" || w == "while" || w == "whereas") && next_is_preference)) {
                flush();
                continue;
            }
            if ((w == "rather" && i + 1 < words.size() && words[i + 1] == "than") ||
                (w == "instead" && i + 1 < words.size() && words[i + 1] == "of") || (w == "over" && prefers)) {
                flush();
                polarity = -1.0;
                if (w != "over") ++i;
                continue;
            }
            if (in(w, negative)) negated = true;
            if (in(w, preference)) prefers = true;
            current += (current.empty() ? "" : " ") + w;
        }
        flush();
        return out;
    }

    /// A term with the vector of the word it came from (empty without soft matching) and
    /// the polarity of its clause.
    struct polar_term {
        std::string term;
        word_vector vector;
        double polarity = 1.0;
    };

    /// The distinct terms of `text`, sorted, each with its vector and the polarity of the
    /// clause it first appears in (see `polar_clauses`).
    std::vector<polar_term> polar_terms(std::string_view text) const {
        std::vector<polar_term> out;
        std::vector<std::string> terms, words;
        for (auto const& [clause, polarity] : polar_clauses(text)) {
            terms.clear();
            words.clear();
            analyzer_.terms(clause, terms, &words);
            for (std::size_t i = 0; i < terms.size(); ++i)
                if (std::ranges::none_of(out, [&](polar_term const& t) { return t.term == terms[i]; }))
                    out.push_back({terms[i], options_.soft.lookup(words[i], terms[i]), polarity});
        }
        std::ranges::sort(out, {}, &polar_term::term);
        return out;
    }

    /// The distinct terms of an option, sorted, with their vectors. A term is negative
    /// after a word that rejects it within the option ("with no ads", "minimal grinding"),
    /// unless that word opens the option (a title such as "No Man's Sky").
    std::vector<polar_term> option_terms(std::string_view option) const {
        static constexpr std::string_view rejecting[] = {"no", "without", "minimal", "zero", "fewer", "less", "non", "not"};
        std::vector<std::string> words, terms, surface;
        text::tokenize_words(option, words);
        std::vector<polar_term> out;
        bool negated = false;
        for (std::size_t i = 0; i < words.size(); ++i) {
            auto const& w = words[i];
            if (w == "and" || w == "but" || w == "with") negated = false;
            if (i > 0 && std::ranges::find(rejecting, w) != std::end(rejecting)) negated = true;
            terms.clear();
            surface.clear();
            analyzer_.terms(w, terms, &surface);
            for (std::size_t j = 0; j < terms.size(); ++j)
                if (std::ranges::none_of(out, [&](polar_term const& t) { return t.term == terms[j]; }))
                    out.push_back({terms[j], options_.soft.lookup(surface[j], terms[j]), negated ? -1.0 : 1.0});
        }
        std::ranges::sort(out, {}, &polar_term::term);
        return out;
    }

    /// How well term `t` is matched by `clause`: 1 for the same term, else the best
    /// soft match times its weight (0 without soft matching).
    double term_match(polar_term const& t, std::span<polar_term const> clause) const {
        auto const it = std::ranges::lower_bound(clause, t.term, {}, &polar_term::term);
        if (it != clause.end() && it->term == t.term) return 1.0;
        if (!options_.soft.enabled() || !t.vector) return 0.0;
        float best = 0;
        for (auto const& c : clause) best = std::max(best, options_.soft.match(t.vector, c.vector));
        return options_.soft.get_options().weight * static_cast<double>(best);
    }

    /// Decision prediction: score options by the evidence clauses mentioning their distinctive terms.
    result<persona::answer> decide(answer_context const& ctx, std::span<evidence const> ev, std::string const& name) const {
        std::size_t const n = ctx.options.size();
        std::vector<std::vector<polar_term>> option_terms(n);
        std::map<std::string, std::size_t> df;
        for (std::size_t i = 0; i < n; ++i) {
            option_terms[i] = this->option_terms(ctx.options[i]);
            for (auto const& t : option_terms[i]) ++df[t.term];
        }
        // What an assistant proposed in a conversation is not what the user prefers: the
        // user's reply is ("I'll go with option 1, the in-person course").
        auto const turns = detail::split_evidence_turns(analyzer_, ev);
        std::vector<detail::evidence_sentence> sentences;
        std::vector<double> speaker_weight;
        for (auto const& t : turns) {
            sentences.push_back(t.sentence);
            speaker_weight.push_back(detail::is_assistant_label(t.speaker) ? options_.assistant_weight : 1.0);
        }
        // Preferences come as contrasts ("an aversion to online courses and prefer
        // in-person classes"): each clause carries its own polarity, so an option is
        // supported by the clauses that favour what it names and opposed by the others.
        struct clause {
            std::size_t sentence;
            std::vector<polar_term> terms;
            double polarity;
        };
        std::vector<clause> clauses;
        for (std::size_t s = 0; s < sentences.size(); ++s)
            for (auto const& [text, polarity] : polar_clauses(sentences[s].text))
                clauses.push_back({s, polar_terms(text), polarity});
        std::vector<double> raw(n, 0.0);
        std::vector<std::optional<std::size_t>> best_sentence(n);
        std::vector<double> best_support(n, 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            auto const idf = [&](polar_term const& t) {
                return std::log(1.0 + static_cast<double>(n) / static_cast<double>(df[t.term]));
            };
            double norm = 0;
            for (auto const& t : option_terms[i]) norm += idf(t);
            if (norm <= 0) continue;
            for (auto const& c : clauses) {
                // An option term in a rejecting part of the option ("with no ads") agrees
                // with a clause that rejects it too.
                double agree = 0, weight = 0;
                for (auto const& t : option_terms[i])
                    if (double const m = term_match(t, c.terms); m > 0) {
                        agree += m * idf(t) * t.polarity;
                        weight += m * idf(t);
                    }
                if (weight <= 0) continue;
                double const support =
                    (weight / norm) * ev[sentences[c.sentence].evidence_index].score * speaker_weight[c.sentence];
                double const sign = c.polarity * (agree >= 0 ? 1.0 : -1.0);
                raw[i] += sign * support;
                if (sign > 0 && support > best_support[i]) {
                    best_support[i] = support;
                    best_sentence[i] = c.sentence;
                }
            }
        }
        persona::answer out;
        out.option_scores.resize(n);
        for (std::size_t i = 0; i < n; ++i) out.option_scores[i] = 0.5 + 0.5 * std::tanh(raw[i]);
        std::size_t choice = 0;
        for (std::size_t i = 1; i < n; ++i)
            if (raw[i] > raw[choice]) choice = i;
        out.choice = choice;
        if (!best_sentence[choice] || raw[choice] <= 0) {
            out.text = "Nothing " + name + " has shared points to one of these options; \"" + ctx.options[choice] +
                       "\" is the default pick.";
            return out;
        }
        auto const& s = sentences[*best_sentence[choice]];
        auto const& e = ev[s.evidence_index];
        out.text = name + " would most likely pick \"" + ctx.options[choice] + "\": \"" + std::string(trim(s.text)) +
                   "\" (" + detail::citation(e.chunk) + ").";
        out.sources.push_back({e.chunk.chunk_id, e.score});
        return out;
    }

    options options_{};
    text::analyzer analyzer_{};
};

static_assert(answerer<extractive_answerer>);

} // namespace persona

#endif
