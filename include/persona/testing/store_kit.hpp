#ifndef PERSONA_TESTING_STORE_KIT_HPP
#define PERSONA_TESTING_STORE_KIT_HPP

/// @file
/// The conformance kit of the `store` concept.

#include <persona/concepts.hpp>
#include <persona/testing/report.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace persona::testing {

namespace detail {

inline stored_item make_kit_item(std::string id, timestamp t, std::size_t chunks, std::string_view text_prefix,
                                 bool reversed = false) {
    stored_item si;
    si.item.id = id;
    si.item.kind = item_kind::event;
    si.item.type = "note";
    si.item.source = "kit";
    si.item.title = "title of " + id;
    si.item.content = std::string(text_prefix) + " " + id;
    si.item.time = t;
    si.item.ingested_at = t + std::chrono::seconds(7); // distinct from time, so a store cannot swap them
    si.item.metadata["subject"] = "kit " + id;
    for (std::uint32_t n = 1; n <= chunks; ++n) {
        chunk c;
        c.ordinal = n;
        c.chunk_id = make_chunk_id(id, item_kind::event, n);
        c.item_id = id;
        c.kind = item_kind::event;
        c.type = "note";
        c.source = "kit";
        c.text = std::string(text_prefix) + " part " + std::to_string(n) + " of " + id;
        c.title = "title of " + id; // every field set, so a store that drops one fails the round trip
        c.time = t;
        c.ingested_at = si.item.ingested_at;
        c.embedding = {0.6f, 0.8f, -0.0f, 1e-7f};
        si.chunks.push_back(std::move(c));
    }
    if (reversed) std::ranges::reverse(si.chunks); // the store must order by ordinal itself
    return si;
}

inline user_record make_kit_user(std::string ws, std::string id, timestamp t) {
    user_record u;
    u.ref = {std::move(ws), std::move(id)};
    u.email = "kit@example.com";
    u.traits["name"] = "Kit User";
    u.traits["prefs"] = boost::json::object{{"tone", "concise"}, {"hours", boost::json::array{9, 17}}};
    u.purpose = "conformance";
    u.created_at = t;
    u.updated_at = t;
    u.revision = 1;
    return u;
}

inline std::vector<std::string> chunk_ids(std::vector<chunk> const& cs) {
    std::vector<std::string> out;
    for (auto const& c : cs) out.push_back(c.chunk_id);
    return out;
}

} // namespace detail

