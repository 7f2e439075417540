#ifndef PERSONA_ENGINE_HPP
#define PERSONA_ENGINE_HPP

/// @file
/// `engine`: the Personalization API served in process from a store, an embedder,
/// a retriever and an answerer.

#include <persona/api.hpp>
#include <persona/concepts.hpp>
#include <persona/detail/sparse_norm.hpp>
#include <persona/detail/user_map.hpp>
#include <persona/detail/validation.hpp>
#include <persona/extractive_answerer.hpp>
#include <persona/summarizer.hpp>
#include <persona/text/chunker.hpp>
#include <persona/text/hash.hpp>
#include <persona/traits.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace persona {

/** The tuning of an engine. The defaults follow API.md. */
struct engine_options {
    std::size_t evidence_k = 8;           ///< chunks retrieved as evidence for `/query`
    /// Largest `top_k` of `chunks`. API.md's 20 is what the wire accepts (the JSON layer
    /// enforces it for HTTP); in process an evaluation may look deeper (recall@50).
    std::size_t max_top_k = api_limits::max_top_k;
    std::size_t summary_candidates = 64;  ///< chunks considered for `/summary`
    std::size_t cache_capacity = 4096;    ///< cached `/query` answers kept (all users)
    std::size_t event_segment_chars = 800;     ///< longer events are split into `#s<n>` windows
    std::size_t document_paragraph_chars = 1200; ///< longer paragraphs are split into windows
    summarizer::options summary{};        ///< how `/summary` composes its text
    std::function<timestamp()> clock = &persona::now; ///< the time source (tests fix it)
};

/** Counts an engine reports for monitoring (`GET /metrics`). */
struct engine_statistics {
    std::size_t users = 0;  ///< registered users, all workspaces
    std::size_t chunks = 0; ///< indexed chunks, all users
};

/** The Personalization API in process. Models `personalization_api`.

    Composes four policies, owned by value: a `store` (the source of truth), an
    `embedder`, a `retriever` (derived state: rebuilt from the store by
    `rebuild_index`) and an `answerer`. Every operation validates its request as
    API.md says, then works under a lock of the one user it touches. Beyond
    `personalization_api` it has persona's export and import of a user
    (`export_user`, `import_user`).

    @par Thread safety
    Distinct objects: safe. Shared objects: safe. Reads (`query`, `summary`,
    `chunks`, `export_user`) of any users run in parallel; a write (`register_user`,
    `ingest`, `import_user`, `delete_user`) locks only its user's stripe (one of 256
    reader-writer locks chosen by a hash of workspace and user id), so writes of
    different users almost always proceed in parallel too. What an acknowledged write stored is
    visible to every call that starts after it returns.

    @tparam Store a model of `store`
    @tparam Embedder a model of `embedder`
    @tparam Retriever a model of `retriever`
    @tparam Answerer a model of `answerer`
*/
template <store Store, embedder Embedder, retriever Retriever, answerer Answerer = extractive_answerer>
class engine {
public:
    using store_type = Store;
    using embedder_type = Embedder;
    using retriever_type = Retriever;
    using answerer_type = Answerer;

    /// Construct with default-constructed policies.
    engine() = default;

    /// Construct from the given policies and options.
    explicit engine(Store s, Embedder e = {}, Retriever r = {}, Answerer a = {}, engine_options o = {})
        : store_(std::move(s)), embedder_(std::move(e)), retriever_(std::move(r)), answerer_(std::move(a)),
          options_(std::move(o)) {}

    /// The store.
    Store& get_store() noexcept { return store_; }
    Store const& get_store() const noexcept { return store_; }
    /// The embedder.
    Embedder const& get_embedder() const noexcept { return embedder_; }
    /// The retriever.
    Retriever& get_retriever() noexcept { return retriever_; }
    Retriever const& get_retriever() const noexcept { return retriever_; }
    /// The answerer.
    Answerer const& get_answerer() const noexcept { return answerer_; }
    /// The options.
    engine_options const& get_options() const noexcept { return options_; }

    /** Re-index every user's chunks from the store into the retriever.

        Used at start-up with a durable store: the retriever is derived state. Uses
        the embeddings kept with the chunks; nothing is re-embedded.
    */
    [[nodiscard]] result<void> rebuild_index() {
        auto users = store_.list_users();
        if (!users) return users.error();
        for (auto const& u : *users) {
            auto lock = lock_user(u, exclusive);
            if (auto rec = store_.get_user(u); rec && rec->email) index_email(u, std::nullopt, rec->email);
            auto chunks = store_.get_chunks(u);
            if (!chunks) return chunks.error();
            if (auto r = retriever_.remove_user(u); !r) return r.error();
            if (auto r = retriever_.add(u, *chunks); !r) return r.error();
        }
        return {};
    }

    /** Return the number of users and indexed chunks.

        @par Complexity
        Linear in the number of users.
    */
    engine_statistics get_statistics() const {
        engine_statistics s;
        if (auto users = store_.list_users()) {
            s.users = users->size();
            for (auto const& u : *users) s.chunks += retriever_.size(u);
        }
        return s;
    }

    // ------------------------------------------------------------------ register

