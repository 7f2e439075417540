#ifndef PERSONA_EVAL_METRICS_HPP
#define PERSONA_EVAL_METRICS_HPP

/// @file
/// The evaluation metrics, defined as the published benchmarks define them so numbers
/// compare: evidence recall@k (LoCoMo), answer token-F1 (LoCoMo's normalisation),
/// choice accuracy (PrefEval), latency percentiles.

#include <persona/api.hpp>
#include <persona/text/case_fold.hpp>
#include <persona/text/porter2.hpp>
#include <persona/text/utf8.hpp>
#include <persona/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace persona::eval {

/// The k of evidence recall@k the tools report (the LoCoMo paper's Table 3).
inline constexpr std::size_t recall_ks[] = {1, 3, 5, 10, 25, 50};

/** Return the items (events, documents) of ranked chunks, best first, each once.

    A chunk id maps to its item by the part before its last `#` (`D1:3#s2` → `D1:3`),
    so an event split into several chunks counts once, at its best rank.
*/
inline std::vector<std::string> ranked_items(std::span<chunk_result const> results) {
    std::vector<std::string> out;
    for (auto const& r : results) {
        std::string_view const id = item_id_of(r.chunk_id);
        if (std::find(out.begin(), out.end(), id) == out.end()) out.emplace_back(id);
    }
    return out;
}

/** Return evidence recall@k for one question (the LoCoMo paper's definition).

    The fraction of the gold `evidence` found among the first `k` of `ranked` (item
    ids, best first, each once); a question without evidence counts 1.

    @param ranked the retrieved items, as `ranked_items` returns them.
    @param evidence the gold item ids, without duplicates.
    @param k how many retrieved items count.
*/
inline double evidence_recall(std::span<std::string const> ranked, std::span<std::string const> evidence,
                              std::size_t k) {
    if (evidence.empty()) return 1.0;
    auto const top = ranked.first(std::min(k, ranked.size()));
    std::size_t found = 0;
    for (auto const& e : evidence)
        if (std::find(top.begin(), top.end(), e) != top.end()) ++found;
    return static_cast<double>(found) / static_cast<double>(evidence.size());
}

/** Normalise an answer as LoCoMo's evaluation does (SQuAD's steps, plus theirs).

    Removes commas, lower-cases (Unicode case folding), removes ASCII punctuation,
    removes the words `a`, `an`, `the` and `and`, and collapses white space to single
    spaces. `"The Beagle, and a cat!"` → `"beagle cat"`.
*/
inline std::string normalize_answer(std::string_view s) {
    std::string folded;
    folded.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        auto const d = text::decode_one(s, i);
        i += d.length == 0 ? 1 : d.length;
        char32_t const cp = d.cp;
        if (text::is_space(cp)) {
            folded += ' ';
        } else if (cp < 0x80) {
            auto const c = static_cast<char>(cp);
            // string.punctuation: every printable ASCII character that is not a letter, digit or space.
            bool const punct = (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
                               (c >= '{' && c <= '~');
            if (punct) continue;
            folded += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        } else {
            text::append_utf8(folded, text::fold_case(cp));
        }
    }
    std::string out;
    std::size_t i = 0;
    while (i < folded.size()) {
        while (i < folded.size() && folded[i] == ' ') ++i;
        std::size_t const start = i;
        while (i < folded.size() && folded[i] != ' ') ++i;
        std::string_view const w(folded.data() + start, i - start);
        if (w.empty() || w == "a" || w == "an" || w == "the" || w == "and") continue;
        if (!out.empty()) out += ' ';
        out += w;
    }
    return out;
}

/** Return the tokens F1 compares: the normalised answer's words, stemmed (Porter2). */
inline std::vector<std::string> answer_tokens(std::string_view s) {
    std::vector<std::string> out;
    std::string const n = normalize_answer(s);
    std::size_t i = 0;
    while (i < n.size()) {
        std::size_t const sp = std::min(n.find(' ', i), n.size());
        std::string w = n.substr(i, sp - i);
        text::porter2_stem_in_place(w);
        out.push_back(std::move(w));
        i = sp + 1;
    }
    return out;
}

