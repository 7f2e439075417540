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

int second_tu_chunk_count() {
    persona::basic_engine engine;
    (void)engine.register_user({.user_id = "odr"});
    persona::ingest_request req{.user_id = "odr"};
    req.documents.push_back({.doc_id = "d", .content = "One paragraph."});
    auto const r = engine.ingest(req);
    return r ? static_cast<int>(engine.get_retriever().size({"default", "odr"})) : -1;
}