    /** Create or update a user (`PUT /register`, or `POST /register` with `email`).

        Traits deep-merge into the stored profile (`merge_traits`); re-sending the
        same request changes nothing; `created_at` is the first registration's time.
        With only `email`, the user registered with that email in that workspace (under
        any id) is found; when there is none, the id is `usr_` + a hash of the normalised
        email, stable for that email in that workspace.

        @returns `errc::invalid_request` (with `details.field`) for a bad id or email.
    */
    [[nodiscard]] result<register_response> register_user(register_request const& req) {
        std::string user_id = req.user_id;
        if (user_id.empty() && req.email) {
            if (auto r = check_email(*req.email); !r) return r.error();
            // "Registers or finds the user by email": a user registered with this email
            // under any id is found; otherwise the id derives from the email.
            user_id = find_by_email(req.workspace, *req.email).value_or(user_id_for_email(*req.email));
        }
        if (user_id.empty()) return invalid_field("user_id", "user_id is required (or email)");
        if (auto r = check_profile(user_id, req.user_id.empty() ? std::nullopt : req.email, req.purpose); !r)
            return r.error();

        user_ref const ref{req.workspace, user_id};
        auto lock = lock_user(ref, exclusive);
        auto existing = store_.get_user(ref);
        user_record rec;
        bool changed = false;
        timestamp const t = options_.clock();
        if (existing) {
            rec = std::move(*existing);
        } else if (existing.error().code == errc::user_not_found) {
            rec.ref = ref;
            rec.created_at = t;
            changed = true;
        } else {
            return existing.error();
        }
        std::optional<std::string> const old_email = rec.email;
        changed |= apply_profile(rec, req.traits, req.purpose, req.email);
        if (changed) {
            rec.updated_at = t;
            ++rec.revision;
            if (auto r = store_.put_user(rec); !r) return r.error();
            if (rec.email != old_email) index_email(ref, old_email, rec.email);
        }
        return register_response{rec.ref.user_id, rec.created_at, "active", rec.email};
    }

    // ------------------------------------------------------------------ ingest

    /** Add events, documents and messages to a user, all or nothing (`POST /ingest`).

        Events become chunks `<event_id>#s<n>`, documents `<doc_id>#p<n>`, messages
        events of type `message`. A missing document or message id is derived from a
        hash of its content. An item whose id exists is replaced (re-chunked and
        re-indexed), or skipped and reported with `dedupe`. One invalid item rejects
        the request with `details.index` and stores nothing.

        @returns `errc::invalid_request`, `errc::user_not_found`, an embedder or store
        error (then nothing was stored), or `errc::internal_error` when indexing failed
        after the store committed (the data is kept; `rebuild_index` repairs the index).
    */
    [[nodiscard]] result<ingest_response> ingest(ingest_request const& req) {
        if (auto r = detail::check_user_id(req.user_id); !r) return r.error();
        if (auto r = detail::check_text("source", req.source); !r) return r.error();
        if (req.events.empty() && req.documents.empty() && req.message_history.empty())
            return invalid_field("events", "at least one event, document or message is required");
        timestamp const t = options_.clock();
        auto items = build_items(req, t);
        if (!items) return items.error();
        item_analyses analyses;
        if (auto r = embed_chunks(*items, analyses); !r) return r.error();

        user_ref const ref{req.workspace, req.user_id};
        auto lock = lock_user(ref, exclusive);
        auto user = store_.get_user(ref);
        if (!user) return user.error();

        ingest_response resp{req.user_id, 0, 0, {}, user->updated_at};
        std::vector<std::size_t> chosen; // the items to write, by position in `items`
        std::set<std::string> seen;
        for (std::size_t i = 0; i < items->size(); ++i) {
            auto const& si = (*items)[i];
            bool duplicate = seen.contains(si.item.id);
            if (!duplicate && req.dedupe) {
                auto existing = store_.get_item(ref, si.item.id);
                if (!existing) return existing.error();
                duplicate = existing->has_value();
            }
            if (duplicate && req.dedupe) {
                resp.skipped.push_back({si.item.id, std::string(to_string(si.item.kind)), "duplicate"});
                continue;
            }
            if (duplicate) { // the same id twice in one request: the later one wins
                std::erase_if(chosen, [&](std::size_t j) { return (*items)[j].item.id == si.item.id; });
            }
            seen.insert(si.item.id);
            chosen.push_back(i);
        }
        auto [to_write, written_analyses] = take_items(*items, analyses, chosen);
        for (auto const& w : to_write) ++(w.item.kind == item_kind::event ? resp.events : resp.documents);
        if (to_write.empty()) return resp;

        user->updated_at = t;
        ++user->revision;
        if (auto r = store_.put_items(*user, to_write); !r) return r.error();
        if (auto r = index_items(ref, to_write, written_analyses); !r) return r.error();
        resp.updated_at = t;
        return resp;
    }

    // ------------------------------------------------------------------ query

    /** Answer a question about a user from their data (`POST /query`).

        The answer is deterministic for the same data and question and names its
        evidence in `sources`. With `options` (2–10), also predicts which the user
        would pick (`choice`, `option_scores`). With `use_cache`, an answer computed
        for the same question since the user's last change is returned.

        @returns `errc::invalid_request`, `errc::user_not_found`, or an error of the store,
        embedder, retriever or answerer.
    */
    [[nodiscard]] result<query_response> query(query_request const& req) {
        if (auto r = detail::check_user_id(req.user_id); !r) return r.error();
        if (auto r = detail::check_text("question", req.question); !r) return r.error();
        if (detail::is_blank(req.question)) return invalid_field("question", "question must not be empty");
        if (!req.options.empty() &&
            (req.options.size() < api_limits::min_options || req.options.size() > api_limits::max_options))
            return invalid_field("options", "options must have 2 to 10 entries");
        for (std::size_t i = 0; i < req.options.size(); ++i) {
            if (!text::is_valid_utf8(req.options[i])) return detail::item_error("options", i, "", "is not valid UTF-8");
            if (detail::is_blank(req.options[i])) return detail::item_error("options", i, "", "must not be empty");
        }

        user_ref const ref{req.workspace, req.user_id};
        auto lock = lock_user(ref, shared);
        auto user = store_.get_user(ref);
        if (!user) return user.error();
        std::string const key = cache_key(ref, req);
        if (req.use_cache)
            if (auto hit = cache_find(key, user->revision)) return std::move(*hit);

        search_query q;
        q.parts.push_back({req.question, 1.0});
        for (auto const& o : req.options) q.parts.push_back({o, 0.5});
        q.k = options_.evidence_k + req.options.size();
        q.prefer_recent = asks_about_now(req.question);
        auto ev = find_evidence(ref, q);
        if (!ev) return ev.error();

        auto ans = answerer_.answer(answer_context{req.question, *user, *ev, req.options});
        if (!ans) return ans.error();
        query_response resp{req.user_id, std::move(ans->text), std::move(ans->sources), ans->choice,
                            std::move(ans->option_scores)};
        if (req.use_cache) cache_store(key, user->revision, resp);
        return resp;
    }

