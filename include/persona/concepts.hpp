#ifndef PERSONA_CONCEPTS_HPP
#define PERSONA_CONCEPTS_HPP

/// @file
/// The policies persona is composed of, as C++20 concepts. Each is documented as a
/// named requirement (valid expressions, semantics, errors) in `docs/concepts/`, and
/// `persona/testing/` has a conformance kit that checks the semantics.

#include <persona/api.hpp>
#include <persona/error.hpp>
#include <persona/http_message.hpp>
#include <persona/text/analyzer.hpp>
#include <persona/types.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace persona {

/** A store: the source of truth for users, items and chunks.

    See `docs/concepts/Store.md`. Summary of the semantics a model must have:
    - `get_user` returns the record or `errc::user_not_found`.
    - `put_user` inserts or replaces the user row.
    - `put_items(user, items)` writes the user row and every item with its chunks in
      one all-or-nothing step; an item whose id exists is replaced with its chunks.
      The user must exist (`errc::user_not_found`).
    - Every member naming a user that does not exist fails with `errc::user_not_found`
      (except `put_user`, which creates it).
    - `get_item` returns the item or `std::nullopt`; `get_items` lists items ordered by
      (time, id); `get_chunks(u)` lists chunks ordered by (item time, item id, ordinal);
      `get_chunks(u, ids)` returns the chunks with those ids, in the order asked,
      skipping ids it does not have.
    - `erase_user` removes the user and everything of it (`errc::user_not_found` if absent).
    - `list_users` lists every user of every workspace, ordered.
    - Distinct users are isolated; the same `user_id` in two workspaces is two users.
    - Thread safety: all members may be called concurrently from many threads.
*/
template <class S>
concept store = requires(S& s, S const& cs, user_ref const& u, user_record const& rec,
                         std::span<stored_item const> items, std::string_view id,
                         std::span<std::string const> ids) {
    { cs.get_user(u) } -> std::same_as<result<user_record>>;
    { s.put_user(rec) } -> std::same_as<result<void>>;
    { s.put_items(rec, items) } -> std::same_as<result<void>>;
    { cs.get_item(u, id) } -> std::same_as<result<std::optional<item>>>;
    { cs.get_items(u) } -> std::same_as<result<std::vector<item>>>;
    { cs.get_chunks(u) } -> std::same_as<result<std::vector<chunk>>>;
    { cs.get_chunks(u, ids) } -> std::same_as<result<std::vector<chunk>>>;
    { s.erase_user(u) } -> std::same_as<result<void>>;
    { cs.list_users() } -> std::same_as<result<std::vector<user_ref>>>;
};

/** A store that also keeps deletion tickets (optional; `sqlite_store` does).

    `put_deletion(workspace, ticket)` records a ticket; `get_deletion(workspace, id)`
    returns it or `std::nullopt`. An engine on such a store answers
    `GET /delete/{ticket_id}` after a restart too; on any other store tickets live in
    the engine's memory.
*/
template <class S>
concept deletion_ticket_store =
    store<S> && requires(S& s, S const& cs, std::string_view workspace, delete_response const& ticket) {
        { s.put_deletion(workspace, ticket) } -> std::same_as<result<void>>;
        { cs.get_deletion(workspace, workspace) } -> std::same_as<result<std::optional<delete_response>>>;
    };

/** An embedder: text to fixed-size vectors.

    See `docs/concepts/Embedder.md`. `dimension()` is constant for the object's
    lifetime; `embed(texts, out)` writes `texts.size() * dimension()` floats into `out`
    (row i is text i), each row of unit L2 norm or all zeros (a text with no features),
    the same text always giving the same row. `out.size()` smaller than needed is
    `errc::invalid_request`; a remote model failing is `errc::unavailable`.
    Thread safety: `embed` may be called concurrently.
*/
template <class E>
concept embedder = requires(E const& ce, std::span<std::string_view const> texts, std::span<float> out) {
    { ce.dimension() } -> std::convertible_to<std::size_t>;
    { ce.embed(texts, out) } -> std::same_as<result<void>>;
};

/** A retriever: a per-user index of chunks, searched by text and/or vector.

    See `docs/concepts/Retriever.md`. `add` indexes chunks (their `text` and
    `embedding`) for a user, replacing any chunk with the same id; `remove_items`
    drops every chunk of the given item ids (unknown users and ids are no error);
    `remove_user` drops the user's index (no error if absent). `search` returns at most `q.k` hits of that user only, best
    first, scores in [0, 1], ties broken by ascending chunk id, none below
    `q.min_score`; identical calls give identical results; an unknown user gives no
    hits. `size(u)` is the number of chunks indexed for `u`.
    Thread safety: `search` and `size` may run concurrently with each other; the
    mutating members may run concurrently for distinct users.
*/
template <class R>
concept retriever = requires(R& r, R const& cr, user_ref const& u, std::span<chunk const> chunks,
                             std::span<std::string const> item_ids, search_query const& q) {
    { r.add(u, chunks) } -> std::same_as<result<void>>;
    { r.remove_items(u, item_ids) } -> std::same_as<result<void>>;
    { r.remove_user(u) } -> std::same_as<result<void>>;
    { cr.search(u, q) } -> std::same_as<result<std::vector<scored_chunk>>>;
    { cr.size(u) } -> std::convertible_to<std::size_t>;
};

