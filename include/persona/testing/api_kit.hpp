#ifndef PERSONA_TESTING_API_KIT_HPP
#define PERSONA_TESTING_API_KIT_HPP

/// @file
/// The conformance kit of the `personalization_api` concept: API.md's rules, checked
/// through the API alone, so it runs on an engine and on a remote client alike.

#include <persona/concepts.hpp>
#include <persona/testing/report.hpp>
#include <persona/text/utf8.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace persona::testing {

namespace detail {

inline event_input kit_event(std::string id, std::string content, int day = 10, std::string type = "email") {
    using namespace std::chrono;
    return event_input{std::move(id), std::move(type), sys_days{year{2025} / 10 / day} + hours{9}, std::move(content), {}};
}

inline chunks_request kit_chunks(std::string user, std::string text, std::size_t k = 5) {
    chunks_request c;
    c.user_id = std::move(user);
    c.conversation.push_back({"user", std::move(text)});
    c.top_k = k;
    return c;
}

inline bool has_chunk(result<chunks_response> const& r, std::string_view id) {
    return r && std::ranges::any_of(r->results, [&](chunk_result const& c) { return c.chunk_id == id; });
}

inline bool has_excerpt(result<chunks_response> const& r, std::string_view needle) {
    return r && std::ranges::any_of(r->results, [&](chunk_result const& c) {
               return c.excerpt.find(needle) != std::string::npos;
           });
}

template <class T>
bool fails_with(result<T> const& r, errc code, std::string_view field = {}) {
    if (r || r.error().code != code) return false;
    if (field.empty()) return true;
    error const e = r.error(); // result::error() returns a copy: keep it alive while we look inside
    auto const* f = e.details.if_contains("field");
    return f && f->is_string() && f->get_string() == field;
}

inline bool well_ordered(chunks_response const& c, std::size_t k) {
    if (c.results.size() > k) return false;
    for (std::size_t i = 0; i < c.results.size(); ++i) {
        if (!(c.results[i].score >= 0 && c.results[i].score <= 1)) return false;
        if (i > 0 && (c.results[i - 1].score < c.results[i].score ||
                      (c.results[i - 1].score == c.results[i].score && c.results[i - 1].chunk_id >= c.results[i].chunk_id)))
            return false;
    }
    return true;
}

} // namespace detail

