#ifndef PERSONA_TYPES_HPP
#define PERSONA_TYPES_HPP

/// @file
/// The stored model: users, items (events and documents) and their chunks.
/// These are what a `store` keeps and a `retriever` indexes.

#include <persona/time.hpp>

#include <boost/json/object.hpp>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace persona {

/// The workspace used when a request names none (in process, or a single-tenant server).
inline constexpr std::string_view default_workspace = "default";

/** Names one user: a workspace (tenant) and a user id within it.

    The same `user_id` in two workspaces is two different users.
*/
struct user_ref {
    std::string workspace{default_workspace};
    std::string user_id;

    friend auto operator<=>(user_ref const&, user_ref const&) = default;
    friend bool operator==(user_ref const&, user_ref const&) = default;
};

/** A registered user's profile, as stored. */
struct user_record {
    user_ref ref;
    std::optional<std::string> email; ///< set when registered through the email form
    boost::json::object traits;       ///< free-form, nested; merged by `register`
    std::string purpose;              ///< optional free text given at registration
    timestamp created_at{};           ///< first registration; never changes
    timestamp updated_at{};           ///< last change of profile or data
    std::uint64_t revision = 0;       ///< bumped on every change; caches compare it
};

/// Whether an item is an event (a thing that happened) or a document (reference text).
enum class item_kind : std::uint8_t { event, document };

/// Return `"event"` or `"document"`.
constexpr std::string_view to_string(item_kind k) noexcept { return k == item_kind::event ? "event" : "document"; }

/** One ingested item: an event (email, message, note, ...) or a document. */
struct item {
    std::string id;               ///< `event_id` or `doc_id`, unique per user
    item_kind kind = item_kind::event;
    std::string type;             ///< event type (`email`, `message`, ...) or document kind
    std::string source;           ///< `gmail`, `slack`, ... (may be empty)
    std::string title;            ///< documents; events use `metadata.subject`
    std::string content;          ///< the full text as ingested
    timestamp time{};             ///< event timestamp, or document `created_at` (else ingest time)
    timestamp ingested_at{};      ///< when persona stored it (used by `freshness_days`)
    boost::json::object metadata; ///< free-form (`sender`, `recipients`, `subject`, ...)

    friend bool operator==(item const&, item const&) = default;
};

/** A retrievable piece of an item: an event segment (`#s<n>`) or a document paragraph (`#p<n>`). */
struct chunk {
    std::string chunk_id;     ///< `<item id>#s<n>` or `<item id>#p<n>`, 1-based
    std::string item_id;      ///< the item it belongs to
    item_kind kind = item_kind::event;
    std::string type;         ///< the item's type
    std::string source;       ///< the item's source
    std::string title;        ///< the item's title (document title or email subject)
    std::string text;         ///< the chunk's text (the excerpt returned by /chunks)
    timestamp time{};         ///< the item's time
    timestamp ingested_at{};  ///< the item's ingest time
    std::uint32_t ordinal = 1; ///< n in `#s<n>` / `#p<n>`
    std::vector<float> embedding; ///< the embedder's vector, stored so retrievers rebuild without re-embedding

    friend bool operator==(chunk const&, chunk const&) = default;
};

/** An item together with its chunks, the unit a store writes atomically. */
struct stored_item {
    persona::item item;
    std::vector<persona::chunk> chunks;
};

/** A chunk id with a relevance score in [0, 1]. */
struct scored_chunk {
    std::string chunk_id;
    double score = 0;

    friend bool operator==(scored_chunk const&, scored_chunk const&) = default;
};

/** Return the item id of a chunk id: the part before the last `#`. */
inline std::string_view item_id_of(std::string_view chunk_id) noexcept {
    auto const pos = chunk_id.rfind('#');
    return pos == std::string_view::npos ? chunk_id : chunk_id.substr(0, pos);
}

/** Make the chunk id of the `ordinal`-th (1-based) chunk of an item. */
inline std::string make_chunk_id(std::string_view item_id, item_kind kind, std::uint32_t ordinal) {
    std::string id(item_id);
    id += kind == item_kind::event ? "#s" : "#p";
    id += std::to_string(ordinal);
    return id;
}

/** One weighted piece of a retrieval query (a conversation turn, a question, an option). */
struct query_part {
    std::string text;
    double weight = 1.0;
};

/** What a retriever is asked: weighted text for the lexical side, a vector for the dense side.

    Either side may be empty. `k` bounds the number of hits; hits scoring below
    `min_score` are dropped.
*/
struct search_query {
    std::vector<query_part> parts;   ///< lexical query terms come from these, weighted
    std::vector<float> vector;       ///< unit-length query vector (may be empty)
    std::size_t k = 5;
    double min_score = 0.0;
    bool prefer_recent = false;      ///< the question is about "now"/"lately": newer chunks rank higher
};

} // namespace persona

#endif