    // ------------------------------------------------------------------ summary

    /** Summarise a user for a purpose (`GET /summary`); deterministic for the same data.

        @returns `errc::invalid_request` for an unknown purpose or a zero `max_chars` /
        `freshness_days`, `errc::user_not_found`, or an error of the store, embedder or
        retriever.
    */
    [[nodiscard]] result<summary_response> summary(summary_request const& req) {
        if (auto r = detail::check_user_id(req.user_id); !r) return r.error();
        if (std::ranges::find(summary_purposes, std::string_view(req.purpose)) == std::end(summary_purposes))
            return invalid_field("purpose", "purpose must be one of: general, work-style, persona, decision-style, "
                                            "preferences, tool, device, situation");
        if (req.max_chars && (*req.max_chars == 0 || *req.max_chars > api_limits::max_summary_chars))
            return invalid_field("max_chars", "max_chars must be a whole number from 1 to " +
                                                  std::to_string(api_limits::max_summary_chars));
        if (req.freshness_days && (*req.freshness_days == 0 || *req.freshness_days > api_limits::max_freshness_days))
            return invalid_field("freshness_days", "freshness_days must be a whole number from 1 to " +
                                                       std::to_string(api_limits::max_freshness_days));

        timestamp const t = options_.clock();
        user_ref const ref{req.workspace, req.user_id};
        auto lock = lock_user(ref, shared);
        auto user = store_.get_user(ref);
        if (!user) return user.error();

        search_query q = summarizer::purpose_query(req.purpose);
        // With a freshness window, rank everything and filter before keeping the best:
        // filtering only the top candidates could leave nothing although fresh data exists.
        q.k = req.freshness_days ? std::max(options_.summary_candidates, retriever_.size(ref)) : options_.summary_candidates;
        auto ev = find_evidence(ref, q);
        if (!ev) return ev.error();
        auto const cutoff = req.freshness_days
                                ? t - std::chrono::days(static_cast<long>(*req.freshness_days))
                                : timestamp::min();
        std::erase_if(*ev, [&](evidence const& e) { return e.chunk.ingested_at < cutoff; });
        if (ev->size() > options_.summary_candidates) ev->resize(options_.summary_candidates);
        if (ev->size() < options_.summary_candidates) {
            // Too few chunks use the purpose's words: fill up with the newest others (score 0),
            // so a summary of a user with data never claims there is none.
            auto all = store_.get_chunks(ref);
            if (!all) return all.error();
            std::set<std::string> have;
            for (auto const& e : *ev) have.insert(e.chunk.chunk_id);
            std::ranges::stable_sort(*all, [](chunk const& a, chunk const& b) { return a.time > b.time; });
            for (auto& c : *all) {
                if (ev->size() >= options_.summary_candidates) break;
                if (c.ingested_at < cutoff || have.contains(c.chunk_id)) continue;
                ev->push_back({std::move(c), 0.0});
            }
        }
        std::string text = summarizer(options_.summary).summarize(*user, req.purpose, *ev, req.max_chars);
        return summary_response{req.user_id, t, req.purpose, std::move(text)};
    }

    // ------------------------------------------------------------------ chunks

    /** Return the top-k chunks for grounding a conversation (`POST /chunks`).

        The retrieval query is built from every turn, the latest user turn weighing
        most. Results are best first, ties broken by chunk id, scores in [0, 1].

        @returns `errc::invalid_request` (empty conversation, bad role, `top_k`
        outside 1–20, threshold outside [0, 1]), `errc::user_not_found`, or an error of
        the store, embedder or retriever.
    */
    [[nodiscard]] result<chunks_response> chunks(chunks_request const& req) {
        if (auto r = detail::check_user_id(req.user_id); !r) return r.error();
        if (req.conversation.empty()) return invalid_field("conversation", "conversation must not be empty");
        for (std::size_t i = 0; i < req.conversation.size(); ++i) {
            if (!detail::is_conversation_role(req.conversation[i].role))
                return detail::item_error("conversation", i, "role", "must be one of: system, user, assistant");
            if (!text::is_valid_utf8(req.conversation[i].content))
                return detail::item_error("conversation", i, "content", "is not valid UTF-8");
        }
        if (req.top_k < api_limits::min_top_k || req.top_k > options_.max_top_k)
            return invalid_field("top_k", "top_k must be an integer from 1 to " + std::to_string(options_.max_top_k));
        if (req.similarity_threshold && !(*req.similarity_threshold >= 0.0 && *req.similarity_threshold <= 1.0))
            return invalid_field("similarity_threshold", "similarity_threshold must be a number from 0 to 1");

        user_ref const ref{req.workspace, req.user_id};
        auto lock = lock_user(ref, shared);
        if (auto user = store_.get_user(ref); !user) return user.error();

        search_query q;
        q.parts = conversation_parts(req.conversation);
        q.k = req.top_k;
        q.min_score = req.similarity_threshold.value_or(0.0);
        for (auto it = req.conversation.rbegin(); it != req.conversation.rend(); ++it)
            if (it->role == "user") {
                q.prefer_recent = asks_about_now(it->content);
                break;
            }
        auto ev = find_evidence(ref, q);
        if (!ev) return ev.error();
        chunks_response resp;
        resp.results.reserve(ev->size());
        for (auto& e : *ev) resp.results.push_back({e.chunk.chunk_id, std::move(e.chunk.text), e.score});
        return resp;
    }

    // ------------------------------------------------------------------ delete

