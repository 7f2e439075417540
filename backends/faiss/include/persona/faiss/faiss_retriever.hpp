#ifndef PERSONA_FAISS_FAISS_RETRIEVER_HPP
#define PERSONA_FAISS_FAISS_RETRIEVER_HPP

/// @file
/// `faiss_retriever`: per-user FAISS indexes fused with BM25, saved and reloaded.

#include <persona/concepts.hpp>
#include <persona/detail/hybrid_ranking.hpp>
#include <persona/detail/user_map.hpp>
#include <persona/faiss/detail/index_file.hpp>
#include <persona/text/analyzer.hpp>
#include <persona/text/bm25.hpp>
#include <persona/text/hash.hpp>

#include <faiss/IVFlib.h>
#include <faiss/Index.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace persona {

/** Hybrid search whose vector side is a FAISS index per user. Models `retriever`.

    Each user gets their own FAISS index, built by `faiss::index_factory` from
    `options::spec` with the inner-product metric (embedders produce unit vectors, so
    inner product is cosine). A search asks FAISS for a shortlist of the user's
    nearest chunks, then ranks the shortlist together with every chunk that matches
    the query's words exactly as `flat_retriever` does: BM25 and cosine fused into
    [0, 1], recency when the query prefers it, ties by chunk id. The cosines are
    recomputed by persona from the vectors it keeps, and a chunk outside the
    shortlist is scored as well whenever the shortlist's last cosine says it could
    still make the top `k`; so with a flat spec the results equal `flat_retriever`'s,
    and with an approximate spec (HNSW, IVF) they differ only where FAISS misses a
    neighbour.

    @par Isolation
    One index per user: a search only ever touches that user's index, so another
    user's chunk cannot be returned whatever FAISS does. (A shared index filtered by
    id was measured and rejected; see `docs/performance.md`.)

    @par Removal
    Removed and replaced chunks become tombstones: FAISS keeps their vectors but a
    bitmap selector hides them from every search. When at least half of a user's
    slots (and at least 64) are dead, the user's index is rebuilt from the live
    vectors. This works for every index type, including HNSW, which cannot remove.

    @par Training
    An index that needs training (IVF, PQ, SQ) is built once the user has
    `min_train` vectors, and retrained when the user has four times the vectors it
    was trained on; until then that user's searches are exact scans, which are fast
    at that size.

    @par Persistence
    `save` writes every user's index, with a fingerprint of its chunks, to one file
    (written aside and renamed, with a checksum). `load` reads such a file; then,
    when `engine::rebuild_index` re-adds a user's chunks from the store, the saved
    index is adopted if the fingerprint matches those chunks exactly (same ids, same
    vectors) and rebuilt otherwise. A missing, corrupt or foreign file is an error
    from `load`, after which everything is simply rebuilt.

    @par Errors
    FAISS exceptions never escape (the constructor turns an unparsable spec into
    `std::invalid_argument`). When FAISS refuses to build, train, extend or search a
    user's index, that user is served by exact scans, which are correct, and the
    failure is counted in `get_failure_statistics`; a build is retried once the user
    has twice the data. Persistence errors are persona errors.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe; searches run in parallel (FAISS
    searches are const), a mutation locks only the user it touches. `save` and
    `load` may run concurrently with searches.

    @par Threads
    FAISS parallelises with OpenMP. A search runs with `options::search_threads`
    OpenMP threads (default 1: requests already run in parallel, and at batch size 1
    FAISS gains nothing from more), builds and rebuilds with `build_threads` (0: the
    OpenMP default, which `OMP_NUM_THREADS` sets). The setting is per calling thread.
    Set `OMP_WAIT_POLICY=PASSIVE` in servers so idle OpenMP threads do not spin.
*/
class faiss_retriever {
public:
    /// Tuning of the index and the fusion.
    struct options {
        /// `faiss::index_factory` description, such as "IDMap,Flat", "HNSW32" or "IVF64,Flat".
        std::string spec = "IDMap,Flat";
        double lexical_weight = 0.8;  ///< weight of BM25 against the vector side (measured: docs/quality.md)
        double recency_weight = 0.15; ///< share of the score given to recency when a query prefers it
        double neighbour_weight = 0.7; ///< share of an adjacent chunk's keyword score a chunk inherits (same exchange)
        text::bm25_index::parameters bm25{};
        soft_terms soft{};            ///< soft term matching through word vectors; off by default
        std::size_t shortlist = 64;   ///< nearest chunks FAISS returns per search (at least `2k` are asked)
        int ef_search = 64;           ///< HNSW search breadth (raised to the shortlist size when smaller)
        std::size_t exact_below = 0;  ///< users with fewer chunks are scanned exactly, without FAISS
        int nprobe = 8;               ///< IVF lists visited per search
        std::size_t min_train = 0;    ///< vectors needed to train an index; 0: 39 per IVF list, at least 1000
        int search_threads = 1;       ///< OpenMP threads per search; 0 leaves the OpenMP default
        int build_threads = 0;        ///< OpenMP threads to build an index; 0 leaves the OpenMP default
    };