/** Return the token F1 of a predicted answer against a gold one, in [0, 1].

    LoCoMo's `f1_score`: both sides normalised (`normalize_answer`) and stemmed,
    then precision and recall over the token multisets; 0 when nothing is shared
    (so also when either side is empty).
*/
inline double token_f1(std::string_view prediction, std::string_view gold) {
    auto p = answer_tokens(prediction);
    auto g = answer_tokens(gold);
    if (p.empty() || g.empty()) return 0.0;
    std::map<std::string, std::size_t> counts;
    for (auto const& t : g) ++counts[t];
    std::size_t same = 0;
    for (auto const& t : p)
        if (auto it = counts.find(t); it != counts.end() && it->second > 0) {
            --it->second;
            ++same;
        }
    if (same == 0) return 0.0;
    double const precision = static_cast<double>(same) / static_cast<double>(p.size());
    double const recall = static_cast<double>(same) / static_cast<double>(g.size());
    return 2 * precision * recall / (precision + recall);
}

/** Return LoCoMo's answer F1 for a question of a LoCoMo category.

    As LoCoMo's evaluation script scores each category: multi-hop (1) splits both
    answers at commas and averages, over the gold parts, the best `token_f1` with any
    predicted part; open-domain (3) keeps the gold answer up to its first `;`; every
    other category is `token_f1`. LoCoMo scores category 5 (adversarial: the gold
    answer is usually empty) by whether the prediction abstains, not by F1; `evaluate`
    leaves it out of F1.

    @param numeric_category whether the category is LoCoMo's integer numbering; when
    false (PrefEval's `explicit`, ...) this is `token_f1`.
*/
inline double locomo_f1(std::string_view prediction, std::string_view gold, std::string_view category,
                        bool numeric_category = true) {
    auto const split = [](std::string_view s, char sep) {
        std::vector<std::string_view> parts;
        std::size_t i = 0;
        while (true) {
            std::size_t const p = s.find(sep, i);
            parts.push_back(s.substr(i, p == std::string_view::npos ? std::string_view::npos : p - i));
            if (p == std::string_view::npos) break;
            i = p + 1;
        }
        return parts;
    };
    if (numeric_category && category == "1") {
        auto const preds = split(prediction, ',');
        auto const golds = split(gold, ',');
        double sum = 0;
        for (auto g : golds) {
            double best = 0;
            for (auto p : preds) best = std::max(best, token_f1(p, g));
            sum += best;
        }
        return sum / static_cast<double>(golds.size());
    }
    if (numeric_category && category == "3") return token_f1(prediction, split(gold, ';').front());
    return token_f1(prediction, gold);
}

/** Return the `p`-th percentile (0–100) of `samples` by the nearest-rank method; 0 when empty. */
inline double percentile(std::vector<double> samples, double p) {
    if (samples.empty()) return 0.0;
    std::sort(samples.begin(), samples.end());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
    rank = std::clamp<std::size_t>(rank, 1, samples.size());
    return samples[rank - 1];
}

/** Order categories for reports: integers numerically first, then text. */
inline bool category_less(std::string_view a, std::string_view b) noexcept {
    auto const numeric = [](std::string_view s) {
        return !s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    bool const na = numeric(a), nb = numeric(b);
    if (na != nb) return na;
    if (na && a.size() != b.size()) return a.size() < b.size();
    return a < b;
}

/** One row of a per-category table: the mean of a metric over the questions of a category. */
struct category_mean {
    std::string category;  ///< a category, or `all` for every question
    std::size_t count = 0; ///< questions averaged
    double mean = 0;       ///< in [0, 1]

    friend bool operator==(category_mean const&, category_mean const&) = default;
};

/** Averages a metric per category and overall (the mean over all questions, not of the categories).

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class category_means {
public:
    /// Add one question's value.
    void add(std::string const& category, double value) {
        auto& s = sums_[category];
        s.first += value;
        ++s.second;
        all_.first += value;
        ++all_.second;
    }

    /// Return whether nothing was added.
    bool empty() const noexcept { return all_.second == 0; }

    /// Return the rows: categories in `category_less` order, then `all`.
    std::vector<category_mean> rows() const {
        std::vector<category_mean> out;
        for (auto const& [c, s] : sums_) out.push_back({c, s.second, s.first / static_cast<double>(s.second)});
        std::sort(out.begin(), out.end(),
                  [](category_mean const& a, category_mean const& b) { return category_less(a.category, b.category); });
        if (!empty()) out.push_back({"all", all_.second, all_.first / static_cast<double>(all_.second)});
        return out;
    }

private:
    std::map<std::string, std::pair<double, std::size_t>> sums_;
    std::pair<double, std::size_t> all_{0.0, 0};
};

} // namespace persona::eval

#endif
