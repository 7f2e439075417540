#ifndef PERSONA_TESTING_RETRIEVER_KIT_HPP
#define PERSONA_TESTING_RETRIEVER_KIT_HPP

/// @file
/// The conformance kit of the `retriever` concept.

#include <persona/concepts.hpp>
#include <persona/testing/report.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace persona::testing {

namespace detail {

/// A unit vector of dimension `dim` pointing mostly along axis `axis`.
inline std::vector<float> kit_axis(std::size_t dim, std::size_t axis, float leak = 0.1f) {
    std::vector<float> v(dim, 0.0f);
    v[axis % dim] = 1.0f;
    v[(axis + 1) % dim] = leak;
    float const n = std::sqrt(1.0f + leak * leak);
    for (auto& x : v) x /= n;
    return v;
}

inline chunk kit_chunk(std::string item, std::uint32_t ordinal, std::string text, std::vector<float> v) {
    chunk c;
    c.item_id = std::move(item);
    c.ordinal = ordinal;
    c.chunk_id = make_chunk_id(c.item_id, item_kind::event, ordinal);
    c.text = std::move(text);
    c.embedding = std::move(v);
    c.type = "note";
    return c;
}

inline search_query kit_query(std::string text, std::vector<float> v, std::size_t k) {
    search_query q;
    if (!text.empty()) q.parts.push_back({std::move(text), 1.0});
    q.vector = std::move(v);
    q.k = k;
    return q;
}

inline bool well_formed(std::vector<scored_chunk> const& hits, std::size_t k) {
    if (hits.size() > k) return false;
    for (std::size_t i = 0; i < hits.size(); ++i) {
        if (!(hits[i].score >= 0.0 && hits[i].score <= 1.0)) return false;
        if (i > 0 && (hits[i - 1].score < hits[i].score ||
                      (hits[i - 1].score == hits[i].score && hits[i - 1].chunk_id >= hits[i].chunk_id)))
            return false;
    }
    return true;
}

} // namespace detail