    /// How often FAISS failed; each failure left the user on exact scans (correct, slower).
    struct failure_statistics {
        std::size_t index_failures = 0;  ///< builds, trainings or additions FAISS refused
        std::size_t search_failures = 0; ///< searches FAISS refused (answered by an exact scan)
        std::string last_message;        ///< FAISS's message for the latest failure
    };

    /// What `load` and the adoptions after it did.
    struct persistence_statistics {
        std::size_t users_loaded = 0;  ///< user indexes read by the last successful `load`
        std::size_t users_adopted = 0; ///< of those, adopted because they matched the store's chunks
        std::size_t users_rebuilt = 0; ///< of those, rebuilt because they did not (stale)
    };

    /// Construct with the default options (an exact, ID-mapped flat inner-product index).
    faiss_retriever() : faiss_retriever(options{}) {}

    /** Construct with `o`.

        @throws std::invalid_argument when FAISS rejects `o.spec`.
    */
    explicit faiss_retriever(options o) : options_(std::move(o)) {
        if (!(options_.lexical_weight >= 0 && options_.lexical_weight <= 1) ||
            !(options_.recency_weight >= 0 && options_.recency_weight <= 1))
            throw std::invalid_argument("faiss_retriever: lexical_weight and recency_weight must be in [0, 1]");
        // The spec is checked for syntax at a few common dimensions; whether it suits a
        // user's dimension (PQ48 needs d % 48 == 0) is found out per user, at build time.
        std::string why;
        for (int const d : {64, 384, 768, 1536}) {
            try {
                std::unique_ptr<::faiss::Index> probe(
                    ::faiss::index_factory(d, options_.spec.c_str(), ::faiss::METRIC_INNER_PRODUCT));
                return;
            } catch (std::exception const& e) {
                if (why.empty()) why = e.what();
            }
        }
        throw std::invalid_argument("faiss_retriever: FAISS rejects the index spec '" + options_.spec + "': " + why);
    }

    /** Index `chunks` for user `u`, replacing chunks with the same id.

        All chunks of one user must have embeddings of one dimension (or none).
        @returns `errc::invalid_request` on a dimension mismatch; then nothing changes.
        A FAISS failure is not an error here: the chunks are indexed and the user is
        searched exactly until FAISS accepts a rebuild (see `get_failure_statistics`).
    */
    [[nodiscard]] result<void> add(user_ref const& u, std::span<chunk const> chunks) {
        if (chunks.empty()) return {};
        std::vector<text::analyzed_text> analyses(chunks.size());
        for (std::size_t i = 0; i < chunks.size(); ++i) analyses[i] = analyzer_.analyze(chunks[i].text, needs_words());
        return add_terms(u, chunks, analyses);
    }

    /// Return the analyzer chunks and queries are analyzed with.
    text::analyzer const& analyzer() const noexcept { return analyzer_; }

    /// Whether `add_analyzed` and `search_analyzed` need each term's word (soft matching is on).
    bool needs_words() const noexcept { return options_.soft.enabled(); }

    /** `add` for chunks already analyzed: `analyses[i]` is `analyzer()`'s analysis of
        `chunks[i].text`, with words when `needs_words()` (models `analyzing_retriever`).

        @returns `errc::invalid_request` when the counts do not match, or as `add`; then
        nothing changes.
    */
    [[nodiscard]] result<void> add_analyzed(user_ref const& u, std::span<chunk const> chunks,
                                            std::span<text::analyzed_text const> analyses) {
        if (auto r = detail::check_analyses(analyses, chunks.size(), needs_words()); !r) return r;
        if (chunks.empty()) return {};
        return add_terms(u, chunks, analyses);
    }

