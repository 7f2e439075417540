// A user-written store: the simplest correct model of persona::store.
//
// Everything lives in ordered maps behind one reader-writer lock. It is not fast, but it
// shows the whole contract in one screen, and it proves itself the way any backend
// should: by passing persona's conformance kits, on its own and inside an engine.
#include <persona/persona.hpp>
#include <persona/testing/api_kit.hpp>
#include <persona/testing/store_kit.hpp>

#include <iostream>
#include <map>
#include <shared_mutex>

class simple_store {
public:
    persona::result<persona::user_record> get_user(persona::user_ref const& u) const {
        std::shared_lock lock(mutex_);
        auto const it = users_.find(u);
        if (it == users_.end()) return persona::user_not_found(u.user_id);
        return it->second.record;
    }

    persona::result<void> put_user(persona::user_record const& rec) {
        std::unique_lock lock(mutex_);
        users_[rec.ref].record = rec;
        return {};
    }

    persona::result<void> put_items(persona::user_record const& rec, std::span<persona::stored_item const> items) {
        std::unique_lock lock(mutex_); // one lock: the whole batch lands at once
        auto const it = users_.find(rec.ref);
        if (it == users_.end()) return persona::user_not_found(rec.ref.user_id);
        it->second.record = rec;
        for (auto const& si : items) {
            auto& stored = it->second.items[si.item.id] = si;
            std::ranges::sort(stored.chunks, {}, &persona::chunk::ordinal);
        }
        return {};
    }

    persona::result<std::optional<persona::item>> get_item(persona::user_ref const& u, std::string_view id) const {
        std::shared_lock lock(mutex_);
        auto const* user = find(u);
        if (!user) return persona::user_not_found(u.user_id);
        auto const it = user->items.find(std::string(id));
        return it == user->items.end() ? std::optional<persona::item>{} : std::optional{it->second.item};
    }

    persona::result<std::vector<persona::item>> get_items(persona::user_ref const& u) const {
        std::shared_lock lock(mutex_);
        auto const* user = find(u);
        if (!user) return persona::user_not_found(u.user_id);
        std::vector<persona::item> out;
        for (auto const* si : ordered(*user)) out.push_back(si->item);
        return out;
    }

    persona::result<std::vector<persona::chunk>> get_chunks(persona::user_ref const& u) const {
        std::shared_lock lock(mutex_);
        auto const* user = find(u);
        if (!user) return persona::user_not_found(u.user_id);
        std::vector<persona::chunk> out;
        for (auto const* si : ordered(*user)) out.insert(out.end(), si->chunks.begin(), si->chunks.end());
        return out;
    }

    persona::result<std::vector<persona::chunk>> get_chunks(persona::user_ref const& u,
                                                            std::span<std::string const> ids) const {
        std::shared_lock lock(mutex_);
        auto const* user = find(u);
        if (!user) return persona::user_not_found(u.user_id);
        std::vector<persona::chunk> out;
        for (auto const& id : ids) {
            auto const it = user->items.find(std::string(persona::item_id_of(id)));
            if (it == user->items.end()) continue;
            for (auto const& c : it->second.chunks)
                if (c.chunk_id == id) out.push_back(c);
        }
        return out;
    }

    persona::result<void> erase_user(persona::user_ref const& u) {
        std::unique_lock lock(mutex_);
        if (users_.erase(u) == 0) return persona::user_not_found(u.user_id);
        return {};
    }

    persona::result<std::vector<persona::user_ref>> list_users() const {
        std::shared_lock lock(mutex_);
        std::vector<persona::user_ref> out;
        for (auto const& [ref, _] : users_) out.push_back(ref);
        return out;
    }

private:
    struct user_data {
        persona::user_record record;
        std::map<std::string, persona::stored_item> items;
    };

    user_data const* find(persona::user_ref const& u) const {
        auto const it = users_.find(u);
        return it == users_.end() ? nullptr : &it->second;
    }

    static std::vector<persona::stored_item const*> ordered(user_data const& user) {
        std::vector<persona::stored_item const*> out;
        for (auto const& [_, si] : user.items) out.push_back(&si);
        std::ranges::sort(out, {}, [](auto const* si) { return std::tie(si->item.time, si->item.id); });
        return out;
    }

    mutable std::shared_mutex mutex_;
    std::map<persona::user_ref, user_data> users_;
};

static_assert(persona::store<simple_store>);

int main() {
    simple_store store;
    auto const store_report = persona::testing::check_store(store);
    std::cout << store_report.to_string();

    // The same store inside an engine, checked against API.md's rules.
    persona::engine<simple_store, persona::hashing_embedder, persona::flat_retriever> engine;
    auto const api_report = persona::testing::check_personalization_api(engine);
    std::cout << api_report.to_string();

    return store_report.ok() && api_report.ok() ? 0 : 1;
}
