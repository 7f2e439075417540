#include <persona/concepts.hpp>

#include <persona/extractive_answerer.hpp>
#include <persona/flat_retriever.hpp>
#include <persona/hashing_embedder.hpp>
#include <persona/memory_store.hpp>
#include <persona/presets.hpp>

#include <catch2/catch.hpp>

namespace {

// Minimal exemplars: the least a type must provide to model each concept.
struct exemplar_transport {
    persona::result<persona::http_response> send(persona::http_request const&) { return persona::http_response{}; }
};
struct not_a_transport {
    persona::http_response send(persona::http_request const&) { return {}; } // must return result<>
};
struct exemplar_embedder {
    std::size_t dimension() const { return 1; }
    persona::result<void> embed(std::span<std::string_view const>, std::span<float>) const { return {}; }
};
struct embedder_without_const_embed {
    std::size_t dimension() const { return 1; }
    persona::result<void> embed(std::span<std::string_view const>, std::span<float>) { return {}; }
};
struct exemplar_answerer {
    persona::result<persona::answer> answer(persona::answer_context const&) const { return persona::answer{}; }
};

} // namespace

TEST_CASE("the shipped models model their concepts") {
    STATIC_REQUIRE(persona::store<persona::memory_store>);
    STATIC_REQUIRE(persona::embedder<persona::hashing_embedder>);
    STATIC_REQUIRE(persona::retriever<persona::flat_retriever>);
    STATIC_REQUIRE(persona::answerer<persona::extractive_answerer>);
    STATIC_REQUIRE(persona::personalization_api<persona::basic_engine>);
    // The refinements that let the engine analyze text once for both sides.
    STATIC_REQUIRE(persona::analyzing_embedder<persona::hashing_embedder>);
    STATIC_REQUIRE(persona::analyzing_retriever<persona::flat_retriever>);
    STATIC_REQUIRE_FALSE(persona::analyzing_embedder<exemplar_embedder>); // optional: a plain embedder is enough
}

TEST_CASE("exemplars model their concepts, near misses do not") {
    STATIC_REQUIRE(persona::transport<exemplar_transport>);
    STATIC_REQUIRE_FALSE(persona::transport<not_a_transport>);
    STATIC_REQUIRE(persona::embedder<exemplar_embedder>);
    STATIC_REQUIRE_FALSE(persona::embedder<embedder_without_const_embed>);
    STATIC_REQUIRE(persona::answerer<exemplar_answerer>);
    STATIC_REQUIRE_FALSE(persona::store<persona::flat_retriever>);
    STATIC_REQUIRE_FALSE(persona::retriever<persona::memory_store>);
    STATIC_REQUIRE_FALSE(persona::personalization_api<persona::memory_store>);
}

TEST_CASE("an engine composes any models, including user-written ones") {
    using custom = persona::engine<persona::memory_store, exemplar_embedder, persona::flat_retriever, exemplar_answerer>;
    STATIC_REQUIRE(persona::personalization_api<custom>);
    custom e;
    REQUIRE(e.register_user({.user_id = "u"}));
    auto const a = e.query({.user_id = "u", .question = "anything"});
    REQUIRE(a);
    CHECK(a->answer.empty()); // the exemplar answerer says nothing; the engine adds nothing of its own
}