/** Check that `s` has the semantics of the `store` concept.

    Covers: not-found errors, round-tripping every field (traits, embeddings to the
    bit), atomic item writes and replacement by id, orderings, chunk lookup by id,
    workspace isolation, erasure, `list_users`, and concurrent writers of distinct users.
    The kit works in workspaces `kit-a` and `kit-b`, which must hold no users when it
    starts; it erases every user of those two workspaces at the end.

    @returns the report; `ok()` when the store conforms.
*/
template <store Store>
conformance_report check_store(Store& s) {
    using namespace std::chrono;
    conformance_report r("store");
    timestamp const t0 = sys_days{year{2025} / 10 / 1};
    user_ref const a{"kit-a", "u1"};
    user_ref const a_other_ws{"kit-b", "u1"};

    auto missing = s.get_user(a);
    r.expect(!missing && missing.error().code == errc::user_not_found, "get_user of a missing user is user_not_found");
    auto missing_item = s.get_item(a, "e1");
    auto missing_chunks = s.get_chunks(a);
    r.expect(!missing_item && missing_item.error().code == errc::user_not_found && !missing_chunks &&
                 missing_chunks.error().code == errc::user_not_found,
             "get_item and get_chunks of a missing user are user_not_found");

    auto const items0 = std::vector{detail::make_kit_item("e1", t0, 1, "alpha")};
    auto orphan = s.put_items(detail::make_kit_user("kit-a", "u1", t0), items0);
    r.expect(!orphan && orphan.error().code == errc::user_not_found, "put_items for a missing user is user_not_found");
    r.expect(!s.get_user(a), "a failed put_items creates no user");

    auto const ua = detail::make_kit_user("kit-a", "u1", t0);
    r.expect(s.put_user(ua).has_value(), "put_user succeeds");
    auto got = s.get_user(a);
    r.expect(got && got->ref == a && got->traits == ua.traits && got->email == ua.email && got->purpose == ua.purpose &&
                 got->created_at == ua.created_at && got->updated_at == ua.updated_at && got->revision == ua.revision,
             "get_user returns every field put_user stored");
    r.expect(!s.get_user(a_other_ws), "the same user_id in another workspace is another user");

    auto ua2 = ua;
    ua2.traits["name"] = "Renamed";
    ua2.revision = 2;
    r.expect(s.put_user(ua2).has_value(), "put_user replaces an existing user");
    got = s.get_user(a);
    r.expect(got && got->traits.at("name") == "Renamed" && got->revision == 2, "put_user replacement is visible");

    // Items: written with the user row in one step; ordered by (time, id).
    std::vector<stored_item> batch{detail::make_kit_item("e2", t0 + hours(2), 2, "beta", true),
                                   detail::make_kit_item("e1", t0 + hours(1), 3, "alpha"),
                                   detail::make_kit_item("e0", t0 + hours(2), 1, "gamma")};
    auto ua3 = ua2;
    ua3.revision = 3;
    r.expect(s.put_items(ua3, batch).has_value(), "put_items succeeds for an existing user");
    got = s.get_user(a);
    r.expect(got && got->revision == 3, "put_items writes the user row too");
    auto item = s.get_item(a, "e1");
    r.expect(item && item->has_value() && **item == batch[1].item, "get_item returns the stored item, every field");
    auto none = s.get_item(a, "nope");
    r.expect(none && !none->has_value(), "get_item of an unknown id is nullopt");
    auto items = s.get_items(a);
    r.expect(items && items->size() == 3 && (*items)[0].id == "e1" && (*items)[1].id == "e0" && (*items)[2].id == "e2",
             "get_items is ordered by (time, id)");
    auto chunks = s.get_chunks(a);
    r.expect(chunks && detail::chunk_ids(*chunks) ==
                           std::vector<std::string>{"e1#s1", "e1#s2", "e1#s3", "e0#s1", "e2#s1", "e2#s2"},
             "get_chunks(u) is ordered by (item time, item id, ordinal)");
    r.expect(chunks && !chunks->empty() && (*chunks)[0] == batch[1].chunks[0] &&
                 std::memcmp((*chunks)[0].embedding.data(), batch[1].chunks[0].embedding.data(),
                             batch[1].chunks[0].embedding.size() * sizeof(float)) == 0,
             "a chunk round-trips every field, the embedding to the bit (-0.0f included)");

    std::vector<std::string> const ask{"e2#s2", "missing#s1", "e1#s1"};
    auto picked = s.get_chunks(a, ask);
    r.expect(picked && detail::chunk_ids(*picked) == std::vector<std::string>{"e2#s2", "e1#s1"},
             "get_chunks(u, ids) keeps the asked order and skips unknown ids");

    // Replacement by id drops the old chunks.
    std::vector<stored_item> replace{detail::make_kit_item("e1", t0 + hours(5), 1, "delta")};
    r.expect(s.put_items(ua3, replace).has_value(), "put_items replaces an item by id");
    std::vector<std::string> const old_ids{"e1#s2", "e1#s3"};
    auto old = s.get_chunks(a, old_ids);
    r.expect(old && old->empty(), "a replaced item's surplus chunks are gone");
    auto e1 = s.get_chunks(a, std::vector<std::string>{"e1#s1"});
    r.expect(e1 && e1->size() == 1 && (*e1)[0].text.starts_with("delta"), "a replaced item's chunk has the new text");
    items = s.get_items(a);
    r.expect(items && items->size() == 3 && items->back().id == "e1", "replacement keeps one item per id");

    // Workspace isolation and listing.
    auto ub = detail::make_kit_user("kit-b", "u1", t0);
    r.expect(s.put_user(ub).has_value(), "put_user in a second workspace");
    auto b_items = s.get_items(a_other_ws);
    r.expect(b_items && b_items->empty(), "a user in another workspace sees none of the first one's items");
    auto users = s.list_users();
    r.expect(users && std::ranges::find(*users, a) != users->end() && std::ranges::find(*users, a_other_ws) != users->end() &&
                 std::ranges::is_sorted(*users),
             "list_users lists users of every workspace, ordered");

    // Erasure.
    r.expect(s.erase_user(a).has_value(), "erase_user succeeds");
    auto gone = s.get_user(a);
    r.expect(!gone && gone.error().code == errc::user_not_found, "an erased user is not found");
    auto gone_items = s.get_items(a);
    r.expect(!gone_items && gone_items.error().code == errc::user_not_found, "an erased user's items are not found");
    auto twice = s.erase_user(a);
    r.expect(!twice && twice.error().code == errc::user_not_found, "erasing twice is user_not_found");
    r.expect(s.get_user(a_other_ws).has_value(), "erasing a user leaves the same id in another workspace");
    r.expect(s.put_user(ua).has_value() && s.get_items(a).has_value() && s.get_items(a)->empty(),
             "a user registered again after erasure starts empty");

    // Concurrent writers of distinct users.
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w)
        threads.emplace_back([&s, w, t0] {
            for (int i = 0; i < 25; ++i) {
                auto u = detail::make_kit_user("kit-b", "c" + std::to_string(w) + "_" + std::to_string(i), t0);
                (void)s.put_user(u);
                std::vector<stored_item> one{detail::make_kit_item("x", t0, 2, "conc")};
                (void)s.put_items(u, one);
            }
        });
    for (auto& th : threads) th.join();
    std::size_t complete = 0;
    for (int w = 0; w < 4; ++w)
        for (int i = 0; i < 25; ++i) {
            auto c = s.get_chunks(user_ref{"kit-b", "c" + std::to_string(w) + "_" + std::to_string(i)});
            complete += c && c->size() == 2 ? 1 : 0;
        }
    r.expect(complete == 100, "concurrent writers of distinct users all land");

    // Leave the store as found.
    if (auto all = s.list_users())
        for (auto const& u : *all)
            if (u.workspace == "kit-a" || u.workspace == "kit-b") (void)s.erase_user(u);
    return r;
}

} // namespace persona::testing

#endif
