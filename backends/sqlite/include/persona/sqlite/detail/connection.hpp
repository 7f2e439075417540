#ifndef PERSONA_SQLITE_DETAIL_CONNECTION_HPP
#define PERSONA_SQLITE_DETAIL_CONNECTION_HPP

// Not API. Thin RAII over the SQLite C API: a connection, prepared statements, and the
// translation of SQLite result codes into persona errors (rule 3: at the boundary).

#include <persona/error.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace persona::detail {

/** Translate a SQLite result code into a persona error about `what`.

    Busy, locked, full-disk and I/O conditions are `errc::unavailable` (a client may
    retry); a corrupt or foreign file and everything else is `errc::internal_error`.
*/
inline error sqlite_error(int code, std::string_view what, sqlite3* db = nullptr) {
    std::string message = "sqlite: " + std::string(what) + ": ";
    message += db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL: return {errc::unavailable, std::move(message), {}};
    default: return {errc::internal_error, std::move(message), {}};
    }
}

/// A prepared statement, reset on every `reset()`; columns and parameters 0-based/1-based as in SQLite.
class sqlite_statement {
public:
    sqlite_statement() = default;
    sqlite_statement(sqlite_statement&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)) {}
    sqlite_statement& operator=(sqlite_statement&& o) noexcept {
        std::swap(stmt_, o.stmt_);
        return *this;
    }
    ~sqlite_statement() { sqlite3_finalize(stmt_); }

    static result<sqlite_statement> prepare(sqlite3* db, std::string_view sql) {
        sqlite_statement s;
        int const rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                          &s.stmt_, nullptr);
        if (rc != SQLITE_OK) return sqlite_error(rc, "prepare '" + std::string(sql.substr(0, 60)) + "'", db);
        return s;
    }

    /// Clear the previous run's state and bindings; call before binding.
    sqlite_statement& reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
        return *this;
    }

    // The bound bytes must outlive the statement's next step (SQLITE_STATIC: no copy).
    sqlite_statement& bind(int i, std::string_view v) {
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    sqlite_statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    sqlite_statement& bind_null(int i) {
        sqlite3_bind_null(stmt_, i);
        return *this;
    }
    sqlite_statement& bind_floats(int i, std::span<float const> v) {
        if (v.empty()) sqlite3_bind_zeroblob(stmt_, i, 0);
        else sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size_bytes()), SQLITE_STATIC);
        return *this;
    }

    /// Step once: SQLITE_ROW, SQLITE_DONE, or an error code.
    int step() { return sqlite3_step(stmt_); }

    std::string_view text(int col) const {
        auto const* p = reinterpret_cast<char const*>(sqlite3_column_text(stmt_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string_view{};
    }
    std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
    bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    /// Copy a BLOB column of floats into `out` (replacing its contents).
    void floats(int col, std::vector<float>& out) const {
        auto const* p = sqlite3_column_blob(stmt_, col);
        auto const n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)) / sizeof(float);
        out.resize(n);
        if (n) std::memcpy(out.data(), p, n * sizeof(float));
    }

private:
    sqlite3_stmt* stmt_ = nullptr;
};

/// One connection to the database file.
class sqlite_connection {
public:
    sqlite_connection() = default;
    sqlite_connection(sqlite_connection&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
    sqlite_connection& operator=(sqlite_connection&& o) noexcept {
        std::swap(db_, o.db_);
        return *this;
    }
    ~sqlite_connection() { sqlite3_close_v2(db_); }

    /// Open `file` read-write (creating it only when `create`), one thread at a time.
    static result<sqlite_connection> open(std::filesystem::path const& file, bool create) {
        sqlite_connection c;
        int const flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
        int const rc = sqlite3_open_v2(file.c_str(), &c.db_, flags, nullptr);
        if (rc != SQLITE_OK) return sqlite_error(rc, "open '" + file.string() + "'", c.db_);
        sqlite3_extended_result_codes(c.db_, 1);
        return c;
    }

    sqlite3* get() const noexcept { return db_; }

    /// Run statements that return no rows we need.
    result<void> exec(std::string_view sql) {
        std::string const s(sql);
        char* message = nullptr;
        int const rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &message);
        if (rc == SQLITE_OK) return {};
        std::string text = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        auto e = sqlite_error(rc, std::string(sql.substr(0, 60)));
        e.message = "sqlite: " + std::string(sql.substr(0, 60)) + ": " + text;
        return e;
    }

    /// Return the first column of the first row of `sql` as an integer.
    result<std::int64_t> scalar(std::string_view sql) {
        auto st = sqlite_statement::prepare(db_, sql);
        if (!st) return st.error();
        int const rc = st->step();
        if (rc == SQLITE_ROW) return st->int64(0);
        if (rc == SQLITE_DONE) return std::int64_t{0};
        return sqlite_error(rc, std::string(sql.substr(0, 60)), db_);
    }

    /// Return the first column of the first row of `sql` as text.
    result<std::string> text(std::string_view sql) {
        auto st = sqlite_statement::prepare(db_, sql);
        if (!st) return st.error();
        int const rc = st->step();
        if (rc == SQLITE_ROW) return std::string(st->text(0));
        if (rc == SQLITE_DONE) return std::string{};
        return sqlite_error(rc, std::string(sql.substr(0, 60)), db_);
    }

private:
    sqlite3* db_ = nullptr;
};

} // namespace persona::detail

#endif