/** Check that `r`, which must be empty, has the semantics of the `retriever` concept.

    Uses vectors of dimension `dim` (≥ 12, so that its test axes stay distinct). Covers: unknown users, keyword and vector
    search, score range and ordering, ties by chunk id, `k` and `min_score`,
    per-user and per-workspace isolation, replacement by chunk id, `remove_items`,
    `remove_user`, and determinism.
*/
template <retriever Retriever>
conformance_report check_retriever(Retriever& r, std::size_t dim = 16) {
    conformance_report rep("retriever");
    if (!rep.expect(dim >= 12, "the kit needs vectors of dimension 12 or more")) return rep;
    using detail::kit_axis;
    using detail::kit_chunk;
    using detail::kit_query;
    user_ref const alice{"kit-a", "alice"};
    user_ref const bob{"kit-a", "bob"};
    user_ref const alice_b{"kit-b", "alice"};

    auto empty = r.search(alice, kit_query("anything", kit_axis(dim, 0), 5));
    rep.expect(empty && empty->empty(), "an unknown user has no hits");
    rep.expect(r.size(alice) == 0, "an unknown user has size 0");

    std::vector<chunk> const a_chunks{
        kit_chunk("e1", 1, "Let's move the weekly stand-up to 2 PM starting next week.", kit_axis(dim, 0)),
        kit_chunk("e2", 1, "I prefer dark roast coffee, never decaf.", kit_axis(dim, 2)),
        kit_chunk("e3", 1, "Flight to Lisbon on Friday morning, window seat please.", kit_axis(dim, 4)),
        kit_chunk("d1", 1, "Quarterly planning document for the infrastructure team.", kit_axis(dim, 6)),
        kit_chunk("d1", 2, "Budget review happens every quarter with finance.", kit_axis(dim, 6, 0.3f)),
    };
    rep.expect(r.add(alice, a_chunks).has_value(), "add succeeds");
    rep.expect(r.size(alice) == 5, "size counts added chunks");

    std::vector<chunk> const b_chunks{kit_chunk("b1", 1, "I prefer dark roast coffee, never decaf.", kit_axis(dim, 2))};
    rep.expect(r.add(bob, b_chunks).has_value(), "add for a second user");
    std::vector<chunk> const ab_chunks{kit_chunk("x1", 1, "Coffee with the Lisbon team.", kit_axis(dim, 2))};
    rep.expect(r.add(alice_b, ab_chunks).has_value(), "add for the same user id in another workspace");

    auto coffee = r.search(alice, kit_query("coffee roast", kit_axis(dim, 2), 3));
    rep.expect(coffee && !coffee->empty() && coffee->front().chunk_id == "e2#s1", "the matching chunk ranks first");
    rep.expect(coffee && detail::well_formed(*coffee, 3), "hits are at most k, scores in [0,1], best first, ties by id");
    rep.expect(coffee && std::ranges::none_of(*coffee, [](scored_chunk const& h) {
                   return h.chunk_id == "b1#s1" || h.chunk_id == "x1#s1";
               }),
               "a search never returns another user's or workspace's chunk");

    auto lexical = r.search(alice, kit_query("Lisbon flight", {}, 5));
    rep.expect(lexical && !lexical->empty() && lexical->front().chunk_id == "e3#s1", "a text-only query finds by keywords");
    auto vec = r.search(alice, kit_query("", kit_axis(dim, 4), 5));
    rep.expect(vec && !vec->empty() && vec->front().chunk_id == "e3#s1", "a vector-only query finds by similarity");
    rep.expect(vec && detail::well_formed(*vec, 5), "vector-only hits are well formed");

    auto k1 = r.search(alice, kit_query("quarter planning budget", kit_axis(dim, 6), 1));
    rep.expect(k1 && k1->size() == 1, "k bounds the number of hits");
    auto again = r.search(alice, kit_query("quarter planning budget", kit_axis(dim, 6), 1));
    rep.expect(k1 && again && *k1 == *again, "identical searches give identical results");

    auto q_strict = kit_query("coffee roast", kit_axis(dim, 2), 5);
    q_strict.min_score = 0.99;
    auto strict = r.search(alice, q_strict);
    rep.expect(strict && std::ranges::all_of(*strict, [](scored_chunk const& h) { return h.score >= 0.99; }),
               "no hit scores below min_score");

    // Ties: identical text and vector, so only the id orders them.
    std::vector<chunk> const twins{kit_chunk("t2", 1, "zebra crossing", kit_axis(dim, 9)),
                                   kit_chunk("t1", 1, "zebra crossing", kit_axis(dim, 9))};
    rep.expect(r.add(alice, twins).has_value(), "add twins");
    auto tie = r.search(alice, kit_query("zebra crossing", kit_axis(dim, 9), 2));
    rep.expect(tie && tie->size() == 2 && (*tie)[0].chunk_id == "t1#s1" && (*tie)[1].chunk_id == "t2#s1" &&
                   (*tie)[0].score == (*tie)[1].score,
               "equal scores are ordered by ascending chunk id");

    // Replacement by chunk id.
    std::vector<chunk> const replaced{kit_chunk("e3", 1, "Train to Porto on Sunday.", kit_axis(dim, 11))};
    rep.expect(r.add(alice, replaced).has_value(), "add with an existing chunk id");
    rep.expect(r.size(alice) == 7, "replacing a chunk does not grow the index");
    auto old_text = r.search(alice, kit_query("Lisbon flight window", {}, 5));
    rep.expect(old_text && std::ranges::none_of(*old_text, [](scored_chunk const& h) { return h.chunk_id == "e3#s1"; }),
               "a replaced chunk no longer matches its old text");
    auto new_text = r.search(alice, kit_query("Porto train", {}, 5));
    rep.expect(new_text && !new_text->empty() && new_text->front().chunk_id == "e3#s1", "a replaced chunk matches its new text");

    // remove_items drops every chunk of the item.
    std::vector<std::string> const drop{"d1"};
    rep.expect(r.remove_items(alice, drop).has_value(), "remove_items succeeds");
    rep.expect(r.size(alice) == 5, "remove_items drops every chunk of the item");
    auto budget = r.search(alice, kit_query("budget quarterly planning", kit_axis(dim, 6), 10));
    rep.expect(budget && std::ranges::none_of(*budget, [](scored_chunk const& h) { return h.chunk_id.starts_with("d1#"); }),
               "removed chunks are never returned");

    rep.expect(r.remove_user(alice).has_value(), "remove_user succeeds");
    rep.expect(r.size(alice) == 0, "remove_user empties the user's index");
    auto after = r.search(alice, kit_query("coffee", kit_axis(dim, 2), 5));
    rep.expect(after && after->empty(), "a removed user has no hits");
    rep.expect(r.size(bob) == 1 && r.size(alice_b) == 1, "removing one user leaves the others");
    rep.expect(r.remove_user(alice).has_value(), "removing an absent user is not an error");

    (void)r.remove_user(bob);
    (void)r.remove_user(alice_b);
    return rep;
}

} // namespace persona::testing

#endif
