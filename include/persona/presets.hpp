#ifndef PERSONA_PRESETS_HPP
#define PERSONA_PRESETS_HPP

/// @file
/// Ready-made compositions of the core's policies.

#include <persona/engine.hpp>
#include <persona/extractive_answerer.hpp>
#include <persona/flat_retriever.hpp>
#include <persona/hashing_embedder.hpp>
#include <persona/memory_store.hpp>

namespace persona {

/** The all-in-memory engine: exact hybrid search, hashing embeddings, extractive answers.

    Needs nothing but the core; the reference every other preset is compared with.
*/
using basic_engine = engine<memory_store, hashing_embedder, flat_retriever, extractive_answerer>;

static_assert(personalization_api<basic_engine>);

} // namespace persona

#endif
