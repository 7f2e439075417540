#ifndef PERSONA_SQLITE_SQLITE_STORE_HPP
#define PERSONA_SQLITE_SQLITE_STORE_HPP

/// @file
/// `sqlite_store`: the durable model of `store`, in one SQLite file.

#include <persona/api.hpp>
#include <persona/concepts.hpp>
#include <persona/sqlite/detail/connection.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace persona {

/** A store in one SQLite database file. Models `store`.

    Users (traits as JSON), items and chunks with their embeddings (so a retriever
    is rebuilt at start-up without re-embedding) live in three tables keyed by
    (workspace, user id, ...). The file is in WAL mode with `synchronous=FULL`: when
    a write returns, its transaction is on disk, so an acknowledged write survives a
    crash or a power loss. `put_items` is one transaction: all of it or none.

    Deleting a user deletes their rows (cascading to items and chunks) with
    `secure_delete` on, so the freed pages are overwritten with zeros, then
    checkpoints and truncates the write-ahead log, so the user's bytes do not linger
    in it either.

    The file carries persona's `application_id` and a schema version
    (`user_version`). Opening a file of an older schema migrates it forward, one
    transaction per step; a newer schema, a foreign SQLite file or a file that is not
    a database is refused with a clear error, never reinitialised.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe. Reads run in parallel on a pool of
    connections (one per concurrent reader, up to `options::max_readers`); writes are
    serialised on one writer connection (SQLite allows one writer at a time). In WAL
    mode readers never wait for the writer. A busy database (another process writing)
    is waited for up to `options::busy_timeout` before `errc::unavailable`.
*/
class sqlite_store {
public:
    /// The schema this build creates and reads; older files are migrated to it.
    static constexpr int schema_version = 1;
    /// `PRAGMA application_id` of persona databases ("PRSN").
    static constexpr std::int32_t application_id = 0x5052534e;

    /// How the database is opened.
    struct options {
        bool create = true;                               ///< create the file when missing
        std::size_t max_readers = 8;                      ///< reader connections kept open at most
        std::chrono::milliseconds busy_timeout{30'000};   ///< wait this long for another process's lock
        bool verify = true;                               ///< run `PRAGMA quick_check` on open (reads the whole file once)
    };

    /** Open (or create) the database `file`.

        @returns `errc::not_found` when the file is missing and `o.create` is false,
        `errc::internal_error` when it is not a SQLite database, is corrupt, belongs to
        another application or has a newer schema, `errc::unavailable` when it cannot
        be opened or locked. Nothing in the file is changed then.
    */
    [[nodiscard]] static result<sqlite_store> open(std::filesystem::path const& file, options o) {
        std::error_code ec;
        bool const existed = std::filesystem::exists(file, ec);
        if (!existed && !o.create)
            return make_error(errc::not_found, "database '" + file.string() + "' does not exist");
        auto s = std::make_unique<state>();
        s->file = file;
        s->opts = o;
        auto const refused = [&](error e) {
            // The first read of the file's header happens in whichever statement runs first.
            if (e.message.find("file is not a database") != std::string::npos)
                return make_error(errc::internal_error, "database '" + file.string() +
                                                            "' is not a SQLite database (or is corrupt or encrypted)");
            return e;
        };
        auto writer = connect(*s, /*writer=*/true, o.create);
        if (!writer) return refused(writer.error());
        s->writer = std::move(*writer);
        if (auto r = prepare_schema(*s, existed); !r) return refused(r.error());
        return sqlite_store(std::move(s));
    }

    /// Open (or create) the database `file` with the default options.
    [[nodiscard]] static result<sqlite_store> open(std::filesystem::path const& file) { return open(file, options{}); }

    /// The database file.
    std::filesystem::path const& path() const noexcept { return state_->file; }

    /** Return the user `u`, or `errc::user_not_found`. */
    [[nodiscard]] result<user_record> get_user(user_ref const& u) const {
        auto lease = read();
        if (!lease) return lease.error();
        return load_user((*lease)->get_user, u, (*lease)->db.get());
    }

    /** Insert or replace the user row of `rec.ref`. */
    [[nodiscard]] result<void> put_user(user_record const& rec) {
        std::lock_guard guard(state_->write_mutex);
        auto& w = *state_->writer;
        return transaction(w, [&]() -> result<void> { return upsert_user(w, rec); });
    }

