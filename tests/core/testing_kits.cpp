// The kits must catch broken models, or a passing kit would prove nothing.
#include <persona/testing/store_kit.hpp>
#include <persona/testing/retriever_kit.hpp>
#include <persona/testing/embedder_kit.hpp>
#include <persona/testing/api_kit.hpp>

#include <persona/flat_retriever.hpp>
#include <persona/hashing_embedder.hpp>
#include <persona/memory_store.hpp>
#include <persona/presets.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace {

/// A store that forgets workspaces: every user lands in one namespace.
class workspace_blind_store {
public:
    persona::result<persona::user_record> get_user(persona::user_ref const& u) const { return inner_.get_user(blind(u)); }
    persona::result<void> put_user(persona::user_record const& r) {
        auto copy = r;
        copy.ref = blind(r.ref);
        return inner_.put_user(copy);
    }
    persona::result<void> put_items(persona::user_record const& r, std::span<persona::stored_item const> items) {
        auto copy = r;
        copy.ref = blind(r.ref);
        return inner_.put_items(copy, items);
    }
    persona::result<std::optional<persona::item>> get_item(persona::user_ref const& u, std::string_view id) const {
        return inner_.get_item(blind(u), id);
    }
    persona::result<std::vector<persona::item>> get_items(persona::user_ref const& u) const { return inner_.get_items(blind(u)); }
    persona::result<std::vector<persona::chunk>> get_chunks(persona::user_ref const& u) const { return inner_.get_chunks(blind(u)); }
    persona::result<std::vector<persona::chunk>> get_chunks(persona::user_ref const& u, std::span<std::string const> ids) const {
        return inner_.get_chunks(blind(u), ids);
    }
    persona::result<void> erase_user(persona::user_ref const& u) { return inner_.erase_user(blind(u)); }
    persona::result<std::vector<persona::user_ref>> list_users() const { return inner_.list_users(); }

private:
    static persona::user_ref blind(persona::user_ref u) {
        u.workspace = "kit-a";
        return u;
    }
    persona::memory_store inner_;
};

/// A store that loses titles on the way in (items' and chunks'), all else intact.
class title_dropping_store : public persona::memory_store {
public:
    persona::result<void> put_items(persona::user_record const& r, std::span<persona::stored_item const> items) {
        std::vector<persona::stored_item> copy(items.begin(), items.end());
        for (auto& si : copy) {
            si.item.title.clear();
            for (auto& c : si.chunks) c.title.clear();
        }
        return memory_store::put_items(r, copy);
    }
};

/// A retriever that reverses the order of equal-score hits (breaks the tie rule).
class unstable_retriever : public persona::flat_retriever {
public:
    persona::result<std::vector<persona::scored_chunk>> search(persona::user_ref const& u, persona::search_query const& q) const {
        auto r = flat_retriever::search(u, q);
        if (r) std::ranges::stable_sort(*r, [](auto const& a, auto const& b) {
            return a.score != b.score ? a.score > b.score : a.chunk_id > b.chunk_id;
        });
        return r;
    }
};

/// An embedder that does not normalise.
struct loud_embedder {
    std::size_t dimension() const { return 8; }
    persona::result<void> embed(std::span<std::string_view const> texts, std::span<float> out) const {
        if (out.size() < texts.size() * 8) return persona::make_error(persona::errc::invalid_request, "small");
        for (std::size_t i = 0; i < texts.size(); ++i)
            for (std::size_t j = 0; j < 8; ++j) out[i * 8 + j] = static_cast<float>(texts[i].size() % (j + 2));
        return {};
    }
};

} // namespace

static_assert(persona::store<workspace_blind_store>);

TEST_CASE("the store kit catches a store that ignores workspaces") {
    workspace_blind_store s;
    auto const r = persona::testing::check_store(s);
    CHECK_FALSE(r.ok());
    CHECK(std::ranges::any_of(r.failures, [](std::string const& f) { return f.find("another workspace") != std::string::npos; }));
}

static_assert(persona::store<title_dropping_store>);

TEST_CASE("the store kit catches a store that drops a field") {
    title_dropping_store s;
    auto const r = persona::testing::check_store(s);
    CHECK_FALSE(r.ok());
    auto const failed = [&](std::string_view check) {
        return std::ranges::any_of(r.failures, [&](std::string const& f) { return f.find(check) != std::string::npos; });
    };
    CHECK(failed("get_item returns the stored item, every field"));
    CHECK(failed("a chunk round-trips every field"));
}

TEST_CASE("the retriever kit catches a retriever that breaks ties the wrong way") {
    unstable_retriever r;
    auto const rep = persona::testing::check_retriever(r);
    CHECK_FALSE(rep.ok());
    CHECK(std::ranges::any_of(rep.failures, [](std::string const& f) { return f.find("ascending chunk id") != std::string::npos; }));
}

TEST_CASE("the embedder kit catches an embedder without unit vectors") {
    auto const rep = persona::testing::check_embedder(loud_embedder{});
    CHECK_FALSE(rep.ok());
}

TEST_CASE("a report reads well") {
    persona::testing::conformance_report r("demo");
    r.expect(true, "fine");
    r.expect(false, "broken thing");
    CHECK(r.to_string() == "demo: 2 checks, 1 failed\n  FAILED: broken thing\n");
    CHECK_FALSE(persona::testing::conformance_report("empty").ok());
}
