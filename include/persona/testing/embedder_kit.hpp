#ifndef PERSONA_TESTING_EMBEDDER_KIT_HPP
#define PERSONA_TESTING_EMBEDDER_KIT_HPP

/// @file
/// The conformance kits of the `embedder` and `answerer` concepts.

#include <persona/concepts.hpp>
#include <persona/testing/report.hpp>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace persona::testing {

/** Check that `e` has the semantics of the `embedder` concept.

    Covers: a positive constant dimension, rows of unit norm (or zero), determinism,
    batch rows equal to single embeddings, a too-small buffer rejected, and a
    minimal semantic sanity check (a paraphrase is closer than an unrelated text).
*/
template <embedder Embedder>
conformance_report check_embedder(Embedder const& e) {
    conformance_report r("embedder");
    std::size_t const dim = e.dimension();
    r.expect(dim > 0, "dimension is positive");
    if (dim == 0) return r;
    std::vector<std::string_view> const texts{"Meetings after 1 PM are preferred.",
                                              "I prefer to hold meetings in the afternoon.",
                                              "A recipe for banana bread with walnuts.", ""};
    std::vector<float> out(texts.size() * dim, 42.0f);
    r.expect(e.embed(texts, out).has_value(), "embed succeeds");
    auto const row = [&](std::size_t i) { return std::span<float const>(out).subspan(i * dim, dim); };
    auto const norm = [](std::span<float const> v) {
        double s = 0;
        for (float x : v) s += static_cast<double>(x) * x;
        return std::sqrt(s);
    };
    auto const cosine = [&](std::size_t a, std::size_t b) {
        double s = 0;
        for (std::size_t j = 0; j < dim; ++j) s += static_cast<double>(row(a)[j]) * row(b)[j];
        return s;
    };
    for (std::size_t i = 0; i + 1 < texts.size(); ++i)
        r.expect(std::abs(norm(row(i)) - 1.0) < 1e-4, "a non-empty text embeds to a unit vector");
    double const last = norm(row(texts.size() - 1));
    r.expect(last < 1e-6 || std::abs(last - 1.0) < 1e-4, "an empty text embeds to zero or a unit vector");
    r.expect(cosine(0, 1) > cosine(0, 2), "a paraphrase is closer than an unrelated text");

    std::vector<float> single(dim);
    std::vector<std::string_view> const one{texts[1]};
    r.expect(e.embed(one, single).has_value() && std::equal(single.begin(), single.end(), row(1).begin()),
             "a text embeds to the same row alone as in a batch");
    std::vector<float> again(texts.size() * dim);
    r.expect(e.embed(texts, again).has_value() && again == out, "embedding is deterministic");
    r.expect(e.dimension() == dim, "the dimension does not change");
    std::vector<float> small(dim);
    auto too_small = e.embed(texts, small);
    r.expect(!too_small && too_small.error().code == errc::invalid_request, "a too-small buffer is invalid_request");
    return r;
}

/** Check that `a` has the semantics of the `answerer` concept.

    Covers: thin evidence gives a plain answer and no sources; sources name only given
    evidence; determinism; decision prediction returns a valid choice and one score
    per option.
*/
template <answerer Answerer>
conformance_report check_answerer(Answerer const& a) {
    conformance_report r("answerer");
    user_record user;
    user.ref = {"kit", "u1"};
    user.traits["name"] = "Ash";
    user.traits["timezone"] = "America/Los_Angeles";

    std::vector<evidence> none;
    auto thin = a.answer(answer_context{"What does Ash think about opera?", user, none, {}});
    r.expect(thin.has_value() && !thin->text.empty() && thin->sources.empty(),
             "no evidence gives a non-empty answer without sources, not an error");

    std::vector<evidence> ev(2);
    ev[0].chunk.chunk_id = "e1#s1";
    ev[0].chunk.item_id = "e1";
    ev[0].chunk.type = "email";
    ev[0].chunk.text = "Let's move stand-up to 2 PM starting next week. Mornings are for focus work.";
    ev[0].chunk.time = std::chrono::sys_days{std::chrono::year{2025} / 10 / 10};
    ev[0].score = 0.9;
    ev[1].chunk.chunk_id = "d1#p1";
    ev[1].chunk.item_id = "d1";
    ev[1].chunk.type = "document";
    ev[1].chunk.text = "I really dislike early calls and never take meetings before 10.";
    ev[1].chunk.time = std::chrono::sys_days{std::chrono::year{2025} / 10 / 9};
    ev[1].score = 0.7;
    auto ans = a.answer(answer_context{"When does Ash prefer to have meetings?", user, ev, {}});
    r.expect(ans.has_value() && !ans->text.empty(), "an answer with evidence has text");
    r.expect(ans && !ans->sources.empty() && std::ranges::all_of(ans->sources, [&](source_ref const& s) {
                 return s.chunk_id == "e1#s1" || s.chunk_id == "d1#p1";
             }),
             "sources name only evidence that was given");
    auto again = a.answer(answer_context{"When does Ash prefer to have meetings?", user, ev, {}});
    r.expect(ans && again && ans->text == again->text && ans->sources == again->sources, "answers are deterministic");

    std::vector<std::string> const options{"A meeting at 8 AM", "A meeting at 2 PM", "A dinner meeting"};
    auto pick = a.answer(answer_context{"Which slot would Ash pick?", user, ev, options});
    r.expect(pick && pick->choice && *pick->choice < options.size(), "with options, choice indexes an option");
    r.expect(pick && pick->option_scores.size() == options.size(), "with options, one score per option");
    return r;
}

} // namespace persona::testing

#endif
