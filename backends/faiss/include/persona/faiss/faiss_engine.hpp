#ifndef PERSONA_FAISS_FAISS_ENGINE_HPP
#define PERSONA_FAISS_FAISS_ENGINE_HPP

/// @file
/// The `faiss_engine` preset: `basic_engine` with FAISS as the vector index.

#include <persona/engine.hpp>
#include <persona/extractive_answerer.hpp>
#include <persona/faiss/faiss_retriever.hpp>
#include <persona/hashing_embedder.hpp>
#include <persona/memory_store.hpp>

namespace persona {

/** The in-memory engine searching through per-user FAISS indexes.

    Same results as `basic_engine` with the default (flat) spec; construct the
    retriever with another spec for approximate search:
    @code
    persona::faiss_engine engine(persona::memory_store{}, persona::hashing_embedder{},
                                 persona::faiss_retriever({.spec = "HNSW32"}));
    @endcode
*/
using faiss_engine = engine<memory_store, hashing_embedder, faiss_retriever, extractive_answerer>;

static_assert(personalization_api<faiss_engine>);

} // namespace persona

#endif
