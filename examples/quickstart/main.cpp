// persona quickstart: an agent's memory of one user, in process.
//
// Registers Ash, ingests a few emails, messages and a document, then asks a question,
// gets a work-style summary and the top chunks to ground a scheduling conversation.
#include <persona/persona.hpp>

#include <cstdio>
#include <iostream>

using namespace persona;

static timestamp at(std::string_view iso) { return parse_timestamp(iso).value(); }

int main() try {
    basic_engine memory; // memory_store + hashing_embedder + flat_retriever + extractive_answerer

    memory.register_user({.user_id = "usr_42af7c",
                          .traits = {{"name", "Ash Lewis"},
                                     {"timezone", "America/Los_Angeles"},
                                     {"notes", "Founder/engineer; prefers concise comms"}}})
        .value();

    ingest_request gmail{.user_id = "usr_42af7c", .source = "gmail"};
    gmail.events = {
        {"evt_1", "email", at("2025-10-10T09:00:00Z"), "Let's move stand-up to 2 PM starting next week.",
         {{"subject", "Stand-up time"}, {"sender", "ash@example.com"}}},
        {"evt_2", "email", at("2025-10-08T17:30:00Z"),
         "Please don't book anything before 10 AM. Mornings are my deep-work time.",
         {{"subject", "Calendar rules"}, {"sender", "ash@example.com"}}},
        {"evt_3", "email", at("2025-10-06T12:10:00Z"), "Lunch with the Acme team moved to Thursday at noon.",
         {{"subject", "Acme lunch"}}},
    };
    gmail.documents = {{.doc_id = "doc_7",
                        .content = "Typical focus blocks 9-12 PT; meetings after 1 PM preferred.\n\n"
                                   "Prefers short written updates over status meetings. Fridays are meeting-free.",
                        .title = "Working preferences",
                        .kind = "note",
                        .created_at = at("2025-10-01T08:00:00Z")}};
    auto const ingested = memory.ingest(gmail).value();

    ingest_request slack{.user_id = "usr_42af7c", .source = "slack"};
    slack.events = {{"evt_4", "message", at("2025-10-09T15:45:00Z"),
                     "Can we keep the design review to 25 minutes? Async comments first, please.", {}}};
    memory.ingest(slack).value();

    std::cout << "Ingested " << ingested.events + 1 << " events and " << ingested.documents << " document.\n\n";

    auto const answer = memory.query({.user_id = "usr_42af7c", .question = "When does Ash prefer to schedule meetings?"}).value();
    std::cout << "Q: When does Ash prefer to schedule meetings?\nA: " << answer.answer << "\n   sources:";
    for (auto const& s : answer.sources) std::cout << ' ' << s.chunk_id;
    std::cout << "\n\n";

    auto const summary = memory.summary({.user_id = "usr_42af7c", .purpose = "work-style", .max_chars = 600}).value();
    std::cout << "Work-style summary:\n" << summary.summary << "\n\n";

    chunks_request conversation{.user_id = "usr_42af7c",
                                .conversation = {{"system", "You are Ash's scheduling assistant."},
                                                 {"user", "Set up a 30 minute sync with the Acme team next week."},
                                                 {"assistant", "Sure. Any constraints on time?"},
                                                 {"user", "What time works best for me?"}},
                                .top_k = 3};
    std::cout << "Top chunks for a scheduling conversation:\n";
    for (auto const& c : memory.chunks(conversation).value().results)
        std::printf("  %-9s %.2f  %s\n", c.chunk_id.c_str(), c.score, c.excerpt.c_str());
    return 0;
} catch (persona::exception const& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
}