    /** Write the user row and `items` (with their chunks) in one transaction; replaces by item id.

        @returns `errc::user_not_found` when the user does not exist; then nothing changes.
    */
    [[nodiscard]] result<void> put_items(user_record const& rec, std::span<stored_item const> items) {
        // Serialise the JSON outside the lock.
        std::vector<std::string> metadata;
        metadata.reserve(items.size());
        for (auto const& si : items) metadata.push_back(boost::json::serialize(si.item.metadata));
        std::lock_guard guard(state_->write_mutex);
        auto& w = *state_->writer;
        return transaction(w, [&]() -> result<void> {
            auto& exists = w.user_exists.reset();
            exists.bind(1, rec.ref.workspace).bind(2, rec.ref.user_id);
            int const rc = exists.step();
            if (rc == SQLITE_DONE) return user_not_found(rec.ref.user_id);
            if (rc != SQLITE_ROW) return detail::sqlite_error(rc, "find user", w.db.get());
            if (auto r = upsert_user(w, rec); !r) return r;
            for (std::size_t i = 0; i < items.size(); ++i) {
                auto const& it = items[i].item;
                auto& del = w.delete_item.reset();
                del.bind(1, rec.ref.workspace).bind(2, rec.ref.user_id).bind(3, it.id);
                if (int const d = del.step(); d != SQLITE_DONE) return detail::sqlite_error(d, "replace item", w.db.get());
                auto& ins = w.insert_item.reset();
                ins.bind(1, rec.ref.workspace).bind(2, rec.ref.user_id).bind(3, it.id);
                ins.bind(4, static_cast<std::int64_t>(it.kind)).bind(5, it.type).bind(6, it.source).bind(7, it.title);
                ins.bind(8, it.content).bind(9, seconds(it.time)).bind(10, seconds(it.ingested_at)).bind(11, metadata[i]);
                if (int const d = ins.step(); d != SQLITE_DONE) return detail::sqlite_error(d, "insert item", w.db.get());
                for (auto const& c : items[i].chunks) {
                    auto& ic = w.insert_chunk.reset();
                    ic.bind(1, rec.ref.workspace).bind(2, rec.ref.user_id).bind(3, c.chunk_id).bind(4, c.item_id);
                    ic.bind(5, static_cast<std::int64_t>(c.ordinal)).bind(6, static_cast<std::int64_t>(c.kind));
                    ic.bind(7, c.type).bind(8, c.source).bind(9, c.title).bind(10, c.text);
                    ic.bind(11, seconds(c.time)).bind(12, seconds(c.ingested_at)).bind_floats(13, c.embedding);
                    if (int const d = ic.step(); d != SQLITE_DONE)
                        return detail::sqlite_error(d, "insert chunk '" + c.chunk_id + "'", w.db.get());
                }
            }
            return {};
        });
    }

    /** Return the item `id` of user `u`, `std::nullopt` if absent, or `errc::user_not_found`. */
    [[nodiscard]] result<std::optional<item>> get_item(user_ref const& u, std::string_view id) const {
        auto lease = read();
        if (!lease) return lease.error();
        auto& c = **lease;
        if (auto r = require_user(c, u); !r) return r.error();
        auto& st = c.get_item.reset();
        st.bind(1, u.workspace).bind(2, u.user_id).bind(3, id);
        int const rc = st.step();
        if (rc == SQLITE_DONE) return std::optional<item>{};
        if (rc != SQLITE_ROW) return detail::sqlite_error(rc, "get item", c.db.get());
        auto it = item_from_row(st, 0);
        if (!it) return it.error();
        return std::optional<item>{std::move(*it)};
    }

    /** Return every item of `u` ordered by (time, id). */
    [[nodiscard]] result<std::vector<item>> get_items(user_ref const& u) const {
        auto lease = read();
        if (!lease) return lease.error();
        auto& c = **lease;
        if (auto r = require_user(c, u); !r) return r.error();
        auto& st = c.get_items.reset();
        st.bind(1, u.workspace).bind(2, u.user_id);
        std::vector<item> out;
        for (;;) {
            int const rc = st.step();
            if (rc == SQLITE_DONE) return out;
            if (rc != SQLITE_ROW) return detail::sqlite_error(rc, "get items", c.db.get());
            auto it = item_from_row(st, 0);
            if (!it) return it.error();
            out.push_back(std::move(*it));
        }
    }

