#ifndef PERSONA_PROTOCOL_KEYS_HPP
#define PERSONA_PROTOCOL_KEYS_HPP

/// @file
/// API keys: scopes, workspaces, the keys file (hashes only) and the three header forms.

#include <persona/error.hpp>
#include <persona/http_message.hpp>
#include <persona/protocol/sha256.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace persona::protocol {

/** What a key may do (API.md): `read` (query, summary, chunks), `write` (register,
    ingest), `admin` (everything, including delete and metrics). */
enum class scope { read, write, admin };

/// Return `"read"`, `"write"` or `"admin"`.
constexpr std::string_view to_string(scope s) noexcept {
    return s == scope::read ? "read" : s == scope::write ? "write" : "admin";
}

/// Parse a scope name.
constexpr std::optional<scope> scope_from_string(std::string_view s) noexcept {
    if (s == "read") return scope::read;
    if (s == "write") return scope::write;
    if (s == "admin") return scope::admin;
    return std::nullopt;
}

/// Whether a key of scope `have` may call an endpoint that needs `need`.
constexpr bool allows(scope have, scope need) noexcept { return have == scope::admin || have == need; }

/** Who a request speaks for: the key's workspace, scope and name (never the key). */
struct principal {
    std::string workspace;
    protocol::scope scope = scope::read;
    std::string name;
    std::string key_id; ///< the first 16 hex digits of the key's hash: names a key in logs and quotas
};

/** Return the API key a request carries, in any of API.md's three forms.

    1. `Authorization: x-api-key: <token>` (prefix case-insensitive, optional spaces)
    2. `Authorization: Bearer <token>`
    3. `x-api-key: <token>`

    @returns the token, or `std::nullopt` when the request carries none.
*/
inline std::optional<std::string_view> extract_api_key(http_request const& req) {
    auto const trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    };
    auto const strip_prefix = [](std::string_view s, std::string_view prefix) -> std::optional<std::string_view> {
        if (s.size() < prefix.size() || !detail::iequals(s.substr(0, prefix.size()), prefix)) return std::nullopt;
        return s.substr(prefix.size());
    };
    std::string_view const auth = trim(req.field("Authorization"));
    if (!auth.empty()) {
        if (auto rest = strip_prefix(auth, "x-api-key")) {
            std::string_view r = trim(*rest);
            if (!r.empty() && r.front() == ':') r = trim(r.substr(1));
            if (!r.empty()) return r;
            return std::nullopt;
        }
        if (auto rest = strip_prefix(auth, "bearer ")) {
            std::string_view const token = trim(*rest);
            if (!token.empty()) return token;
        }
        return std::nullopt;
    }
    std::string_view const header = trim(req.field("x-api-key"));
    if (!header.empty()) return header;
    return std::nullopt;
}

/** The server's API keys, kept only as SHA-256 hashes.

    The keys file has one key per line, `sha256:<64 hex> <workspace> <scope> [name]`;
    blank lines and lines starting with `#` are ignored:
    @code
    # persona keys: only hashes are stored; the keys themselves were shown once.
    sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 default admin bootstrap
    @endcode

    @par Thread safety
    Distinct objects: safe. Shared objects: const members are safe; `add` needs
    exclusive access.
*/
class key_store {
public:
    /// One stored key: its hash and who it speaks for.
    struct entry {
        std::string sha256_hex;
        principal who;
    };

    key_store() = default;

