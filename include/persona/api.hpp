#ifndef PERSONA_API_HPP
#define PERSONA_API_HPP

/// @file
/// The requests and responses of the Personalization API (API.md) as C++ types.
/// `persona/json.hpp` converts them to and from the wire; the engine and the remote
/// client both take and return exactly these.

#include <persona/time.hpp>
#include <persona/types.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace persona {

// Every request carries `workspace`: it is not on the wire. A server sets it from the
// API key; in process it defaults to `default_workspace`; a remote client ignores it
// (the key decides on the server).

/** `PUT /register` (or `POST /register`): create or update a user. */
struct register_request {
    std::string workspace{default_workspace};
    std::string user_id;               ///< 1–128 chars; may be empty when `email` is given
    std::optional<std::string> email;  ///< the SDK's email form: the id is derived from it
    boost::json::object traits;        ///< deep-merged into the profile; `null` removes a key
    std::optional<std::string> purpose;
};

/** The response to `register`. */
struct register_response {
    std::string user_id;
    timestamp created_at{};
    std::string status = "active";
    std::optional<std::string> email;

    friend bool operator==(register_response const&, register_response const&) = default;
};

/** One event of an ingest request. */
struct event_input {
    std::string event_id;
    std::string type;
    std::optional<timestamp> time;     ///< `timestamp` on the wire; required
    std::string content;
    boost::json::object metadata;
};

/** One document of an ingest request. */
struct document_input {
    std::string doc_id;                ///< derived from a content hash when empty
    std::string content;
    std::string title;
    std::string kind;                  ///< alias `document_type` on the wire
    std::optional<timestamp> created_at;
    boost::json::object metadata;
};

/** One message of `message_history` (SDK form); becomes an event of type `message`. */
struct message_input {
    std::string role;
    std::string content;
    std::optional<timestamp> time;     ///< `timestamp` on the wire; optional
    std::string id;                    ///< optional; derived from a content hash when empty
};

/** `POST /ingest`: add events, documents and messages to a user, atomically. */
struct ingest_request {
    std::string workspace{default_workspace};
    std::string user_id;
    std::string source;
    std::vector<event_input> events;
    std::vector<document_input> documents;
    std::vector<message_input> message_history;
    bool dedupe = false;               ///< `options.dedupe`: skip items whose id exists
};

/** An item an ingest did not store, and why. */
struct skipped_item {
    std::string id;
    std::string kind;                  ///< `event` or `document`
    std::string reason;                ///< `duplicate`

    friend bool operator==(skipped_item const&, skipped_item const&) = default;
};

/** The response to `ingest`. */
struct ingest_response {
    std::string user_id;
    std::size_t events = 0;            ///< events stored (messages included)
    std::size_t documents = 0;
    std::vector<skipped_item> skipped;
    timestamp updated_at{};

    friend bool operator==(ingest_response const&, ingest_response const&) = default;
};

/** `POST /query`: ask a question about a user; with `options`, predict a decision. */
struct query_request {
    std::string workspace{default_workspace};
    std::string user_id;
    std::string question;
    bool use_cache = false;
    std::vector<std::string> options;  ///< persona extension: 2–10 choices, or empty
};

/** A chunk used as evidence, with its score. */
struct source_ref {
    std::string chunk_id;
    double score = 0;

    friend bool operator==(source_ref const&, source_ref const&) = default;
};

/** The response to `query`. */
struct query_response {
    std::string user_id;
    std::string answer;
    std::vector<source_ref> sources;
    std::optional<std::size_t> choice;  ///< with `options`: the index picked
    std::vector<double> option_scores;  ///< with `options`: one score per option

    friend bool operator==(query_response const&, query_response const&) = default;
};

/** `GET /summary`: a deterministic profile summary for a purpose. */
struct summary_request {
    std::string workspace{default_workspace};
    std::string user_id;
    std::string purpose = "general";
    std::optional<std::size_t> max_chars;     ///< hard cap in code points
    std::optional<std::size_t> freshness_days;///< only data ingested in the last N days
};