/** An embedder whose features start from `text::analyzer` terms, and which can embed
    texts already analyzed (optional; `hashing_embedder` does).

    `analyzer()` is the analyzer `embed` uses; `embed_analyzed(analyses, out)` writes
    into `out` exactly what `embed` writes for texts whose analyses by that analyzer
    are `analyses`, with the same errors. The engine then analyzes each chunk and query
    once for both the embedder and the retriever (see `analyzing_retriever`).
*/
template <class E>
concept analyzing_embedder =
    embedder<E> && requires(E const& ce, std::span<text::analyzed_text const> analyses, std::span<float> out) {
        { ce.analyzer() } -> std::same_as<text::analyzer const&>;
        { ce.embed_analyzed(analyses, out) } -> std::same_as<result<void>>;
    };

/** A retriever that indexes and searches `text::analyzer` terms, and accepts them
    already analyzed (optional; `flat_retriever` and `faiss_retriever` do).

    `analyzer()` is the analyzer `add` and `search` use, and `needs_words()` says whether
    they also use each term's word (`text::analyzed_text::words`). Given the analyses of
    the chunks' texts (`add_analyzed`, one per chunk) or of the query's parts
    (`search_analyzed`, one per part) by that analyzer, with words when `needs_words()`,
    the members do exactly what `add` and `search` do; a count that does not match is
    `errc::invalid_request` and changes nothing.
*/
template <class R>
concept analyzing_retriever =
    retriever<R> && requires(R& r, R const& cr, user_ref const& u, std::span<chunk const> chunks,
                             std::span<text::analyzed_text const> analyses, search_query const& q) {
        { cr.analyzer() } -> std::same_as<text::analyzer const&>;
        { cr.needs_words() } -> std::convertible_to<bool>;
        { r.add_analyzed(u, chunks, analyses) } -> std::same_as<result<void>>;
        { cr.search_analyzed(u, q, analyses) } -> std::same_as<result<std::vector<scored_chunk>>>;
    };

/** A transport: sends one HTTP request and returns the response.

    See `docs/concepts/Transport.md`. Any HTTP status is a successful `send` (the
    caller maps statuses); failing to connect, a timeout or a broken connection is
    `errc::unavailable`. Thread safety: a transport object is used by one thread at a
    time unless its documentation says otherwise.
*/
template <class T>
concept transport = requires(T& t, http_request const& req) {
    { t.send(req) } -> std::same_as<result<http_response>>;
};

/** A piece of evidence given to an answerer: a chunk and its retrieval score. */
struct evidence {
    persona::chunk chunk;
    double score = 0;
};

/** What an answerer is asked: a question about a user, with the evidence found for it. */
struct answer_context {
    std::string_view question;
    user_record const& user;
    std::span<persona::evidence const> evidence; ///< best first
    std::span<std::string const> options;    ///< decision prediction; empty otherwise
};

/** What an answerer returns. */
struct answer {
    std::string text;
    std::vector<source_ref> sources;         ///< the evidence the text rests on
    std::optional<std::size_t> choice;       ///< with options
    std::vector<double> option_scores;       ///< with options, one per option
};

/** An answerer: turns a question and its evidence into a grounded answer.

    See `docs/concepts/Answerer.md`. The answer is deterministic for the same
    context, names only evidence from the context in `sources`, says plainly when
    the evidence is too thin (never an error for that), and with options sets
    `choice` < options.size() and one `option_scores` entry per option.
    Thread safety: `answer` may be called concurrently.
*/
template <class A>
concept answerer = requires(A const& a, answer_context const& ctx) {
    { a.answer(ctx) } -> std::same_as<result<persona::answer>>;
};

/** The Personalization API: what an engine and a remote client both are.

    Code written against this concept runs in process or over HTTP unchanged.
    Errors are those of API.md's table (`errc`).
*/
template <class A>
concept personalization_api = requires(A& a, register_request const& reg, ingest_request const& ing,
                                       query_request const& qry, summary_request const& sum,
                                       chunks_request const& chk, delete_request const& del,
                                       deletion_status_request const& st) {
    { a.register_user(reg) } -> std::same_as<result<register_response>>;
    { a.ingest(ing) } -> std::same_as<result<ingest_response>>;
    { a.query(qry) } -> std::same_as<result<query_response>>;
    { a.summary(sum) } -> std::same_as<result<summary_response>>;
    { a.chunks(chk) } -> std::same_as<result<chunks_response>>;
    { a.delete_user(del) } -> std::same_as<result<delete_response>>;
    { a.deletion_status(st) } -> std::same_as<result<delete_response>>;
};

} // namespace persona

#endif