    /** Load a keys file.

        @returns `errc::not_found` when the file does not exist, `errc::invalid_request`
        naming the line when a line is malformed.
    */
    static result<key_store> load(std::filesystem::path const& path) {
        std::ifstream in(path);
        if (!in) {
            std::error_code ec;
            if (!std::filesystem::exists(path, ec))
                return make_error(errc::not_found, "no keys file at " + path.string());
            return make_error(errc::unavailable, "cannot read keys file " + path.string());
        }
        key_store ks;
        std::string line;
        for (std::size_t number = 1; std::getline(in, line); ++number) {
            std::istringstream fields(line);
            std::string hash, workspace, scope_name, name;
            if (!(fields >> hash) || hash.starts_with('#')) continue;
            fields >> workspace >> scope_name;
            std::getline(fields >> std::ws, name);
            auto const sc = scope_from_string(scope_name);
            bool const hash_ok = hash.size() == 71 && hash.starts_with("sha256:") &&
                                 std::ranges::all_of(hash.substr(7), [](char c) {
                                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                                 });
            if (!hash_ok || workspace.empty() || !sc)
                return make_error(errc::invalid_request,
                                  path.string() + ":" + std::to_string(number) +
                                      ": expected 'sha256:<64 lower-case hex> <workspace> <read|write|admin> [name]'");
            ks.entries_.push_back({hash.substr(7), {workspace, *sc, name, hash.substr(7, 16)}});
        }
        return ks;
    }

    /** Write the keys file atomically (a temporary file renamed over it), readable by its owner only. */
    [[nodiscard]] result<void> save(std::filesystem::path const& path) const {
        std::string text = "# persona keys: sha256(key) workspace scope name. Only hashes are stored.\n";
        for (auto const& e : entries_)
            text += "sha256:" + e.sha256_hex + ' ' + e.who.workspace + ' ' + std::string(to_string(e.who.scope)) + ' ' +
                    e.who.name + '\n';
        auto const tmp = path.string() + ".tmp";
        // Created 0600 from the start (no window in which the umask's mode applies), written
        // and synced, then renamed over the old file: a crash leaves the old or the new file.
        int const fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) return make_error(errc::unavailable, "cannot write keys file " + tmp + ": " + std::strerror(errno));
        std::size_t done = 0;
        while (done < text.size()) {
            auto const n = ::write(fd, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        bool const ok = done == text.size() && ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
        ::close(fd);
        std::error_code ec;
        if (ok) std::filesystem::rename(tmp, path, ec);
        if (!ok || ec) {
            std::filesystem::remove(tmp, ec);
            return make_error(errc::unavailable, "cannot write keys file " + path.string());
        }
        return {};
    }

    /** Make a new random key: `pk_` and 48 hex digits (192 bits from the OS). */
    static std::string generate_key() {
        std::random_device rd; // getrandom(2) on Linux
        static constexpr char digits[] = "0123456789abcdef";
        std::string key = "pk_";
        for (int i = 0; i < 6; ++i) {
            std::uint32_t v = rd();
            for (int j = 0; j < 8; ++j, v >>= 4) key += digits[v & 15];
        }
        return key;
    }

    /** Add a new key for `workspace` with `s`; returns the key, which is stored only hashed.

        @returns `errc::invalid_request` for an empty workspace or one with white space.
    */
    [[nodiscard]] result<std::string> add(std::string workspace, scope s, std::string name = {}) {
        if (workspace.empty() || std::ranges::any_of(workspace, [](unsigned char c) { return std::isspace(c) != 0; }))
            return invalid_field("workspace", "a workspace name is one word");
        std::string key = generate_key();
        std::string hash = sha256_hex(key);
        std::string id = hash.substr(0, 16);
        entries_.push_back({std::move(hash), {std::move(workspace), s, std::move(name), std::move(id)}});
        return key;
    }

    /** Return who `key` speaks for, or `std::nullopt` for an unknown key.

        Compares the key's hash with every stored hash in constant time and without
        stopping at a match, so timing reveals neither the key nor its position.
    */
    std::optional<principal> authenticate(std::string_view key) const {
        std::string const h = sha256_hex(key);
        std::optional<std::size_t> match;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            unsigned diff = 0;
            for (std::size_t j = 0; j < 64; ++j) diff |= static_cast<unsigned char>(h[j] ^ entries_[i].sha256_hex[j]);
            if (diff == 0) match = i;
        }
        if (!match) return std::nullopt;
        return entries_[*match].who;
    }

    /// The stored keys (hashes and principals).
    std::vector<entry> const& entries() const noexcept { return entries_; }

private:
    std::vector<entry> entries_;
};

} // namespace persona::protocol

#endif
