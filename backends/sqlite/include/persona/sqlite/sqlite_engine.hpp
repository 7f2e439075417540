#ifndef PERSONA_SQLITE_SQLITE_ENGINE_HPP
#define PERSONA_SQLITE_SQLITE_ENGINE_HPP

/// @file
/// The `sqlite_engine` preset: `basic_engine` whose data lives in a SQLite file.

#include <persona/engine.hpp>
#include <persona/extractive_answerer.hpp>
#include <persona/flat_retriever.hpp>
#include <persona/hashing_embedder.hpp>
#include <persona/sqlite/sqlite_store.hpp>

namespace persona {

/** The durable engine: a SQLite file, hashing embeddings, exact hybrid search.

    The index is derived state: after opening, call `rebuild_index()` once to load
    every user's chunks (with their stored embeddings) into the retriever.
    @code
    auto store = persona::sqlite_store::open("persona.db").value();
    persona::sqlite_engine engine(std::move(store));
    engine.rebuild_index().value();
    @endcode
*/
using sqlite_engine = engine<sqlite_store, hashing_embedder, flat_retriever, extractive_answerer>;

static_assert(personalization_api<sqlite_engine>);

} // namespace persona

#endif
