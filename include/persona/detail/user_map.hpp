#ifndef PERSONA_DETAIL_USER_MAP_HPP
#define PERSONA_DETAIL_USER_MAP_HPP

#include <persona/text/hash.hpp>
#include <persona/types.hpp>

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

namespace persona::detail {

/// Hash of a user reference that is the same on every platform (ids derive from it).
inline std::uint64_t hash_user(user_ref const& u) noexcept {
    return text::fnv1a_64(u.user_id, text::fnv1a_64(u.workspace) ^ 0x9e3779b97f4a7c15ULL);
}

/** A table of per-user state, sharded so that lookups of different users rarely contend.

    Entries are `shared_ptr`s: a caller keeps its entry alive after the shard lock is
    released and synchronises on the entry's own mutex. The shard lock is held only
    for the lookup itself, never while user data is read or written.
*/
template <class T, std::size_t Shards = 64>
class user_map {
public:
    /// Return the entry of `u`, or null.
    std::shared_ptr<T> find(user_ref const& u) const {
        auto const& s = shard(u);
        std::shared_lock lock(s.mutex);
        auto const it = s.entries.find(u);
        return it == s.entries.end() ? nullptr : it->second;
    }

    /// Return the entry of `u`, creating an empty one if absent.
    std::shared_ptr<T> find_or_create(user_ref const& u) {
        auto& s = shard(u);
        {
            std::shared_lock lock(s.mutex);
            if (auto const it = s.entries.find(u); it != s.entries.end()) return it->second;
        }
        std::unique_lock lock(s.mutex);
        auto& slot = s.entries[u];
        if (!slot) slot = std::make_shared<T>();
        return slot;
    }

    /// Remove the entry of `u` if it is still `expected`.
    void erase(user_ref const& u, std::shared_ptr<T> const& expected) {
        auto& s = shard(u);
        std::unique_lock lock(s.mutex);
        if (auto const it = s.entries.find(u); it != s.entries.end() && it->second == expected) s.entries.erase(it);
    }

    /// Call `f(ref, entry)` for every entry; shard by shard, each under its read lock.
    template <class F>
    void for_each(F&& f) const {
        for (auto const& s : *shards_) {
            std::shared_lock lock(s.mutex);
            for (auto const& [ref, entry] : s.entries) f(ref, *entry);
        }
    }

    /// Return every (user, entry) pair; the entries stay valid after the shard locks are released.
    std::vector<std::pair<user_ref, std::shared_ptr<T>>> snapshot() const {
        std::vector<std::pair<user_ref, std::shared_ptr<T>>> out;
        for (auto const& s : *shards_) {
            std::shared_lock lock(s.mutex);
            for (auto const& [ref, entry] : s.entries) out.emplace_back(ref, entry);
        }
        return out;
    }

private:
    struct shard_type {
        mutable std::shared_mutex mutex;
        std::map<user_ref, std::shared_ptr<T>> entries;
    };

    shard_type& shard(user_ref const& u) { return (*shards_)[hash_user(u) % Shards]; }
    shard_type const& shard(user_ref const& u) const { return (*shards_)[hash_user(u) % Shards]; }

    // Behind a pointer so that the owner stays movable (moving is not thread-safe).
    std::unique_ptr<std::array<shard_type, Shards>> shards_ = std::make_unique<std::array<shard_type, Shards>>();
};

} // namespace persona::detail

#endif