    /** Forget a user entirely (`POST /delete`); afterwards every call answers 404 for them.

        @returns `errc::invalid_request` (scope other than `global`), `errc::user_not_found`,
        a store error (nothing was deleted), or `errc::internal_error` when the index could
        not be dropped after the store erased the user.
    */
    [[nodiscard]] result<delete_response> delete_user(delete_request const& req) {
        if (auto r = detail::check_user_id(req.user_id); !r) return r.error();
        if (req.scope != "global") return invalid_field("scope", "scope must be one of: global");
        user_ref const ref{req.workspace, req.user_id};
        auto lock = lock_user(ref, exclusive);
        auto const email = [&]() -> std::optional<std::string> {
            auto u = store_.get_user(ref);
            return u ? u->email : std::nullopt;
        }();
        if (auto r = store_.erase_user(ref); !r) return r.error();
        if (email) index_email(ref, email, std::nullopt);
        if (auto r = retriever_.remove_user(ref); !r) return internal("removing the index failed", r.error());
        cache_erase_user(ref);
        timestamp const t = options_.clock();
        std::lock_guard g(tickets_->mutex);
        std::uint64_t const n = ++tickets_->issued;
        delete_response resp{"del_" + text::hex64(text::mix64(detail::hash_user(ref) ^ text::mix64(n) ^
                                                              static_cast<std::uint64_t>(t.time_since_epoch().count()))),
                             "completed", t};
        tickets_->by_id[{req.workspace, resp.ticket_id}] = resp;
        if constexpr (deletion_ticket_store<Store>) {
            // The user is gone whatever happens here; a ticket the store could not keep
            // is still answered from memory until the next restart.
            (void)store_.put_deletion(req.workspace, resp);
        }
        return resp;
    }

    /** Return the status of a deletion ticket of the request's workspace (`GET /delete/{id}`).

        @returns `errc::not_found` for a ticket this engine did not issue in that workspace.
    */
    [[nodiscard]] result<delete_response> deletion_status(deletion_status_request const& req) const {
        {
            std::lock_guard g(tickets_->mutex);
            if (auto const it = tickets_->by_id.find({req.workspace, req.ticket_id}); it != tickets_->by_id.end())
                return it->second;
        }
        if constexpr (deletion_ticket_store<Store>) {
            auto kept = store_.get_deletion(req.workspace, req.ticket_id);
            if (!kept) return kept.error();
            if (*kept) return **kept;
        }
        return make_error(errc::not_found, "no deletion ticket '" + req.ticket_id + "'",
                          boost::json::object{{"ticket_id", req.ticket_id}});
    }

    // ------------------------------------------------------------------ export / import

    /** Return one user's profile and items (`GET /export`, a persona extension).

        Items are ordered by (time, id), as the store lists them, and carry no chunks or
        embeddings: an importing engine re-chunks and re-embeds with its own policies,
        which is what lets a user move between backends and embedders. The profile and
        the items are read under the user's lock, so an export never holds half of a
        concurrent ingest.

        @returns `errc::invalid_request` for a bad id, `errc::user_not_found`, or a store
        error.

        @par Complexity
        Linear in the user's items, plus the store's listing.
    */
    [[nodiscard]] result<user_export> export_user(export_request const& req) const {
        if (auto r = detail::check_user_id(req.user_id); !r) return r.error();
        user_ref const ref{req.workspace, req.user_id};
        auto lock = lock_user(ref, shared);
        auto user = store_.get_user(ref);
        if (!user) return user.error();
        auto items = store_.get_items(ref);
        if (!items) return items.error();
        return user_export{std::move(user->ref.user_id), std::move(user->email), std::move(user->traits),
                           std::move(user->purpose), user->created_at, user->updated_at, std::move(*items)};
    }

    /** Write an export into this engine (`POST /import`, a persona extension), all or nothing.

        The user is registered as `register_user` would (traits deep-merge into an existing
        profile, purpose and email replace when given; a new user keeps the export's
        `created_at`), then every item is written as ingest writes it — replacing an item
        with the same id, re-chunked and re-embedded with this engine's policies — keeping
        its `time` and `ingested_at` (which `/summary`'s `freshness_days` reads). Items the
        user has and the export does not name are kept; an item twice in the export is
        stored once, the later one. Items equal to the stored ones are not rewritten, so
        importing the same export again changes nothing, not even the user's revision.
        With `req.user_id` set, the export is imported under that id instead of its own.

        Everything is validated before anything is written, with register's and ingest's
        rules and limits. An error names the export's line in `details.line` (1 for the
        profile, i + 2 for `data.items[i]`) and the member in `details.field`, as
        `"line 3: content must not be empty"`.

        @returns `errc::invalid_request`, an embedder or store error (then nothing was
        stored: a user the import created is erased again), or `errc::internal_error`
        when indexing failed after the store committed (`rebuild_index` repairs it).

        @par Thread safety
        Locks only the imported user, like `ingest`. An existing user's profile and items
        are written in one `put_items`; a new user is created first (`put_user`).
    */
    [[nodiscard]] result<import_response> import_user(import_request const& req) {
        user_export const& x = req.data;
        std::string const& user_id = req.user_id.empty() ? x.user_id : req.user_id;
        std::optional<std::string> const purpose =
            x.purpose.empty() ? std::nullopt : std::optional<std::string>(x.purpose);
        if (!req.user_id.empty()) // from the query string, not a line of the export
            if (auto r = detail::check_user_id(req.user_id); !r) return r.error();
        if (auto r = check_profile(user_id, x.email, purpose); !r) return detail::at_line(r.error(), 1);
        std::vector<stored_item> items;
        items.reserve(x.items.size());
        for (std::size_t i = 0; i < x.items.size(); ++i) {
            auto it = import_item(x.items[i], i);
            if (!it) return it.error();
            items.push_back(make_stored(std::move(*it)));
        }
        // The same id twice: the later line wins, as within one ingest request.
        std::unordered_map<std::string, std::size_t> last;
        for (std::size_t i = 0; i < items.size(); ++i) last[items[i].item.id] = i;
        if (last.size() != items.size()) {
            std::vector<stored_item> unique;
            unique.reserve(last.size());
            for (std::size_t i = 0; i < items.size(); ++i)
                if (last[items[i].item.id] == i) unique.push_back(std::move(items[i]));
            items = std::move(unique);
        }
        import_response resp{user_id, 0, 0};
        for (auto const& si : items) ++(si.item.kind == item_kind::event ? resp.events : resp.documents);
        // Embedding is the costly part: done before the lock, as ingest does.
        item_analyses analyses;
        if (auto r = embed_chunks(items, analyses); !r) return r.error();

        timestamp const t = options_.clock();
        user_ref const ref{req.workspace, user_id};
        auto lock = lock_user(ref, exclusive);
        auto existing = store_.get_user(ref);
        bool const is_new = !existing;
        user_record rec;
        if (existing) {
            rec = std::move(*existing);
        } else if (existing.error().code == errc::user_not_found) {
            rec.ref = ref;
            rec.created_at = x.created_at;
        } else {
            return existing.error();
        }
        std::optional<std::string> const old_email = rec.email;
        bool const profile_changed = apply_profile(rec, x.traits, purpose, x.email) || is_new;

        std::vector<std::size_t> chosen; // the items to write, by position in `items`
        if (is_new) {
            for (std::size_t i = 0; i < items.size(); ++i) chosen.push_back(i);
        } else {
            auto stored = store_.get_items(ref);
            if (!stored) return stored.error();
            std::unordered_map<std::string_view, item const*> by_id;
            for (auto const& s : *stored) by_id.emplace(s.id, &s);
            for (std::size_t i = 0; i < items.size(); ++i) {
                auto const it = by_id.find(items[i].item.id);
                if (it == by_id.end() || *it->second != items[i].item) chosen.push_back(i);
            }
        }
        auto [to_write, written_analyses] = take_items(items, analyses, chosen);
        if (!profile_changed && to_write.empty()) return resp;

        rec.updated_at = t;
        ++rec.revision;
        if (is_new || to_write.empty())
            if (auto r = store_.put_user(rec); !r) return r.error();
        if (!to_write.empty()) {
            if (auto r = store_.put_items(rec, to_write); !r) {
                // All or nothing: a user this import created goes again.
                if (is_new) (void)store_.erase_user(ref);
                return r.error();
            }
        }
        if (rec.email != old_email) index_email(ref, old_email, rec.email);
        if (auto r = index_items(ref, to_write, written_analyses); !r) return r.error();
        return resp;
    }

private:
    static constexpr bool exclusive = true;
    static constexpr bool shared = false;