    /// Drop every chunk of the items `item_ids` of user `u` (tombstones; see Removal).
    [[nodiscard]] result<void> remove_items(user_ref const& u, std::span<std::string const> item_ids) {
        auto const entry = users_.find(u);
        if (!entry) return {};
        std::unique_lock lock(entry->mutex);
        for (auto const& id : item_ids) entry->ranking.remove_item(id);
        if (entry->ranking.maybe_compact()) rebuild_or_drop(*entry);
        return {};
    }

    /// Drop user `u`'s index.
    [[nodiscard]] result<void> remove_user(user_ref const& u) {
        if (auto const entry = users_.find(u)) users_.erase(u, entry);
        return {};
    }

    /** Return the best `q.k` chunks of user `u` for `q`, best first, ties by chunk id.

        If FAISS refuses the search (an index type that takes no selector or search
        parameters), the user's chunks are scanned exactly instead and the failure is
        counted in `get_failure_statistics`.
    */
    [[nodiscard]] result<std::vector<scored_chunk>> search(user_ref const& u, search_query const& q) const {
        return search_with(u, q, [&] { return detail::analyze_query(analyzer_, q.parts, options_.soft); });
    }

    /** `search` for a query whose parts are already analyzed: `analyses[i]` is
        `analyzer()`'s analysis of `q.parts[i].text`, with words when `needs_words()`.

        @returns `errc::invalid_request` when the counts do not match.
    */
    [[nodiscard]] result<std::vector<scored_chunk>> search_analyzed(user_ref const& u, search_query const& q,
                                                                    std::span<text::analyzed_text const> analyses) const {
        if (auto r = detail::check_analyses(analyses, q.parts.size(), needs_words()); !r) return r.error();
        return search_with(u, q, [&] { return detail::analyzed_query(q.parts, analyses, options_.soft); });
    }

    /// Return the number of chunks indexed for user `u`.
    std::size_t size(user_ref const& u) const {
        auto const entry = users_.find(u);
        if (!entry) return 0;
        std::shared_lock lock(entry->mutex);
        return entry->ranking.size();
    }

    /** Write every user's index to `file`, replacing it atomically.

        Users with tombstones are compacted and their index rebuilt first (a saved
        index holds live chunks only). Users without a FAISS index (no vectors, or
        too few to train) are not written; they are cheap to rebuild.
        @returns `errc::internal_error` when FAISS or the file system fails; the
        previous file, if any, is then left as it was.
    */
    [[nodiscard]] result<void> save(std::filesystem::path const& file) {
        std::lock_guard one_save(shared_->save_mutex);
        detail::index_file_writer out(options_.spec);
        for (auto const& [ref, entry] : users_.snapshot()) {
            std::unique_lock lock(entry->mutex);
            if (users_.find(ref) != entry) continue; // removed since the snapshot
            auto& ranking = entry->ranking;
            if (ranking.dead_count() > 0) {
                ranking.compact();
                rebuild_or_drop(*entry);
            }
            if (!entry->index || ranking.size() == 0) continue;
            detail::saved_user saved;
            saved.dimension = ranking.dimension();
            std::vector<float> row(saved.dimension);
            for (std::size_t s = 0; s < ranking.slot_count(); ++s) {
                saved.chunk_ids.push_back(ranking.chunk_id(s));
                ranking.copy_vector(s, row);
                saved.vector_hashes.push_back(vector_hash(row));
            }
            try {
                ::faiss::VectorIOWriter writer;
                ::faiss::write_index(entry->index.get(), &writer);
                out.add(ref, saved, writer.data);
            } catch (std::exception const& e) {
                return make_error(errc::internal_error, std::string("FAISS could not serialise an index: ") + e.what());
            }
        }
        return out.commit(file);
    }