    /** Return every chunk of `u` ordered by (item time, item id, ordinal). */
    [[nodiscard]] result<std::vector<chunk>> get_chunks(user_ref const& u) const {
        auto lease = read();
        if (!lease) return lease.error();
        auto& c = **lease;
        if (auto r = require_user(c, u); !r) return r.error();
        auto& st = c.get_all_chunks.reset();
        st.bind(1, u.workspace).bind(2, u.user_id);
        std::vector<chunk> out;
        for (;;) {
            int const rc = st.step();
            if (rc == SQLITE_DONE) return out;
            if (rc != SQLITE_ROW) return detail::sqlite_error(rc, "get chunks", c.db.get());
            out.push_back(chunk_from_row(st));
        }
    }

    /** Return the chunks of `u` named by `ids`, in that order, skipping unknown ids. */
    [[nodiscard]] result<std::vector<chunk>> get_chunks(user_ref const& u, std::span<std::string const> ids) const {
        auto lease = read();
        if (!lease) return lease.error();
        auto& c = **lease;
        if (auto r = require_user(c, u); !r) return r.error();
        std::vector<chunk> out;
        out.reserve(ids.size());
        for (auto const& id : ids) {
            auto& st = c.get_chunk.reset();
            st.bind(1, u.workspace).bind(2, u.user_id).bind(3, id);
            int const rc = st.step();
            if (rc == SQLITE_DONE) continue;
            if (rc != SQLITE_ROW) return detail::sqlite_error(rc, "get chunk", c.db.get());
            out.push_back(chunk_from_row(st));
        }
        return out;
    }

    /** Remove user `u` and everything of it, or `errc::user_not_found`.

        The rows go in one transaction; `secure_delete` zeroes the freed pages, and a
        checkpoint then moves them into the main file and truncates the log. If
        readers keep the checkpoint from finishing, the next one completes it.
    */
    [[nodiscard]] result<void> erase_user(user_ref const& u) {
        std::lock_guard guard(state_->write_mutex);
        auto& w = *state_->writer;
        auto r = transaction(w, [&]() -> result<void> {
            auto& st = w.delete_user.reset();
            st.bind(1, u.workspace).bind(2, u.user_id);
            if (int const rc = st.step(); rc != SQLITE_DONE) return detail::sqlite_error(rc, "delete user", w.db.get());
            if (sqlite3_changes(w.db.get()) == 0) return user_not_found(u.user_id);
            return {};
        });
        if (!r) return r;
        (void)w.db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); // best effort; see above
        finish_statements(w);
        return {};
    }

    /** Return every user of every workspace, ordered by (workspace, user id). */
    [[nodiscard]] result<std::vector<user_ref>> list_users() const {
        auto lease = read();
        if (!lease) return lease.error();
        auto& c = **lease;
        auto& st = c.list_users.reset();
        std::vector<user_ref> out;
        for (;;) {
            int const rc = st.step();
            if (rc == SQLITE_DONE) return out;
            if (rc != SQLITE_ROW) return detail::sqlite_error(rc, "list users", c.db.get());
            out.push_back({std::string(st.text(0)), std::string(st.text(1))});
        }
    }

    /** Keep a deletion ticket of `workspace`, so that `GET /delete/{id}` survives restarts. */
    [[nodiscard]] result<void> put_deletion(std::string_view workspace, delete_response const& ticket) {
        std::lock_guard guard(state_->write_mutex);
        auto& w = *state_->writer;
        return transaction(w, [&]() -> result<void> {
            auto& st = w.put_deletion.reset();
            st.bind(1, workspace).bind(2, ticket.ticket_id).bind(3, ticket.status).bind(4, seconds(ticket.eta));
            if (int const rc = st.step(); rc != SQLITE_DONE) return detail::sqlite_error(rc, "put deletion", w.db.get());
            return {};
        });
    }