    // Analysis once: when the embedder and the retriever both start from analyzer terms
    // and accept them ready-made, a chunk or a query is analyzed once for both (it is
    // about two fifths of ingest's work otherwise, docs/performance.md).
    static constexpr bool can_share_analysis = analyzing_embedder<Embedder> && analyzing_retriever<Retriever>;

    /// Whether the embedder and the retriever analyze text alike (then the engine does it once).
    bool shares_analysis() const noexcept {
        if constexpr (can_share_analysis)
            return embedder_.analyzer().get_options() == retriever_.analyzer().get_options();
        else
            return false;
    }

    /// Per item, the analyses of its chunks in order (see `embed_chunks`).
    using item_analyses = std::vector<std::vector<text::analyzed_text>>;

    // The user stripe: writes of one user serialise; readers share. The store and the
    // retriever are thread-safe on their own; this lock makes the store write and the
    // index update one step as seen by readers.
    struct user_lock {
        std::shared_mutex* mutex = nullptr;
        bool exclusive = false;
        user_lock(std::shared_mutex& m, bool excl) : mutex(&m), exclusive(excl) {
            exclusive ? mutex->lock() : mutex->lock_shared();
        }
        user_lock(user_lock const&) = delete;
        user_lock& operator=(user_lock const&) = delete;
        ~user_lock() { exclusive ? mutex->unlock() : mutex->unlock_shared(); }
    };

    static constexpr std::size_t stripe_count = 256;

    user_lock lock_user(user_ref const& u, bool excl) const {
        return user_lock(stripes_[detail::hash_user(u) % stripe_count], excl);
    }

    static error internal(std::string_view what, error const& cause) {
        // The cause stays out of the message: API.md forbids leaking internals.
        (void)cause;
        return make_error(errc::internal_error, std::string(what));
    }

    static result<void> check_email(std::string_view email) {
        auto const at = email.find('@');
        if (at == 0 || at == std::string_view::npos || at + 1 >= email.size() || email.find('@', at + 1) != email.npos ||
            !text::is_valid_utf8(email))
            return invalid_field("email", "email must contain one '@' with text on both sides");
        return {};
    }

    static std::string normalise_email(std::string_view email) {
        std::string normalised;
        for (char c : email)
            if (!std::isspace(static_cast<unsigned char>(c)))
                normalised += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return normalised;
    }

    static std::string user_id_for_email(std::string_view email) {
        return "usr_" + text::hex64(text::mix64(text::fnv1a_64(normalise_email(email)))).substr(0, 12);
    }

    std::optional<std::string> find_by_email(std::string const& workspace, std::string_view email) const {
        std::lock_guard g(emails_->mutex);
        auto const it = emails_->by_email.find({workspace, normalise_email(email)});
        if (it == emails_->by_email.end()) return std::nullopt;
        return it->second;
    }

    // Keeps (workspace, normalised email) -> user id in step with the store; called under
    // the user's stripe lock, so two writes of one user never interleave here.
    void index_email(user_ref const& ref, std::optional<std::string> const& old_email,
                     std::optional<std::string> const& new_email) const {
        std::lock_guard g(emails_->mutex);
        if (old_email) {
            auto const it = emails_->by_email.find({ref.workspace, normalise_email(*old_email)});
            if (it != emails_->by_email.end() && it->second == ref.user_id) emails_->by_email.erase(it);
        }
        if (new_email) emails_->by_email[{ref.workspace, normalise_email(*new_email)}] = ref.user_id;
    }