    /** Read indexes saved by `save`; each is adopted when its user's chunks are next added.

        Meant for start-up, before `engine::rebuild_index`: a saved index whose user's
        chunks (ids and vectors) match exactly is adopted instead of rebuilt; any
        other user is rebuilt as usual. Replaces what an earlier `load` read.
        @returns `errc::not_found` when `file` does not exist, `errc::internal_error`
        when it is corrupt or truncated, `errc::invalid_request` when it was written
        for another index spec. Nothing is loaded then.
    */
    [[nodiscard]] result<std::size_t> load(std::filesystem::path const& file) {
        auto users = detail::read_index_file(file, options_.spec);
        if (!users) return users.error();
        std::map<user_ref, pending_index> pending;
        for (auto& u : *users) {
            pending_index p;
            p.saved = std::move(u.saved);
            try {
                ::faiss::VectorIOReader reader;
                reader.data = std::move(u.blob);
                p.index.reset(::faiss::read_index(&reader));
            } catch (std::exception const& e) {
                return make_error(errc::internal_error, "index file '" + file.string() +
                                                            "' holds an index FAISS cannot read: " + e.what());
            }
            if (static_cast<std::size_t>(p.index->ntotal) != p.saved.chunk_ids.size() ||
                static_cast<std::size_t>(p.index->d) != p.saved.dimension)
                return make_error(errc::internal_error,
                                  "index file '" + file.string() + "' is inconsistent: an index does not match its chunk list");
            pending.emplace(u.user, std::move(p));
        }
        std::lock_guard guard(shared_->mutex);
        shared_->pending = std::move(pending);
        shared_->stats = {};
        shared_->stats.users_loaded = shared_->pending.size();
        return shared_->stats.users_loaded;
    }

    /// Return what the last `load` read and how many of its indexes were adopted or rebuilt.
    persistence_statistics get_persistence_statistics() const {
        std::lock_guard guard(shared_->mutex);
        return shared_->stats;
    }

    /// Forget the indexes `load` staged that no `add` claimed (users no longer in the store).
    void drop_unclaimed() {
        std::lock_guard guard(shared_->mutex);
        shared_->pending.clear();
    }

    /// Return how often FAISS failed (each time, the user concerned was searched exactly).
    failure_statistics get_failure_statistics() const {
        std::lock_guard guard(shared_->mutex);
        return {shared_->index_failures, shared_->search_failures, shared_->last_failure};
    }

    /// Return the options in use.
    options const& get_options() const noexcept { return options_; }

private:
    detail::fusion_weights weights() const noexcept {
        return {options_.lexical_weight, options_.recency_weight, options_.neighbour_weight};
    }

    struct user_index {
        mutable std::shared_mutex mutex;
        detail::hybrid_ranking ranking;
        // Null: no FAISS index yet (too few vectors to train) or dropped after a
        // failure; searches are then exact scans. Otherwise position p of the index
        // holds slot p of `ranking`, for every slot.
        std::unique_ptr<::faiss::Index> index;
        std::size_t trained_on = 0;   // vectors the index was trained on (0: no training needed)
        std::size_t retry_after = 0;  // after a failure: slots needed before building again
    };

    struct pending_index {
        detail::saved_user saved;
        std::unique_ptr<::faiss::Index> index;
    };

    // Movable state behind a pointer (the engine moves its retriever in).
    struct shared_state {
        mutable std::mutex mutex;
        std::map<user_ref, pending_index> pending;
        persistence_statistics stats;
        std::size_t index_failures = 0;
        std::size_t search_failures = 0;
        std::string last_failure;
        std::mutex save_mutex; // one save at a time: they share the temporary file
    };

    void record_failure(std::size_t& counter, char const* what) const {
        std::lock_guard guard(shared_->mutex);
        ++counter;
        shared_->last_failure = what;
    }

    /// Sets the calling thread's OpenMP team size for a scope (0: unchanged).
    class omp_threads_scope {
    public:
        explicit omp_threads_scope(int n) : previous_(omp_get_max_threads()), active_(n > 0) {
            if (active_) omp_set_num_threads(n);
        }
        ~omp_threads_scope() {
            if (active_) omp_set_num_threads(previous_);
        }
        omp_threads_scope(omp_threads_scope const&) = delete;
        omp_threads_scope& operator=(omp_threads_scope const&) = delete;

    private:
        int previous_;
        bool active_;
    };

    static std::uint64_t vector_hash(std::span<float const> v) {
        return text::fnv1a_64(std::string_view(reinterpret_cast<char const*>(v.data()), v.size_bytes()));
    }

