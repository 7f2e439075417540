#ifndef PERSONA_MEMORY_STORE_HPP
#define PERSONA_MEMORY_STORE_HPP

/// @file
/// `memory_store`: the in-memory model of `store`, for tests and single-process use.

#include <persona/concepts.hpp>
#include <persona/detail/incremental_map.hpp>
#include <persona/detail/user_map.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace persona {

/** An in-memory store of users, items and chunks. Models `store`.

    Nothing survives the process; use it in tests, for ephemeral agents, or as the
    reference every other store is compared with by the conformance kit.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe; readers of any users run in
    parallel, and a write locks only the user it touches (plus a brief lock of the
    user table when a user is created or erased).

    @par Complexity
    `get_user`, `get_item`, `get_chunks(u, ids)` per id: O(1) average. `put_items`:
    O(items + chunks). `get_items`, `get_chunks(u)`: O(n log n) in the user's items
    (they are sorted on every call).
*/
class memory_store {
public:
    memory_store() = default;

    /** Return the user `u`, or `errc::user_not_found`. */
    [[nodiscard]] result<user_record> get_user(user_ref const& u) const {
        auto const entry = users_.find(u);
        if (!entry) return user_not_found(u.user_id);
        std::shared_lock lock(entry->mutex);
        if (!entry->present) return user_not_found(u.user_id);
        return entry->record;
    }

    /** Insert or replace the user row of `rec.ref`. */
    [[nodiscard]] result<void> put_user(user_record const& rec) {
        for (;;) {
            auto const entry = users_.find_or_create(rec.ref);
            std::unique_lock lock(entry->mutex);
            if (entry->detached) { // erased meanwhile: look up the fresh entry
                lock.unlock();
                std::this_thread::yield();
                continue;
            }
            entry->record = rec;
            entry->present = true;
            return {};
        }
    }

    /** Write the user row and `items` (with their chunks) in one step; replaces by item id.

        @returns `errc::user_not_found` when the user does not exist; then nothing changes.
    */
    [[nodiscard]] result<void> put_items(user_record const& rec, std::span<stored_item const> items) {
        auto const entry = users_.find(rec.ref);
        if (!entry) return user_not_found(rec.ref.user_id);
        // Copy before locking so the critical section is only moves.
        std::vector<stored_item> copies(items.begin(), items.end());
        std::unique_lock lock(entry->mutex);
        if (!entry->present) return user_not_found(rec.ref.user_id);
        entry->record = rec;
        for (auto& si : copies) {
            auto& slot = entry->items[si.item.id];
            for (auto const& old : slot.chunks) entry->chunk_index.erase(old.chunk_id);
            slot = std::move(si);
            std::ranges::sort(slot.chunks, {}, &chunk::ordinal); // get_chunks promises ordinal order
            for (std::size_t i = 0; i < slot.chunks.size(); ++i)
                entry->chunk_index[slot.chunks[i].chunk_id] = chunk_pos{&slot, i};
        }
        return {};
    }

    /** Return the item `id` of user `u`, `std::nullopt` if absent, or `errc::user_not_found`. */
    [[nodiscard]] result<std::optional<item>> get_item(user_ref const& u, std::string_view id) const {
        auto const entry = users_.find(u);
        if (!entry) return user_not_found(u.user_id);
        std::shared_lock lock(entry->mutex);
        if (!entry->present) return user_not_found(u.user_id);
        auto const it = entry->items.find(std::string(id));
        if (it == entry->items.end()) return std::optional<item>{};
        return std::optional<item>{it->second.item};
    }

    /** Return every item of `u` ordered by (time, id). */
    [[nodiscard]] result<std::vector<item>> get_items(user_ref const& u) const {
        auto const entry = users_.find(u);
        if (!entry) return user_not_found(u.user_id);
        std::shared_lock lock(entry->mutex);
        if (!entry->present) return user_not_found(u.user_id);
        std::vector<item> out;
        out.reserve(entry->items.size());
        for (auto const& [id, si] : entry->items) out.push_back(si.item);
        std::ranges::sort(out, {}, [](item const& i) { return std::tie(i.time, i.id); });
        return out;
    }

    /** Return every chunk of `u` ordered by (item time, item id, ordinal). */
    [[nodiscard]] result<std::vector<chunk>> get_chunks(user_ref const& u) const {
        auto const entry = users_.find(u);
        if (!entry) return user_not_found(u.user_id);
        std::shared_lock lock(entry->mutex);
        if (!entry->present) return user_not_found(u.user_id);
        std::vector<stored_item const*> order;
        order.reserve(entry->items.size());
        for (auto const& [id, si] : entry->items) order.push_back(&si);
        std::ranges::sort(order, {}, [](stored_item const* si) { return std::tie(si->item.time, si->item.id); });
        std::vector<chunk> out;
        for (auto const* si : order) out.insert(out.end(), si->chunks.begin(), si->chunks.end());
        return out;
    }

    /** Return the chunks of `u` named by `ids`, in that order, skipping unknown ids. */
    [[nodiscard]] result<std::vector<chunk>> get_chunks(user_ref const& u, std::span<std::string const> ids) const {
        auto const entry = users_.find(u);
        if (!entry) return user_not_found(u.user_id);
        std::shared_lock lock(entry->mutex);
        if (!entry->present) return user_not_found(u.user_id);
        std::vector<chunk> out;
        out.reserve(ids.size());
        for (auto const& id : ids) {
            auto const pos = entry->chunk_index.find(id);
            if (pos == entry->chunk_index.end()) continue;
            out.push_back(pos->second.item->chunks[pos->second.index]);
        }
        return out;
    }

    /** Remove user `u` and everything of it, or `errc::user_not_found`. */
    [[nodiscard]] result<void> erase_user(user_ref const& u) {
        auto const entry = users_.find(u);
        if (!entry) return user_not_found(u.user_id);
        {
            std::unique_lock lock(entry->mutex);
            if (!entry->present) return user_not_found(u.user_id);
            entry->present = false;
            entry->detached = true;
            entry->items.clear();
            entry->chunk_index.clear();
            entry->record = {};
        }
        // Outside the entry lock: list_users locks shard then entry, so the reverse order here could deadlock.
        users_.erase(u, entry);
        return {};
    }

    /** Return every user of every workspace, ordered by (workspace, user id). */
    [[nodiscard]] result<std::vector<user_ref>> list_users() const {
        std::vector<user_ref> out;
        users_.for_each([&](user_ref const& ref, user_data const& d) {
            std::shared_lock lock(d.mutex);
            if (d.present) out.push_back(ref);
        });
        std::ranges::sort(out);
        return out;
    }

private:
    /// Where a chunk is: its item (an element of `user_data::items`, whose address the
    /// map keeps until the element is erased, which only `erase_user` does, clearing
    /// this index with it) and its position there.
    struct chunk_pos {
        stored_item const* item = nullptr;
        std::size_t index = 0;
    };

    struct user_data {
        mutable std::shared_mutex mutex;
        bool present = false;
        bool detached = false; // removed from the table; writers must look the user up again
        user_record record;
        // Maps that grow a few nodes per insert rather than all at once under the
        // user's lock (detail/incremental_map.hpp); they keep element addresses, as
        // chunk_pos needs.
        detail::incremental_map<std::string, stored_item> items;
        detail::incremental_map<std::string, chunk_pos> chunk_index;
    };

    detail::user_map<user_data> users_;
};

static_assert(store<memory_store>);

} // namespace persona

#endif
