// The README's composition example, compiled and run as a smoke test.
// Keep it identical to the README (examples/readme_sync.sh checks).
#include <persona/persona.hpp>
#include <iostream>

int main() {
    using namespace persona;
    // The policies are values: swap any of them for your own model of the concept.
    engine<memory_store, hashing_embedder, flat_retriever> memory{
        memory_store{}, hashing_embedder{384}, flat_retriever{{.lexical_weight = 0.6}}};

    memory.register_user({.user_id = "usr_42af7c", .traits = {{"name", "Ash Lewis"}}}).value();
    ingest_request in{.user_id = "usr_42af7c", .source = "gmail"};
    in.events.push_back({"evt_1", "email", parse_timestamp("2025-10-10T09:00:00Z"),
                         "Let's move stand-up to 2 PM starting next week.", {}});
    memory.ingest(in).value();

    auto chunks = memory.chunks({.user_id = "usr_42af7c",
                                 .conversation = {{"user", "When is stand-up now?"}}});
    for (auto const& c : chunks.value().results) std::cout << c.chunk_id << ' ' << c.excerpt << '\n';
}
