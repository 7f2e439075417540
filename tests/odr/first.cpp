// Rule 6: two translation units that include every header must link (no ODR violation:
// every non-template function in a header is inline).
#include <persona/persona.hpp>
#include <persona/eval/runner.hpp>
#include <persona/testing/api_kit.hpp>
#include <persona/testing/embedder_kit.hpp>
#include <persona/testing/retriever_kit.hpp>
#include <persona/testing/store_kit.hpp>
#include <persona/loopback_transport.hpp>
#include <persona/protocol/service.hpp>
#include <persona/query_string.hpp>
#include <persona/llm_answerer.hpp>
#include <persona/openai_embedder.hpp>
#include <persona/remote_api.hpp>
#include <persona/testing/transport_kit.hpp>

#include <iostream>

int second_tu_chunk_count();

int main() {
    persona::basic_engine engine;
    auto const first = engine.register_user({.user_id = "odr"});
    int const second = second_tu_chunk_count();
    if (!first || second != 1) {
        std::cerr << "odr test: unexpected results\n";
        return 1;
    }
    std::cout << "odr test: both translation units work\n";
    return 0;
}