    /// The index that takes search parameters: an ID map's inner index, else the index.
    static ::faiss::Index* inner(::faiss::Index& index) {
        if (auto* m = dynamic_cast<::faiss::IndexIDMap*>(&index)) return m->index;
        return &index;
    }
    static ::faiss::Index const* inner(::faiss::Index const& index) {
        if (auto const* m = dynamic_cast<::faiss::IndexIDMap const*>(&index)) return m->index;
        return &index;
    }

    /// Parameters for `index` (an ID map's inner index): the selector, and the breadth
    /// of HNSW and IVF searches; null when there is nothing to pass (some index types,
    /// such as IndexRefine, accept no parameters at all).
    std::unique_ptr<::faiss::SearchParameters> search_parameters(::faiss::Index const& index, int shortlist,
                                                                 ::faiss::IDSelector* selector) const {
        ::faiss::Index const* core = &index;
        while (auto const* pre = dynamic_cast<::faiss::IndexPreTransform const*>(core)) core = pre->index;
        std::unique_ptr<::faiss::SearchParameters> p;
        if (dynamic_cast<::faiss::IndexHNSW const*>(core)) {
            auto h = std::make_unique<::faiss::SearchParametersHNSW>();
            h->efSearch = std::max(options_.ef_search, shortlist);
            p = std::move(h);
        } else if (::faiss::ivflib::try_extract_index_ivf(core)) {
            auto v = std::make_unique<::faiss::SearchParametersIVF>();
            v->nprobe = static_cast<std::size_t>(std::max(options_.nprobe, 1));
            p = std::move(v);
        } else if (selector) {
            p = std::make_unique<::faiss::SearchParameters>();
        }
        if (p) p->sel = selector;
        return p;
    }

    std::size_t train_threshold(::faiss::Index const& index) const {
        if (options_.min_train > 0) return options_.min_train;
        std::size_t n = 1000; // enough for scalar quantisers and PQ with 8-bit codes to train
        if (auto const* ivf = ::faiss::ivflib::try_extract_index_ivf(&index)) n = std::max(n, 39 * ivf->nlist);
        return n;
    }

    /// Write the search breadth into the index itself. FAISS 1.7.3 ignores
    /// `SearchParametersHNSW::efSearch` (it reads `hnsw.efSearch`; fixed upstream after
    /// 1.7.3), so the member is what counts; it is set before the index is published.
    void tune(::faiss::Index& index) const {
        ::faiss::Index* core = inner(index);
        while (auto* pre = dynamic_cast<::faiss::IndexPreTransform*>(core)) core = pre->index;
        if (auto* h = dynamic_cast<::faiss::IndexHNSW*>(core))
            h->hnsw.efSearch = std::max(options_.ef_search, static_cast<int>(options_.shortlist));
        if (auto* ivf = ::faiss::ivflib::try_extract_index_ivf(core))
            ivf->nprobe = static_cast<std::size_t>(std::max(options_.nprobe, 1));
    }

    /// Append `n` rows at positions [first, first + n) of `index`.
    static void append(::faiss::Index& index, std::size_t first, std::span<float const> rows, std::size_t dim) {
        auto const n = static_cast<::faiss::Index::idx_t>(rows.size() / dim);
        if (auto* m = dynamic_cast<::faiss::IndexIDMap*>(&index)) {
            std::vector<::faiss::Index::idx_t> ids(static_cast<std::size_t>(n));
            for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<::faiss::Index::idx_t>(first + i);
            m->add_with_ids(n, rows.data(), ids.data());
        } else {
            index.add(n, rows.data());
        }
    }

    /// Build the user's index from `rows` (every slot, in order); none while too few to train.
    void build(user_index& e, std::span<float const> rows, std::size_t dim) const {
        e.index.reset();
        e.trained_on = 0;
        omp_threads_scope threads(options_.build_threads);
        std::unique_ptr<::faiss::Index> index(
            ::faiss::index_factory(static_cast<int>(dim), options_.spec.c_str(), ::faiss::METRIC_INNER_PRODUCT));
        auto const n = rows.size() / dim;
        std::size_t trained_on = 0;
        if (!index->is_trained) {
            if (n < train_threshold(*index)) return;
            index->train(static_cast<::faiss::Index::idx_t>(n), rows.data());
            trained_on = n;
        }
        append(*index, 0, rows, dim);
        tune(*index);
        e.index = std::move(index);
        e.trained_on = trained_on;
    }