/** Check that `api` follows API.md, through its operations only.

    Every user the kit creates has an id starting with `prefix` (the email-form user's
    email starts with it and its id is derived) and is deleted by the kit. Covers registration (idempotency, stable `created_at`, the email form,
    validation), ingest (counts, chunk ids, atomic rejection with `details.index`,
    replacement, `dedupe`, derived ids, read-after-write), chunks (ranges, ordering,
    determinism, the latest user turn, thresholds), query (sources, determinism, the
    cache's invalidation, options), summary (purposes, `max_chars`, determinism),
    delete (then 404 everywhere, tickets) and 404 for unknown users.
*/
template <personalization_api Api>
conformance_report check_personalization_api(Api& api, std::string const& prefix = "kit_") {
    using detail::fails_with;
    using detail::kit_chunks;
    using detail::kit_event;
    conformance_report r("personalization_api");
    std::string const uid = prefix + "ash";

    // ---- register
    register_request reg;
    reg.user_id = uid;
    reg.traits["name"] = "Ash Lewis";
    reg.traits["timezone"] = "America/Los_Angeles";
    auto first = api.register_user(reg);
    r.expect(first && first->user_id == uid && first->status == "active", "register creates an active user");
    auto second = api.register_user(reg);
    r.expect(first && second && *first == *second, "re-sending the same register is idempotent");
    reg.traits = {{"timezone", "Europe/Lisbon"}};
    auto update = api.register_user(reg);
    r.expect(first && update && update->created_at == first->created_at, "created_at does not change on update");

    register_request bad_reg;
    r.expect(fails_with(api.register_user(bad_reg), errc::invalid_request, "user_id"),
             "register without user_id or email is invalid_request on user_id");
    bad_reg.user_id = std::string(129, 'x');
    r.expect(fails_with(api.register_user(bad_reg), errc::invalid_request, "user_id"),
             "a user_id over 128 characters is invalid_request");

    register_request by_email;
    by_email.email = prefix + "Ash@Example.com";
    auto e1 = api.register_user(by_email);
    by_email.email = prefix + "ash@example.com";
    auto e2 = api.register_user(by_email);
    r.expect(e1 && e1->user_id.starts_with("usr_") && e1->email, "the email form derives a usr_ id and echoes the email");
    r.expect(e1 && e2 && e1->user_id == e2->user_id, "the derived id is stable for an email, whatever its case");

    // ---- ingest
    ingest_request unknown;
    unknown.user_id = prefix + "nobody";
    unknown.events.push_back(kit_event("e1", "hello"));
    r.expect(fails_with(api.ingest(unknown), errc::user_not_found), "ingest for an unknown user is user_not_found");

    ingest_request empty;
    empty.user_id = uid;
    r.expect(fails_with(api.ingest(empty), errc::invalid_request), "an ingest with no items is invalid_request");

    ingest_request atomic;
    atomic.user_id = uid;
    atomic.events = {kit_event("ok1", "Kayak rental booked for Saturday at the marina."),
                     kit_event("ok2", "Marina parking is paid by the hour."), kit_event("bad", "   ")};
    auto rejected = api.ingest(atomic);
    r.expect(fails_with(rejected, errc::invalid_request, "events[2].content"),
             "one bad event rejects the request, naming events[2].content");
    r.expect(!rejected && rejected.error().details.contains("index") && rejected.error().details.at("index") == 2,
             "the rejection carries details.index");
    r.expect(!detail::has_excerpt(api.chunks(kit_chunks(uid, "kayak marina rental")), "Kayak"),
             "nothing of a rejected request is stored");

    ingest_request ing;
    ing.user_id = uid;
    ing.source = "gmail";
    ing.events = {kit_event("evt_1", "Let's move stand-up to 2 PM starting next week."),
                  kit_event("evt_2", "Booked the dentist for Tuesday morning.", 11, "calendar_event")};
    ing.documents.push_back(document_input{"doc_7", "Typical focus blocks 9-12 PT.\n\nMeetings after 1 PM preferred.",
                                           "Working preferences", "note", std::nullopt, {}});
    ing.message_history.push_back(message_input{"user", "I drink oat milk lattes every morning.", std::nullopt, {}});
    auto ingested = api.ingest(ing);
    r.expect(ingested && ingested->events == 3 && ingested->documents == 1 && ingested->skipped.empty(),
             "ingest counts events (messages included) and documents");

    auto standup = api.chunks(kit_chunks(uid, "When is the stand-up meeting?"));
    r.expect(detail::has_chunk(standup, "evt_1#s1"), "event chunks are <event_id>#s1 and visible right after ingest");
    auto doc = api.chunks(kit_chunks(uid, "meetings after 1 PM focus blocks", 10));
    r.expect(detail::has_chunk(doc, "doc_7#p1") && detail::has_chunk(doc, "doc_7#p2"),
             "document paragraphs are <doc_id>#p1, #p2");
    r.expect(doc && detail::well_ordered(*doc, 10), "chunks results: scores in [0,1], best first, ties by chunk id");
    auto doc_again = api.chunks(kit_chunks(uid, "meetings after 1 PM focus blocks", 10));
    r.expect(doc && doc_again && *doc == *doc_again, "identical chunks requests give identical results");

    ingest_request replace;
    replace.user_id = uid;
    replace.events = {kit_event("evt_2", "Dentist moved to Thursday afternoon.", 12, "calendar_event")};
    auto replaced = api.ingest(replace);
    auto dentist = api.chunks(kit_chunks(uid, "dentist appointment", 5));
    r.expect(replaced && detail::has_excerpt(dentist, "Thursday") && !detail::has_excerpt(dentist, "Tuesday"),
             "re-ingesting an id replaces the item");

    replace.dedupe = true;
    replace.events = {kit_event("evt_2", "Dentist cancelled.", 13, "calendar_event")};
    auto deduped = api.ingest(replace);
    r.expect(deduped && deduped->events == 0 && deduped->skipped.size() == 1 && deduped->skipped[0].id == "evt_2" &&
                 deduped->skipped[0].kind == "event" && deduped->skipped[0].reason == "duplicate",
             "with dedupe an existing id is skipped and reported");
    r.expect(!detail::has_excerpt(api.chunks(kit_chunks(uid, "dentist", 5)), "cancelled"),
             "a skipped item does not replace the stored one");

    ingest_request anon;
    anon.user_id = uid;
    anon.documents.push_back(document_input{"", "Allergic to peanuts.", "", "", std::nullopt, {}});
    auto anon1 = api.ingest(anon);
    auto anon2 = api.ingest(anon);
    auto peanuts = api.chunks(kit_chunks(uid, "peanut allergy", 20));
    std::size_t peanut_hits = 0;
    if (peanuts)
        for (auto const& c : peanuts->results) peanut_hits += c.excerpt.find("peanuts") != std::string::npos ? 1 : 0;
    r.expect(anon1 && anon2 && peanut_hits == 1, "a document without doc_id gets a content-derived id (idempotent)");

    // ---- chunks validation and weighting
    auto k0 = kit_chunks(uid, "x", 0);
    r.expect(fails_with(api.chunks(k0), errc::invalid_request, "top_k"), "top_k 0 is invalid_request");
    auto k21 = kit_chunks(uid, "x", 21);
    r.expect(fails_with(api.chunks(k21), errc::invalid_request, "top_k"), "top_k 21 is invalid_request");
    auto thr = kit_chunks(uid, "x");
    thr.similarity_threshold = 1.5;
    r.expect(fails_with(api.chunks(thr), errc::invalid_request, "similarity_threshold"),
             "a threshold above 1 is invalid_request");
    chunks_request no_conv;
    no_conv.user_id = uid;
    r.expect(fails_with(api.chunks(no_conv), errc::invalid_request), "an empty conversation is invalid_request");

    chunks_request conv;
    conv.user_id = uid;
    conv.conversation = {{"user", "Tell me about oat milk lattes"},
                         {"assistant", "Sure, what would you like to know?"},
                         {"user", "What time is my stand-up?"}};
    auto latest = api.chunks(conv);
    r.expect(latest && !latest->results.empty() && latest->results.front().chunk_id == "evt_1#s1",
             "the latest user turn weighs most");
    auto strict = kit_chunks(uid, "stand-up 2 PM", 20);
    strict.similarity_threshold = 0.3;
    auto strict_r = api.chunks(strict);
    r.expect(strict_r && std::ranges::all_of(strict_r->results, [](chunk_result const& c) { return c.score >= 0.3; }),
             "no result scores below similarity_threshold");

    // ---- query
    query_request q;
    q.user_id = uid;
    q.question = "When does Ash prefer to schedule meetings?";
    auto a1 = api.query(q);
    auto a2 = api.query(q);
    r.expect(a1 && !a1->answer.empty() && a1->user_id == uid, "query answers with text");
    r.expect(a1 && a2 && *a1 == *a2, "query is deterministic");
    r.expect(a1 && !a1->sources.empty(), "an answer with evidence names its sources");
    q.use_cache = true;
    auto cached = api.query(q);
    r.expect(a1 && cached && cached->answer == a1->answer, "a cached answer equals the fresh one");
    ingest_request more;
    more.user_id = uid;
    more.events = {kit_event("evt_9", "From now on Ash prefers to schedule meetings on Wednesdays only.", 20)};
    (void)api.ingest(more);
    auto after_cache = api.query(q);
    q.use_cache = false;
    auto fresh = api.query(q);
    r.expect(after_cache && fresh && after_cache->answer == fresh->answer, "new data invalidates the cached answer");

    query_request pick;
    pick.user_id = uid;
    pick.question = "Which drink would Ash order?";
    pick.options = {"Black coffee", "Oat milk latte", "Green tea"};
    auto choice = api.query(pick);
    r.expect(choice && choice->choice && *choice->choice < 3 && choice->option_scores.size() == 3,
             "with options: a choice and one score per option");
    pick.options = {"Only one"};
    r.expect(fails_with(api.query(pick), errc::invalid_request, "options"), "a single option is invalid_request");
    query_request blank;
    blank.user_id = uid;
    blank.question = "  ";
    r.expect(fails_with(api.query(blank), errc::invalid_request, "question"), "a blank question is invalid_request");

    // ---- summary
    summary_request s;
    s.user_id = uid;
    s.purpose = "work-style";
    auto s1 = api.summary(s);
    auto s2 = api.summary(s);
    r.expect(s1 && !s1->summary.empty() && s1->purpose == "work-style", "summary has text and echoes the purpose");
    r.expect(s1 && s2 && s1->summary == s2->summary, "the same data and parameters give the same summary");
    s.max_chars = 40;
    auto capped = api.summary(s);
    r.expect(capped && text::count_code_points(capped->summary) <= 40, "max_chars caps the summary in code points");
    s.purpose = "horoscope";
    r.expect(fails_with(api.summary(s), errc::invalid_request, "purpose"), "an unknown purpose is invalid_request");

    // ---- unknown users
    r.expect(fails_with(api.query(query_request{std::string(default_workspace), prefix + "nobody", "hi", false, {}}),
                        errc::user_not_found),
             "query of an unknown user is user_not_found");
    r.expect(fails_with(api.chunks(kit_chunks(prefix + "nobody", "hi")), errc::user_not_found),
             "chunks of an unknown user is user_not_found");
    summary_request s_unknown;
    s_unknown.user_id = prefix + "nobody";
    r.expect(fails_with(api.summary(s_unknown), errc::user_not_found), "summary of an unknown user is user_not_found");

    // ---- delete
    delete_request d;
    d.user_id = uid;
    d.scope = "local";
    r.expect(fails_with(api.delete_user(d), errc::invalid_request, "scope"), "a scope other than global is invalid_request");
    d.scope = "global";
    auto deleted = api.delete_user(d);
    r.expect(deleted && deleted->status == "completed" && deleted->ticket_id.starts_with("del_"),
             "delete completes with a del_ ticket");
    auto status = deleted ? api.deletion_status(deletion_status_request{std::string(default_workspace), deleted->ticket_id})
                          : result<delete_response>(make_error(errc::internal_error, "no ticket"));
    r.expect(deleted && status && *status == *deleted, "the ticket reports the same body");
    r.expect(fails_with(api.deletion_status(deletion_status_request{std::string(default_workspace), "del_nope"}), errc::not_found),
             "an unknown ticket is not_found");
    r.expect(fails_with(api.chunks(kit_chunks(uid, "stand-up")), errc::user_not_found), "after delete, chunks is 404");
    q.user_id = uid;
    r.expect(fails_with(api.query(q), errc::user_not_found), "after delete, query is 404");
    s.purpose = "general";
    s.max_chars.reset();
    s.user_id = uid;
    r.expect(fails_with(api.summary(s), errc::user_not_found), "after delete, summary is 404");
    r.expect(fails_with(api.ingest(ing), errc::user_not_found), "after delete, ingest is 404");
    r.expect(fails_with(api.delete_user(d), errc::user_not_found), "after delete, delete is 404");

    register_request again;
    again.user_id = uid;
    auto reborn = api.register_user(again);
    auto reborn_chunks = api.chunks(kit_chunks(uid, "stand-up meeting 2 PM"));
    r.expect(reborn && reborn_chunks && reborn_chunks->results.empty(), "a user registered again after delete starts empty");

    for (auto const& id : {uid, e1 ? e1->user_id : std::string()})
        if (!id.empty()) (void)api.delete_user(delete_request{std::string(default_workspace), id, "global", "kit cleanup"});
    return r;
}

} // namespace persona::testing

#endif