    /** Return the deletion ticket `ticket_id` of `workspace`, or `std::nullopt`. */
    [[nodiscard]] result<std::optional<delete_response>> get_deletion(std::string_view workspace,
                                                                       std::string_view ticket_id) const {
        auto lease = read();
        if (!lease) return lease.error();
        auto& c = **lease;
        auto& st = c.get_deletion.reset();
        st.bind(1, workspace).bind(2, ticket_id);
        int const rc = st.step();
        if (rc == SQLITE_DONE) return std::optional<delete_response>{};
        if (rc != SQLITE_ROW) return detail::sqlite_error(rc, "get deletion", c.db.get());
        return std::optional<delete_response>{
            delete_response{std::string(st.text(0)), std::string(st.text(1)), from_seconds(st.int64(2))}};
    }

private:
    // One connection and its prepared statements. Statements are prepared once per
    // connection; a connection is used by one thread at a time.
    struct connection {
        detail::sqlite_connection db;
        detail::sqlite_statement get_user, user_exists, upsert_user, delete_user, list_users;
        detail::sqlite_statement delete_item, insert_item, get_item, get_items;
        detail::sqlite_statement insert_chunk, get_chunk, get_all_chunks;
        detail::sqlite_statement put_deletion, get_deletion;
        detail::sqlite_statement begin, commit, rollback;
    };

    struct state {
        std::filesystem::path file;
        options opts;
        std::mutex write_mutex;
        std::unique_ptr<connection> writer;
        std::mutex pool_mutex;
        std::condition_variable pool_cv;
        std::vector<std::unique_ptr<connection>> idle;
        std::size_t open_readers = 0;
    };

    /// A reader connection borrowed from the pool, returned on destruction.
    class lease {
    public:
        lease(state& s, std::unique_ptr<connection> c) : state_(&s), c_(std::move(c)) {}
        lease(lease&& o) noexcept = default;
        lease& operator=(lease&&) = delete;
        ~lease() {
            if (!c_) return;
            finish_statements(*c_);
            std::lock_guard guard(state_->pool_mutex);
            state_->idle.push_back(std::move(c_));
            state_->pool_cv.notify_one();
        }
        connection& operator*() const noexcept { return *c_; }
        connection* operator->() const noexcept { return c_.get(); }

    private:
        state* state_;
        std::unique_ptr<connection> c_;
    };

    explicit sqlite_store(std::unique_ptr<state> s) : state_(std::move(s)) {}

    /// Reset every statement still positioned on a row. A statement left mid-result
    /// keeps its read transaction open, and with it a stale snapshot of the database.
    static void finish_statements(connection& c) noexcept {
        for (sqlite3_stmt* st = sqlite3_next_stmt(c.db.get(), nullptr); st; st = sqlite3_next_stmt(c.db.get(), st))
            if (sqlite3_stmt_busy(st)) sqlite3_reset(st);
    }