    /// Add `rows` (the next slots) to the user's index, building it when it can be built
    /// and retraining it once the user has four times the vectors it was trained on.
    /// A FAISS failure drops the index (exact scans) and waits for twice the data.
    void extend_index(user_index& e, std::span<float const> rows) const {
        auto const dim = e.ranking.dimension();
        auto const slots = e.ranking.slot_count() + rows.size() / dim;
        try {
            if (e.index && !(e.trained_on > 0 && slots >= 4 * e.trained_on)) {
                omp_threads_scope threads(options_.build_threads);
                append(*e.index, e.ranking.slot_count(), rows, dim);
                return;
            }
            if (slots < e.retry_after) {
                e.index.reset();
                return;
            }
            std::vector<float> all = e.ranking.row_major_vectors();
            all.insert(all.end(), rows.begin(), rows.end());
            build(e, all, dim);
        } catch (std::exception const& ex) {
            e.index.reset();
            e.trained_on = 0;
            e.retry_after = 2 * slots;
            record_failure(shared_->index_failures, ex.what());
        }
    }

    /// After slots were renumbered: rebuild the index from the ranking's vectors. A
    /// failure leaves the user on exact scans; removal itself never fails.
    void rebuild_or_drop(user_index& e) const {
        e.index.reset();
        if (e.ranking.dimension() == 0 || e.ranking.slot_count() == 0) return;
        try {
            build(e, e.ranking.row_major_vectors(), e.ranking.dimension());
        } catch (std::exception const& ex) {
            e.index.reset();
            record_failure(shared_->index_failures, ex.what());
        }
    }

    /// `search`, with `analyze()` giving the query's analyzed parts.
    template <class Analyze>
    result<std::vector<scored_chunk>> search_with(user_ref const& u, search_query const& q, Analyze const& analyze) const {
        auto const entry = users_.find(u);
        if (!entry) return std::vector<scored_chunk>{};
        auto const query_terms = analyze();
        std::shared_lock lock(entry->mutex);
        auto const& ranking = entry->ranking;
        auto const& index = entry->index;
        bool const vector_side = index && q.k > 0 && ranking.dimension() != 0 &&
                                 q.vector.size() == ranking.dimension() && ranking.size() >= options_.exact_below;
        if (!vector_side)
            return ranking.search(query_terms, q, weights());

        auto const live = ranking.size();
        // Twice k at least: a shortlist of exactly k would bound the rest by the k-th
        // hit's own cosine, and every chunk outside it would have to be scored.
        auto const asked = static_cast<::faiss::Index::idx_t>(
            std::min<std::size_t>(std::max(options_.shortlist, 2 * q.k), static_cast<std::size_t>(index->ntotal)));
        std::vector<float> distances(static_cast<std::size_t>(asked));
        std::vector<::faiss::Index::idx_t> labels(static_cast<std::size_t>(asked));
        try {
            omp_threads_scope threads(options_.search_threads);
            auto const bitmap = ranking.live_bitmap();
            ::faiss::IDSelectorBitmap selector(bitmap.size(), bitmap.data());
            auto params = search_parameters(*inner(*index), static_cast<int>(asked),
                                            ranking.dead_count() > 0 ? &selector : nullptr);
            inner(*index)->search(1, q.vector.data(), asked, distances.data(), labels.data(), params.get());
        } catch (std::exception const& e) {
            // Some index types take no search parameters (IndexRefine) or no selector:
            // answer exactly instead, and count it.
            record_failure(shared_->search_failures, e.what());
            return ranking.search(query_terms, q, weights());
        }
        std::vector<std::uint32_t> slots;
        slots.reserve(labels.size());
        auto const* id_map = dynamic_cast<::faiss::IndexIDMap const*>(index.get());
        for (auto const label : labels) {
            if (label < 0) break;
            auto const id = id_map ? id_map->id_map[static_cast<std::size_t>(label)] : label;
            slots.push_back(static_cast<std::uint32_t>(id));
        }
        // A full shortlist of fewer than all live chunks bounds the rest by its last cosine.
        double const bound = slots.size() == static_cast<std::size_t>(asked) && slots.size() < live
                                 ? static_cast<double>(distances.back())
                                 : -1.0;
        detail::vector_shortlist const shortlist{slots, bound};
        return ranking.search(query_terms, q, weights(), &shortlist);
    }

