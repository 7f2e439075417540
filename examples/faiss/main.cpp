// The FAISS preset: serve a user's memory from an HNSW index, save the index, and after
// a "restart" adopt it instead of rebuilding it (the store is the truth; the index is
// checked against it chunk by chunk).
#include <persona/faiss/faiss_engine.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace persona;

std::vector<chunk_result> print_top(faiss_engine& e, char const* label) {
    auto top = e.chunks({.user_id = "usr_42af7c", .conversation = {{"user", "Can we meet on Friday morning?"}}}).value();
    std::cout << label << '\n';
    for (auto const& c : top.results) std::printf("  %-13s %.2f  %s\n", c.chunk_id.c_str(), c.score, c.excerpt.c_str());
    return top.results;
}

} // namespace

int main() {
    // The process id in the name: two runs at once (ctest -j, two shells) must not share it.
    auto const index_file =
        std::filesystem::temp_directory_path() / ("persona-example-" + std::to_string(::getpid()) + ".faiss");
    faiss_retriever::options const hnsw{.spec = "HNSW32"};
    faiss_engine before(memory_store{}, hashing_embedder{}, faiss_retriever(hnsw));

    before.register_user({.user_id = "usr_42af7c", .traits = {{"name", "Ash Lewis"}}}).value();
    ingest_request in{.user_id = "usr_42af7c", .source = "gmail"};
    auto const t = parse_timestamp("2025-10-10T09:00:00Z").value();
    in.events = {{"evt_1", "email", t, "Fridays are meeting-free; I keep them for deep work.", {}},
                 {"evt_2", "email", t, "Please don't book anything before 10 AM.", {}},
                 {"evt_3", "message", t, "Lunch with the Acme team moved to Thursday at noon.", {}}};
    // Bulk: a few thousand older notes, so that the index has something to do.
    char const* topics[] = {"invoice", "roadmap", "hiring", "offsite", "pricing", "support", "launch", "design"};
    for (int i = 0; i < 3000; ++i)
        in.events.push_back({"note_" + std::to_string(i), "note", t - std::chrono::hours(24 + i),
                             std::string("Notes on the ") + topics[i % 8] + " thread, part " + std::to_string(i) + ".",
                             {}});
    auto const ingested = before.ingest(in).value();
    std::cout << "Ingested " << ingested.events << " events into an HNSW32 index.\n";
    auto const first = print_top(before, "Top chunks for \"Can we meet on Friday morning?\":");

    before.get_retriever().save(index_file).value();
    std::cout << "Saved the index to a file of the temporary directory.\n";

    // A restart: the store survives (here moved; a durable store reopens its file), the
    // retriever loads the saved index and adopts it while the engine re-adds the chunks.
    faiss_retriever loaded(hnsw);
    std::cout << "Loaded " << loaded.load(index_file).value() << " user index.\n";
    faiss_engine after(std::move(before.get_store()), hashing_embedder{}, std::move(loaded));
    after.rebuild_index().value();
    auto const stats = after.get_retriever().get_persistence_statistics();
    std::cout << "Adopted " << stats.users_adopted << ", rebuilt " << stats.users_rebuilt << ".\n";
    auto const second = print_top(after, "After the restart:");
    std::cout << "Same chunks and scores after the restart: " << (first == second ? "yes" : "NO") << ".\n";
    std::filesystem::remove(index_file);
}