    static bool is_ascii(std::string_view s) noexcept {
        return std::ranges::all_of(s, [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    }

    /// Whether ASCII `text` holds, in any case, a stem every cue of `asks_about_now` has.
    static bool may_hold_now_cue(std::string_view text) noexcept {
        auto const fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        auto const at = [&](std::size_t i, std::string_view lower) {
            if (text.size() - i < lower.size()) return false;
            for (std::size_t j = 1; j < lower.size(); ++j)
                if (fold(text[i + j]) != lower[j]) return false;
            return true;
        };
        for (std::size_t i = 0; i < text.size(); ++i) {
            switch (fold(text[i])) {
            case 'n': if (at(i, "now")) return true; break;
            case 'l': if (at(i, "late")) return true; break;
            case 'r': if (at(i, "recent")) return true; break;
            case 'c': if (at(i, "current")) return true; break;
            case 't': if (at(i, "these days")) return true; break;
            default: break;
            }
        }
        return false;
    }

    static bool asks_about_now(std::string_view question) {
        // Single-word cues; the phrase "these days" is matched on the text below.
        static constexpr std::string_view cues[] = {"now",    "lately",  "recently", "currently",
                                                    "latest", "current", "nowadays"};
        // Most turns name no cue: in ASCII text (which folding only lower-cases) a word
        // can be a cue only where one of these stems occurs, whatever the case. Other
        // text may fold into one (accents are stripped) and is always tokenized.
        if (is_ascii(question) && !may_hold_now_cue(question)) return false;
        // The words as `tokenize_words` folds them, looked at in place: no string is kept.
        bool cued = false;
        text::detail::for_each_token(question, [&](std::size_t, std::size_t, std::string const& word) {
            cued = cued || std::ranges::find(cues, std::string_view(word)) != std::end(cues);
        });
        return cued || question.find("these days") != std::string_view::npos;
    }

    /// Validate and turn the request's items into stored items with chunks (not yet embedded).
    result<std::vector<stored_item>> build_items(ingest_request const& req, timestamp t) const {
        std::vector<stored_item> out;
        out.reserve(req.events.size() + req.documents.size() + req.message_history.size());
        for (std::size_t i = 0; i < req.events.size(); ++i) {
            auto it = event_item(req.events[i], req.source, i, t);
            if (!it) return it.error();
            out.push_back(make_stored(std::move(*it)));
        }
        for (std::size_t i = 0; i < req.documents.size(); ++i) {
            auto it = document_item(req.documents[i], req.source, i, t);
            if (!it) return it.error();
            out.push_back(make_stored(std::move(*it)));
        }
        for (std::size_t i = 0; i < req.message_history.size(); ++i) {
            auto const& m = req.message_history[i];
            if (m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool")
                return detail::item_error("message_history", i, "role", "must be one of: system, user, assistant, tool");
            if (auto r = detail::check_content("message_history", i, m.content); !r) return r.error();
            std::string id = m.id;
            if (id.empty()) {
                std::string basis = m.role + '\n' + (m.time ? format_timestamp(*m.time) : std::string()) + '\n' + m.content;
                id = "msg_" + text::hex64(text::fnv1a_64(basis));
            }
            if (auto r = detail::check_item_id("message_history", i, "id", id); !r) return r.error();
            boost::json::object meta{{"role", m.role}};
            item it{std::move(id), item_kind::event, "message", req.source, {}, m.content, m.time.value_or(t), t,
                    std::move(meta)};
            out.push_back(make_stored(std::move(it)));
        }
        return out;
    }

    /// Validate event `i` of a request and make its item, ingested at `t`.
    static result<item> event_item(event_input const& e, std::string_view source, std::size_t i, timestamp t) {
        if (auto r = detail::check_item_id("events", i, "event_id", e.event_id); !r) return r.error();
        if (e.type.empty()) return detail::item_error("events", i, "type", "is required");
        if (!text::is_valid_utf8(e.type)) return detail::item_error("events", i, "type", "is not valid UTF-8");
        if (!e.time) return detail::item_error("events", i, "timestamp", "is required");
        if (auto r = detail::check_content("events", i, e.content); !r) return r.error();
        return item{e.event_id, item_kind::event, e.type, std::string(source), detail::event_title(e.metadata),
                    e.content, *e.time, t, e.metadata};
    }

    /// Validate document `i` of a request and make its item, ingested at `t`.
    static result<item> document_item(document_input const& d, std::string_view source, std::size_t i, timestamp t) {
        if (auto r = detail::check_content("documents", i, d.content); !r) return r.error();
        std::string id = d.doc_id.empty() ? "doc_" + text::hex64(text::fnv1a_64(d.content)) : d.doc_id;
        if (auto r = detail::check_item_id("documents", i, "doc_id", id); !r) return r.error();
        if (!text::is_valid_utf8(d.title)) return detail::item_error("documents", i, "title", "is not valid UTF-8");
        if (!text::is_valid_utf8(d.kind)) return detail::item_error("documents", i, "kind", "is not valid UTF-8");
        std::string type = d.kind.empty() ? "document" : d.kind;
        return item{std::move(id), item_kind::document, std::move(type), std::string(source), d.title, d.content,
                    d.created_at.value_or(t), t, d.metadata};
    }

    /// Validate item `i` of an import as ingest validates an event or a document (it goes
    /// through the same builder) and make the item to store, keeping its ingest time.
    /// Errors name line i + 2 of the export and the member as an export line spells it.
    static result<item> import_item(item const& x, std::size_t i) {
        std::size_t const line = i + 2;
        if (auto r = detail::check_text("source", x.source); !r) return detail::at_line(r.error(), line);
        auto made = x.kind == item_kind::event
                        ? event_item(event_input{x.id, x.type, x.time, x.content, x.metadata}, x.source, i, x.ingested_at)
                        : document_item(document_input{x.id, x.content, x.title, x.type, x.time, x.metadata}, x.source,
                                        i, x.ingested_at);
        if (!made) return detail::at_line(as_export_member(made.error(), x.kind, i), line);
        return made;
    }

    // The builders name a member as ingest does, "events[2].type"; an export line is one
    // object, and calls the event's type "event_type" because "type" names the line's kind.
    static error as_export_member(error e, item_kind kind, std::size_t i) {
        auto const* field = e.details.if_contains("field");
        if (field == nullptr || !field->is_string()) return e;
        std::string const old(field->get_string());
        std::string const prefix = detail::indexed_field(kind == item_kind::event ? "events" : "documents", i, "") + ".";
        if (!old.starts_with(prefix)) return e;
        std::string member = old.substr(prefix.size());
        if (kind == item_kind::event && member == "type") member = "event_type";
        if (e.message.starts_with(old)) e.message = member + e.message.substr(old.size());
        e.details["field"] = member;
        return e;
    }

    /// The checks `register` makes of a profile; `import` makes the same of an export's first line.
    static result<void> check_profile(std::string_view user_id, std::optional<std::string> const& email,
                                      std::optional<std::string> const& purpose) {
        if (auto r = detail::check_user_id(user_id); !r) return r.error();
        if (email)
            if (auto r = check_email(*email); !r) return r;
        if (purpose)
            if (auto r = detail::check_text("purpose", *purpose); !r) return r;
        return {};
    }

    /// Register's update of a profile, shared with import: traits deep-merge; purpose and
    /// email replace when given. Returns whether `rec` changed.
    static bool apply_profile(user_record& rec, boost::json::object const& traits,
                              std::optional<std::string> const& purpose, std::optional<std::string> const& email) {
        bool changed = merge_traits(rec.traits, traits);
        if (purpose && rec.purpose != *purpose) {
            rec.purpose = *purpose;
            changed = true;
        }
        if (email && rec.email != email) {
            rec.email = email;
            changed = true;
        }
        return changed;
    }

    /// Replace the written items' chunks in the index. Called after the store committed:
    /// a failure leaves the index stale, not the data lost, and rebuild_index() repairs it.
    /// `analyses`: the written items' chunk analyses (`embed_chunks`), or empty.
    result<void> index_items(user_ref const& ref, std::span<stored_item const> written, item_analyses& analyses) {
        if (written.empty()) return {};
        std::vector<std::string> ids;
        std::vector<chunk> chunks;
        for (auto const& w : written) {
            ids.push_back(w.item.id);
            chunks.insert(chunks.end(), w.chunks.begin(), w.chunks.end());
        }
        if (auto r = retriever_.remove_items(ref, ids); !r) return internal("re-indexing failed", r.error());
        if constexpr (can_share_analysis) {
            if (!analyses.empty()) {
                std::vector<text::analyzed_text> flat;
                flat.reserve(chunks.size());
                for (auto& per_item : analyses)
                    for (auto& a : per_item) flat.push_back(std::move(a));
                if (auto r = retriever_.add_analyzed(ref, chunks, flat); !r) return internal("indexing failed", r.error());
                return {};
            }
        }
        if (auto r = retriever_.add(ref, chunks); !r) return internal("indexing failed", r.error());
        return {};
    }

    /// Move the items at `chosen` out of `items`, with their analyses when there are any.
    static std::pair<std::vector<stored_item>, item_analyses> take_items(std::vector<stored_item>& items,
                                                                        item_analyses& analyses,
                                                                        std::span<std::size_t const> chosen) {
        std::pair<std::vector<stored_item>, item_analyses> out;
        out.first.reserve(chosen.size());
        for (auto const i : chosen) {
            out.first.push_back(std::move(items[i]));
            if (!analyses.empty()) out.second.push_back(std::move(analyses[i]));
        }
        return out;
    }

    stored_item make_stored(item it) const {
        stored_item si;
        auto const pieces = it.kind == item_kind::event
                                ? text::split_segments(it.content, options_.event_segment_chars)
                                : text::split_paragraphs(it.content, options_.document_paragraph_chars);
        std::uint32_t ordinal = 0;
        for (auto piece : pieces) {
            chunk c;
            c.ordinal = ++ordinal;
            c.chunk_id = make_chunk_id(it.id, it.kind, c.ordinal);
            c.item_id = it.id;
            c.kind = it.kind;
            c.type = it.type;
            c.source = it.source;
            c.title = it.title;
            c.text = std::string(piece);
            c.time = it.time;
            c.ingested_at = it.ingested_at;
            si.chunks.push_back(std::move(c));
        }
        si.item = std::move(it);
        return si;
    }

    /// Embed every chunk of `items`. When the embedder and the retriever share an
    /// analyzer, each chunk is analyzed once here and `analyses` keeps the result for
    /// `index_items` (item by item); otherwise `analyses` stays empty.
    result<void> embed_chunks(std::vector<stored_item>& items, item_analyses& analyses) const {
        std::vector<std::string_view> texts;
        for (auto const& si : items)
            for (auto const& c : si.chunks) texts.push_back(c.text);
        std::size_t const dim = embedder_.dimension();
        std::vector<float> matrix(texts.size() * dim);
        analyses.clear();
        if constexpr (can_share_analysis) {
            if (shares_analysis()) {
                std::vector<text::analyzed_text> flat;
                flat.reserve(texts.size());
                for (auto const t : texts) flat.push_back(retriever_.analyzer().analyze(t, retriever_.needs_words()));
                if (auto r = embedder_.embed_analyzed(flat, matrix); !r) return r.error();
                analyses.reserve(items.size());
                std::size_t next = 0;
                for (auto const& si : items) {
                    auto& per_item = analyses.emplace_back();
                    for (std::size_t j = 0; j < si.chunks.size(); ++j) per_item.push_back(std::move(flat[next++]));
                }
            }
        }
        if (analyses.empty())
            if (auto r = embedder_.embed(texts, matrix); !r) return r.error();
        std::size_t row = 0;
        for (auto& si : items)
            for (auto& c : si.chunks) {
                auto const begin = matrix.begin() + static_cast<std::ptrdiff_t>(row++ * dim);
                c.embedding.assign(begin, begin + static_cast<std::ptrdiff_t>(dim));
            }
        return {};
    }

    /// Weight conversation turns: the latest user turn 1.0, earlier ones 0.35, 0.12, ...; assistant
    /// turns count less than the user's, system prompts least.
    static std::vector<query_part> conversation_parts(std::vector<conversation_turn> const& conv) {
        std::vector<query_part> parts;
        double user_decay = 1.0, other_decay = 1.0;
        for (auto it = conv.rbegin(); it != conv.rend(); ++it) {
            if (it->content.empty()) continue;
            double w = 0;
            if (it->role == "user") {
                w = user_decay;
                user_decay = std::max(0.1, user_decay * 0.35);
            } else if (it->role == "assistant") {
                w = 0.2 * other_decay;
                other_decay = std::max(0.25, other_decay * 0.5);
            } else {
                w = 0.1;
            }
            parts.push_back({it->content, w});
        }
        return parts;
    }

    /// Retrieve for `q` (embedding its parts) and load the chunks; best first.
    result<std::vector<evidence>> find_evidence(user_ref const& ref, search_query& q) const {
        std::size_t const dim = embedder_.dimension();
        // With a shared analyzer each part is analyzed once, for both sides.
        std::vector<text::analyzed_text> analyses;
        if (!q.parts.empty() && dim > 0) {
            std::vector<std::string_view> texts;
            texts.reserve(q.parts.size());
            analyses.reserve(q.parts.size());
            for (auto const& p : q.parts) texts.push_back(p.text);
            std::vector<float> matrix(texts.size() * dim);
            if constexpr (can_share_analysis) {
                if (shares_analysis()) {
                    for (auto const t : texts) analyses.push_back(retriever_.analyzer().analyze(t, retriever_.needs_words()));
                    if (auto r = embedder_.embed_analyzed(analyses, matrix); !r) return r.error();
                }
            }
            if (analyses.empty())
                if (auto r = embedder_.embed(texts, matrix); !r) return r.error();
            q.vector.assign(dim, 0.0f);
            for (std::size_t i = 0; i < texts.size(); ++i)
                for (std::size_t j = 0; j < dim; ++j)
                    q.vector[j] += static_cast<float>(q.parts[i].weight) * matrix[i * dim + j];
            // Only the nonzero places are summed and divided (detail/sparse_norm.hpp).
            thread_local std::vector<std::uint32_t> buffer;
            auto const nonzero = detail::nonzero_positions(q.vector, buffer);
            double const norm = detail::sum_of_squares(q.vector, nonzero);
            if (norm > 0)
                for (auto const j : nonzero) q.vector[j] = static_cast<float>(q.vector[j] / std::sqrt(norm));
            else
                q.vector.clear();
        }
        auto hits = [&] {
            if constexpr (can_share_analysis)
                if (!analyses.empty()) return retriever_.search_analyzed(ref, q, analyses);
            return retriever_.search(ref, q);
        }();
        if (!hits) return hits.error();
        std::vector<std::string> ids;
        ids.reserve(hits->size());
        for (auto const& h : *hits) ids.push_back(h.chunk_id);
        auto loaded = store_.get_chunks(ref, ids);
        if (!loaded) return loaded.error();
        std::vector<evidence> out;
        out.reserve(hits->size());
        std::size_t j = 0;
        for (auto const& h : *hits) {
            // get_chunks keeps the asked order and skips unknown ids.
            if (j < loaded->size() && (*loaded)[j].chunk_id == h.chunk_id) out.push_back({std::move((*loaded)[j++]), h.score});
        }
        return out;
    }

    // ---- the /query cache: answers keyed by request, valid while the user's revision holds.
    struct cache_entry {
        std::uint64_t revision = 0;
        query_response response;
    };
    struct cache_state {
        std::mutex mutex;
        std::unordered_map<std::string, cache_entry> entries;
    };

    // Each part is length-prefixed: ids and questions may contain any character (NUL
    // included), and two different requests must never share a key.
    static void append_part(std::string& key, std::string_view part) {
        key += std::to_string(part.size());
        key += ':';
        key += part;
    }

    static std::string user_prefix(user_ref const& ref) {
        std::string key;
        append_part(key, ref.workspace);
        append_part(key, ref.user_id);
        return key;
    }

    static std::string cache_key(user_ref const& ref, query_request const& req) {
        std::string key = user_prefix(ref);
        append_part(key, req.question);
        for (auto const& o : req.options) append_part(key, o);
        return key;
    }

    std::optional<query_response> cache_find(std::string const& key, std::uint64_t revision) const {
        std::lock_guard g(cache_->mutex);
        auto const it = cache_->entries.find(key);
        if (it == cache_->entries.end() || it->second.revision != revision) return std::nullopt;
        return it->second.response;
    }

    void cache_store(std::string key, std::uint64_t revision, query_response const& resp) const {
        if (options_.cache_capacity == 0) return;
        std::lock_guard g(cache_->mutex);
        if (cache_->entries.size() >= options_.cache_capacity) cache_->entries.clear(); // crude but bounded
        cache_->entries[std::move(key)] = cache_entry{revision, resp};
    }

    void cache_erase_user(user_ref const& ref) const {
        std::string const prefix = user_prefix(ref);
        std::lock_guard g(cache_->mutex);
        std::erase_if(cache_->entries, [&](auto const& kv) { return kv.first.starts_with(prefix); });
    }

    struct email_state {
        std::mutex mutex;
        std::map<std::pair<std::string, std::string>, std::string> by_email;
    };

    struct ticket_state {
        std::mutex mutex;
        std::map<std::pair<std::string, std::string>, delete_response> by_id;
        std::uint64_t issued = 0;
    };

    [[no_unique_address]] Store store_{};
    [[no_unique_address]] Embedder embedder_{};
    [[no_unique_address]] Retriever retriever_{};
    [[no_unique_address]] Answerer answerer_{};
    engine_options options_{};
    // Behind pointers so that an engine stays movable.
    std::unique_ptr<std::shared_mutex[]> stripes_ = std::make_unique<std::shared_mutex[]>(stripe_count);
    std::unique_ptr<cache_state> cache_ = std::make_unique<cache_state>();
    std::unique_ptr<ticket_state> tickets_ = std::make_unique<ticket_state>();
    std::unique_ptr<email_state> emails_ = std::make_unique<email_state>();
};

} // namespace persona

#endif