    static constexpr std::string_view schema_v1 = R"sql(
CREATE TABLE users (
  workspace TEXT NOT NULL, user_id TEXT NOT NULL, email TEXT, traits TEXT NOT NULL, purpose TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, revision INTEGER NOT NULL,
  PRIMARY KEY (workspace, user_id)) WITHOUT ROWID;
CREATE TABLE items (
  workspace TEXT NOT NULL, user_id TEXT NOT NULL, item_id TEXT NOT NULL, kind INTEGER NOT NULL,
  type TEXT NOT NULL, source TEXT NOT NULL, title TEXT NOT NULL, content TEXT NOT NULL,
  time INTEGER NOT NULL, ingested_at INTEGER NOT NULL, metadata TEXT NOT NULL,
  PRIMARY KEY (workspace, user_id, item_id),
  FOREIGN KEY (workspace, user_id) REFERENCES users (workspace, user_id) ON DELETE CASCADE);
CREATE TABLE chunks (
  workspace TEXT NOT NULL, user_id TEXT NOT NULL, chunk_id TEXT NOT NULL, item_id TEXT NOT NULL,
  ordinal INTEGER NOT NULL, kind INTEGER NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL,
  title TEXT NOT NULL, text TEXT NOT NULL, time INTEGER NOT NULL, ingested_at INTEGER NOT NULL,
  embedding BLOB NOT NULL,
  PRIMARY KEY (workspace, user_id, chunk_id),
  FOREIGN KEY (workspace, user_id, item_id) REFERENCES items (workspace, user_id, item_id) ON DELETE CASCADE);
CREATE INDEX chunks_by_item ON chunks (workspace, user_id, item_id, ordinal);
CREATE TABLE deletions (
  workspace TEXT NOT NULL, ticket_id TEXT NOT NULL, status TEXT NOT NULL, eta INTEGER NOT NULL,
  PRIMARY KEY (workspace, ticket_id)) WITHOUT ROWID;
)sql";

    /// `migrations[v]` takes a database from schema v to v + 1 (v = 0: an empty file).
    static constexpr std::string_view migrations[] = {schema_v1};
    static_assert(std::size(migrations) == schema_version);

    static std::int64_t seconds(timestamp t) noexcept { return t.time_since_epoch().count(); }
    static timestamp from_seconds(std::int64_t s) noexcept { return timestamp{std::chrono::seconds(s)}; }

    static result<std::unique_ptr<connection>> connect(state& s, bool writer, bool create) {
        auto db = detail::sqlite_connection::open(s.file, create);
        if (!db) return db.error();
        auto c = std::make_unique<connection>();
        c->db = std::move(*db);
        sqlite3_busy_timeout(c->db.get(), static_cast<int>(s.opts.busy_timeout.count()));
        // Per-connection settings. synchronous=FULL in WAL mode makes each commit durable
        // (NORMAL would be consistent after a crash but could lose the last commits on
        // power loss, and an acknowledged write must never be lost).
        char const* pragmas = writer ? "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA synchronous=FULL;"
                                     : "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;";
        if (auto r = c->db.exec(pragmas); !r) return r.error();
        return c;
    }

    static result<void> prepare_statements(connection& c) {
        struct entry {
            detail::sqlite_statement* stmt;
            std::string_view sql;
        };
        entry const entries[] = {
            {&c.get_user, "SELECT email, traits, purpose, created_at, updated_at, revision FROM users "
                          "WHERE workspace = ?1 AND user_id = ?2"},
            {&c.user_exists, "SELECT 1 FROM users WHERE workspace = ?1 AND user_id = ?2"},
            {&c.upsert_user, "INSERT INTO users (workspace, user_id, email, traits, purpose, created_at, updated_at, "
                             "revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (workspace, user_id) DO "
                             "UPDATE SET email = ?3, traits = ?4, purpose = ?5, created_at = ?6, updated_at = ?7, "
                             "revision = ?8"},
            {&c.delete_user, "DELETE FROM users WHERE workspace = ?1 AND user_id = ?2"},
            {&c.list_users, "SELECT workspace, user_id FROM users ORDER BY workspace, user_id"},
            {&c.delete_item, "DELETE FROM items WHERE workspace = ?1 AND user_id = ?2 AND item_id = ?3"},
            {&c.insert_item, "INSERT INTO items (workspace, user_id, item_id, kind, type, source, title, content, "
                             "time, ingested_at, metadata) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
            {&c.get_item, "SELECT item_id, kind, type, source, title, content, time, ingested_at, metadata FROM items "
                          "WHERE workspace = ?1 AND user_id = ?2 AND item_id = ?3"},
            {&c.get_items, "SELECT item_id, kind, type, source, title, content, time, ingested_at, metadata FROM "
                           "items WHERE workspace = ?1 AND user_id = ?2 ORDER BY time, item_id"},
            {&c.insert_chunk, "INSERT INTO chunks (workspace, user_id, chunk_id, item_id, ordinal, kind, type, "
                              "source, title, text, time, ingested_at, embedding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                              "?7, ?8, ?9, ?10, ?11, ?12, ?13)"},
            {&c.get_chunk, "SELECT chunk_id, item_id, ordinal, kind, type, source, title, text, time, ingested_at, "
                           "embedding FROM chunks WHERE workspace = ?1 AND user_id = ?2 AND chunk_id = ?3"},
            {&c.get_all_chunks,
             "SELECT c.chunk_id, c.item_id, c.ordinal, c.kind, c.type, c.source, c.title, c.text, c.time, "
             "c.ingested_at, c.embedding FROM chunks c JOIN items i ON i.workspace = c.workspace AND i.user_id = "
             "c.user_id AND i.item_id = c.item_id WHERE c.workspace = ?1 AND c.user_id = ?2 "
             "ORDER BY i.time, c.item_id, c.ordinal"},
            {&c.put_deletion, "INSERT OR REPLACE INTO deletions (workspace, ticket_id, status, eta) "
                              "VALUES (?1, ?2, ?3, ?4)"},
            {&c.get_deletion, "SELECT ticket_id, status, eta FROM deletions WHERE workspace = ?1 AND ticket_id = ?2"},
            {&c.begin, "BEGIN IMMEDIATE"},
            {&c.commit, "COMMIT"},
            {&c.rollback, "ROLLBACK"},
        };
        for (auto const& e : entries) {
            auto st = detail::sqlite_statement::prepare(c.db.get(), e.sql);
            if (!st) return st.error();
            *e.stmt = std::move(*st);
        }
        return {};
    }

    /// Check what the file is, create or migrate its schema, switch to WAL, verify it.
    static result<void> prepare_schema(state& s, bool existed) {
        auto& w = s.writer->db;
        std::string const name = "database '" + s.file.string() + "'";
        // The first read of the header: a file that is not SQLite fails here.
        auto app = w.scalar("PRAGMA application_id");
        if (!app) return app.error();
        auto version = w.scalar("PRAGMA user_version");
        if (!version) return version.error();
        auto tables = w.scalar("SELECT count(*) FROM sqlite_schema");
        if (!tables) return tables.error();
        if (*app != application_id && (*app != 0 || *tables != 0))
            return make_error(errc::internal_error,
                              name + " belongs to another application (application_id " + std::to_string(*app) +
                                  "), not persona; refusing to use it");
        if (*version > schema_version)
            return make_error(errc::internal_error, name + " has schema version " + std::to_string(*version) +
                                                        ", newer than this persona's " +
                                                        std::to_string(schema_version) + "; upgrade persona");
        if (s.opts.verify && existed) {
            // quick_check reads every page once: O(file size), and the only way to find a
            // torn page before a request stumbles on it.
            auto check = detail::sqlite_statement::prepare(w.get(), "PRAGMA quick_check(3)");
            if (!check) return check.error();
            std::string problems;
            for (int rc; (rc = check->step()) != SQLITE_DONE;) {
                if (rc != SQLITE_ROW) {
                    problems = sqlite3_errmsg(w.get());
                    break;
                }
                if (check->text(0) == "ok") break;
                problems += (problems.empty() ? "" : "; ") + std::string(check->text(0));
            }
            for (auto& c : problems)
                if (c == '\n') c = ' ';
            if (!problems.empty()) return make_error(errc::internal_error, name + " is corrupt: " + problems);
        }
        auto mode = w.text("PRAGMA journal_mode=WAL");
        if (!mode) return mode.error();
        if (*mode != "wal") return make_error(errc::unavailable, name + " cannot use WAL mode (journal mode " + *mode + ")");
        for (auto v = *version; v < schema_version; ++v) {
            // One transaction per step; user_version is part of it, so a crash mid-way
            // leaves the previous version, whole.
            std::string sql = "BEGIN IMMEDIATE;\n" + std::string(migrations[v]);
            if (v == 0) sql += "PRAGMA application_id = " + std::to_string(application_id) + ";\n";
            sql += "PRAGMA user_version = " + std::to_string(v + 1) + ";\nCOMMIT;";
            if (auto r = w.exec(sql); !r) {
                (void)w.exec("ROLLBACK");
                return make_error(errc::internal_error, name + ": migrating to schema " + std::to_string(v + 1) +
                                                            " failed: " + r.error().message);
            }
        }
        return prepare_statements(*s.writer);
    }

    result<lease> read() const {
        auto& s = *state_;
        std::unique_lock lock(s.pool_mutex);
        for (;;) {
            if (!s.idle.empty()) {
                auto c = std::move(s.idle.back());
                s.idle.pop_back();
                return lease(s, std::move(c));
            }
            if (s.open_readers < std::max<std::size_t>(1, s.opts.max_readers)) break;
            s.pool_cv.wait(lock);
        }
        ++s.open_readers;
        lock.unlock();
        auto c = connect(s, /*writer=*/false, /*create=*/false);
        if (c) {
            if (auto r = prepare_statements(**c); !r) c = r.error();
        }
        if (!c) {
            std::lock_guard guard(s.pool_mutex);
            --s.open_readers;
            s.pool_cv.notify_one();
            return c.error();
        }
        return lease(s, std::move(*c));
    }

    /// Run `body` in a write transaction: committed when it succeeds, rolled back otherwise.
    template <class Body>
    static result<void> transaction(connection& w, Body&& body) {
        if (int const rc = w.begin.reset().step(); rc != SQLITE_DONE)
            return detail::sqlite_error(rc, "begin", w.db.get());
        auto r = body();
        finish_statements(w);
        if (r) {
            if (int const rc = w.commit.reset().step(); rc == SQLITE_DONE) return r;
            else r = detail::sqlite_error(rc, "commit", w.db.get());
        }
        w.rollback.reset().step();
        return r;
    }

    static result<void> upsert_user(connection& w, user_record const& rec) {
        std::string const traits = boost::json::serialize(rec.traits);
        auto& st = w.upsert_user.reset();
        st.bind(1, rec.ref.workspace).bind(2, rec.ref.user_id);
        if (rec.email) st.bind(3, *rec.email);
        else st.bind_null(3);
        st.bind(4, traits).bind(5, rec.purpose).bind(6, seconds(rec.created_at)).bind(7, seconds(rec.updated_at));
        st.bind(8, static_cast<std::int64_t>(rec.revision));
        if (int const rc = st.step(); rc != SQLITE_DONE) return detail::sqlite_error(rc, "write user", w.db.get());
        return {};
    }

    static result<void> require_user(connection& c, user_ref const& u) {
        auto& st = c.user_exists.reset();
        st.bind(1, u.workspace).bind(2, u.user_id);
        int const rc = st.step();
        if (rc == SQLITE_ROW) return {};
        if (rc == SQLITE_DONE) return user_not_found(u.user_id);
        return detail::sqlite_error(rc, "find user", c.db.get());
    }

    static result<user_record> load_user(detail::sqlite_statement& st, user_ref const& u, sqlite3* db) {
        st.reset().bind(1, u.workspace).bind(2, u.user_id);
        int const rc = st.step();
        if (rc == SQLITE_DONE) return user_not_found(u.user_id);
        if (rc != SQLITE_ROW) return detail::sqlite_error(rc, "get user", db);
        user_record rec;
        rec.ref = u;
        if (!st.is_null(0)) rec.email = std::string(st.text(0));
        auto traits = json_object(st.text(1), "traits");
        if (!traits) return traits.error();
        rec.traits = std::move(*traits);
        rec.purpose = std::string(st.text(2));
        rec.created_at = from_seconds(st.int64(3));
        rec.updated_at = from_seconds(st.int64(4));
        rec.revision = static_cast<std::uint64_t>(st.int64(5));
        return rec;
    }

    static result<boost::json::object> json_object(std::string_view text, std::string_view what) {
        boost::system::error_code ec;
        auto v = boost::json::parse(text, ec);
        if (ec || !v.is_object())
            return make_error(errc::internal_error, "sqlite: stored " + std::string(what) + " is not a JSON object");
        return std::move(v.get_object());
    }

    static result<item> item_from_row(detail::sqlite_statement const& st, int col) {
        item it;
        it.id = std::string(st.text(col));
        it.kind = static_cast<item_kind>(st.int64(col + 1));
        it.type = std::string(st.text(col + 2));
        it.source = std::string(st.text(col + 3));
        it.title = std::string(st.text(col + 4));
        it.content = std::string(st.text(col + 5));
        it.time = from_seconds(st.int64(col + 6));
        it.ingested_at = from_seconds(st.int64(col + 7));
        auto metadata = json_object(st.text(col + 8), "metadata");
        if (!metadata) return metadata.error();
        it.metadata = std::move(*metadata);
        return it;
    }

    static chunk chunk_from_row(detail::sqlite_statement const& st) {
        chunk c;
        c.chunk_id = std::string(st.text(0));
        c.item_id = std::string(st.text(1));
        c.ordinal = static_cast<std::uint32_t>(st.int64(2));
        c.kind = static_cast<item_kind>(st.int64(3));
        c.type = std::string(st.text(4));
        c.source = std::string(st.text(5));
        c.title = std::string(st.text(6));
        c.text = std::string(st.text(7));
        c.time = from_seconds(st.int64(8));
        c.ingested_at = from_seconds(st.int64(9));
        st.floats(10, c.embedding);
        return c;
    }

    std::unique_ptr<state> state_;
};

static_assert(deletion_ticket_store<sqlite_store>);

} // namespace persona

#endif