    /// `add` after analysis (`analyses[i]` of `chunks[i]`, which is not empty).
    result<void> add_terms(user_ref const& u, std::span<chunk const> chunks,
                           std::span<text::analyzed_text const> analyses) {
        auto const entry = users_.find_or_create(u);
        std::unique_lock lock(entry->mutex);
        auto& ranking = entry->ranking;
        std::size_t dim = ranking.dimension();
        if (ranking.size() == 0) dim = chunks.front().embedding.size();
        for (auto const& c : chunks)
            if (c.embedding.size() != dim)
                return make_error(errc::invalid_request,
                                  "chunk '" + c.chunk_id + "' has an embedding of dimension " +
                                      std::to_string(c.embedding.size()) + ", expected " + std::to_string(dim));
        if (ranking.slot_count() == 0) {
            if (try_adopt(u, *entry, chunks, analyses)) return {};
        }
        if (ranking.size() == 0) {
            ranking.reset(dim, options_.bm25, options_.soft);
            entry->index.reset();
            entry->trained_on = entry->retry_after = 0;
        }
        // FAISS first, then the ranking. FAISS failing (a spec that does not suit this
        // dimension, training that needs more data) never loses chunks: the user's index
        // is dropped and the user is served by exact scans until a later build succeeds.
        if (dim != 0) {
            std::vector<float> rows;
            rows.reserve(chunks.size() * dim);
            for (auto const& c : chunks) rows.insert(rows.end(), c.embedding.begin(), c.embedding.end());
            extend_index(*entry, rows);
        }
        try {
            for (std::size_t i = 0; i < chunks.size(); ++i) ranking.add(chunks[i], analyses[i].terms, analyses[i].words);
        } catch (...) {
            entry->index.reset(); // positions would no longer match slots
            throw;
        }
        return {};
    }

    /// If `load` read an index for `u` that matches `chunks` exactly, index the chunks
    /// in the saved order and adopt it. Called on an empty user under its lock.
    bool try_adopt(user_ref const& u, user_index& e, std::span<chunk const> chunks,
                   std::span<text::analyzed_text const> analyses) {
        pending_index p;
        {
            std::lock_guard guard(shared_->mutex);
            auto const it = shared_->pending.find(u);
            if (it == shared_->pending.end()) return false;
            p = std::move(it->second);
            shared_->pending.erase(it);
        }
        auto const stale = [&] {
            std::lock_guard guard(shared_->mutex);
            ++shared_->stats.users_rebuilt;
            return false;
        };
        auto const dim = chunks.front().embedding.size();
        if (dim != p.saved.dimension || chunks.size() != p.saved.chunk_ids.size()) return stale();
        std::unordered_map<std::string_view, std::size_t> position;
        for (std::size_t i = 0; i < chunks.size(); ++i) position.emplace(chunks[i].chunk_id, i);
        std::vector<std::size_t> order;
        order.reserve(chunks.size());
        for (std::size_t s = 0; s < p.saved.chunk_ids.size(); ++s) {
            auto const it = position.find(p.saved.chunk_ids[s]);
            if (it == position.end() || vector_hash(chunks[it->second].embedding) != p.saved.vector_hashes[s])
                return stale();
            order.push_back(it->second);
        }
        e.ranking.reset(dim, options_.bm25, options_.soft);
        for (auto const i : order) e.ranking.add(chunks[i], analyses[i].terms, analyses[i].words);
        e.index = std::move(p.index);
        tune(*e.index);
        e.trained_on = 0; // an adopted index is kept as trained; it is retrained at its next rebuild
        std::lock_guard guard(shared_->mutex);
        ++shared_->stats.users_adopted;
        return true;
    }

    options options_;
    text::analyzer analyzer_{};
    detail::user_map<user_index> users_;
    std::unique_ptr<shared_state> shared_ = std::make_unique<shared_state>();
};

static_assert(analyzing_retriever<faiss_retriever>);

} // namespace persona

#endif