/** The response to `summary`. */
struct summary_response {
    std::string user_id;
    timestamp generated_at{};
    std::string purpose;
    std::string summary;

    friend bool operator==(summary_response const&, summary_response const&) = default;
};

/** One turn of a conversation. */
struct conversation_turn {
    std::string role;                  ///< `system`, `user` or `assistant`
    std::string content;
};

/** `POST /chunks`: top-k snippets for grounding, anchored on a conversation. */
struct chunks_request {
    std::string workspace{default_workspace};
    std::string user_id;
    std::vector<conversation_turn> conversation;
    std::size_t top_k = 5;             ///< 1–20
    std::optional<double> similarity_threshold; ///< 0–1
};

/** One result of `chunks`. */
struct chunk_result {
    std::string chunk_id;
    std::string excerpt;
    double score = 0;

    friend bool operator==(chunk_result const&, chunk_result const&) = default;
};

/** The response to `chunks`: best first, ties broken by chunk id. */
struct chunks_response {
    std::vector<chunk_result> results;

    friend bool operator==(chunks_response const&, chunks_response const&) = default;
};

/** `POST /delete`: forget a user. */
struct delete_request {
    std::string workspace{default_workspace};
    std::string user_id;
    std::string scope = "global";
    std::string reason;
};

/** The response to `delete_user` and to `deletion_status`. */
struct delete_response {
    std::string ticket_id;
    std::string status = "completed";
    timestamp eta{};

    friend bool operator==(delete_response const&, delete_response const&) = default;
};

/** `GET /delete/{ticket_id}`: the status of a deletion. */
struct deletion_status_request {
    std::string workspace{default_workspace};
    std::string ticket_id;
};

// Export and import (persona extension, admin scope): moving one user's memory between
// deployments and backends. Not part of `personalization_api`; `engine` and `remote_api`
// have them, and the server routes them for APIs that do.

/** One user's memory as exported: the profile and every item, without chunks or
    embeddings (the importing engine re-chunks and re-embeds with its own policies).

    On the wire it is `application/x-ndjson` (`to_ndjson`, `user_export_from_ndjson`):
    a `user` line, then one line per item.
*/
struct user_export {
    std::string user_id;
    std::optional<std::string> email;
    boost::json::object traits;
    std::string purpose;               ///< empty when none was given
    timestamp created_at{};            ///< kept by an import that creates the user
    timestamp updated_at{};            ///< informational; an import stamps its own time
    std::vector<item> items;           ///< ordered by (time, id), as `store::get_items`

    friend bool operator==(user_export const&, user_export const&) = default;
};

/** `GET /export?user_id=…` (persona extension): one user's profile and items. */
struct export_request {
    std::string workspace{default_workspace};
    std::string user_id;
};

/** `POST /import[?user_id=…]` (persona extension): write an export into this deployment. */
struct import_request {
    std::string workspace{default_workspace};
    std::string user_id;               ///< `?user_id=`: import under this id; empty: the export's own
    user_export data;                  ///< the body
};

/** The response to `import_user`: the items the import holds, by kind. */
struct import_response {
    std::string user_id;
    std::size_t events = 0;
    std::size_t documents = 0;

    friend bool operator==(import_response const&, import_response const&) = default;
};

/// The `format` member of an export's first line; an import accepts exactly this.
inline constexpr std::string_view export_format = "persona-export/1";

/// The `purpose` values `/summary` accepts.
inline constexpr std::string_view summary_purposes[] = {
    "general", "work-style", "persona", "decision-style", "preferences", "tool", "device", "situation"};

/// Limits API.md sets on requests.
struct api_limits {
    static constexpr std::size_t max_user_id_chars = 128;
    static constexpr std::size_t min_top_k = 1;
    static constexpr std::size_t max_top_k = 20;
    static constexpr std::size_t min_options = 2;
    static constexpr std::size_t max_options = 10;
    static constexpr std::size_t max_item_id_chars = 256;
    static constexpr std::size_t max_summary_chars = 1'000'000;
    static constexpr std::size_t max_freshness_days = 36'500;
};

} // namespace persona

#endif
