#ifndef PERSONA_PERSONA_HPP
#define PERSONA_PERSONA_HPP

/// @file
/// Umbrella header: everything of persona's core (no optional backend).

#include <persona/api.hpp>
#include <persona/concepts.hpp>
#include <persona/engine.hpp>
#include <persona/error.hpp>
#include <persona/extractive_answerer.hpp>
#include <persona/flat_retriever.hpp>
#include <persona/hashing_embedder.hpp>
#include <persona/http_message.hpp>
#include <persona/json.hpp>
#include <persona/memory_store.hpp>
#include <persona/presets.hpp>
#include <persona/soft_terms.hpp>
#include <persona/summarizer.hpp>
#include <persona/time.hpp>
#include <persona/traits.hpp>
#include <persona/types.hpp>
#include <persona/word_vector_embedder.hpp>
#include <persona/word_vectors.hpp>

#endif
