#ifndef PERSONA_FAISS_DETAIL_INDEX_FILE_HPP
#define PERSONA_FAISS_DETAIL_INDEX_FILE_HPP

// Not API. The file `faiss_retriever::save` writes and `load` reads:
//
//   "PERSONA-FAISS\n"  u32 format  str spec  u64 users
//   per user: str workspace  str user_id  u64 dimension  u64 n
//             n x (str chunk_id  u64 fnv1a_64 of the vector's bytes)   str faiss_index_bytes
//   u64 fnv1a_64 of every byte before it
//
// Integers are little-endian; str is a u64 length and the bytes. The checksum comes
// first on reading: FAISS's own reader trusts its input, and a torn or flipped file
// must be an error, never a crash.

#include <persona/error.hpp>
#include <persona/text/hash.hpp>
#include <persona/types.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace persona::detail {

inline constexpr std::string_view index_file_magic = "PERSONA-FAISS\n";
inline constexpr std::uint32_t index_file_format = 1;

/// One user's saved index: the chunk in each position, and a hash of its vector.
struct saved_user {
    std::size_t dimension = 0;
    std::vector<std::string> chunk_ids;
    std::vector<std::uint64_t> vector_hashes;
};

/// A user's entry as read back, with the FAISS bytes still serialised.
struct read_user {
    user_ref user;
    saved_user saved;
    std::vector<std::uint8_t> blob;
};

/// Builds the file in memory, then writes it aside and renames it over the target.
class index_file_writer {
public:
    explicit index_file_writer(std::string_view spec) {
        bytes_.append(index_file_magic);
        put_u32(index_file_format);
        put_str(spec);
        count_at_ = bytes_.size();
        put_u64(0);
    }

    void add(user_ref const& u, saved_user const& s, std::vector<std::uint8_t> const& blob) {
        put_str(u.workspace);
        put_str(u.user_id);
        put_u64(s.dimension);
        put_u64(s.chunk_ids.size());
        for (std::size_t i = 0; i < s.chunk_ids.size(); ++i) {
            put_str(s.chunk_ids[i]);
            put_u64(s.vector_hashes[i]);
        }
        put_str(std::string_view(reinterpret_cast<char const*>(blob.data()), blob.size()));
        ++users_;
    }

    /// Write to `file` atomically: a sibling temporary file, flushed to disk, renamed.
    result<void> commit(std::filesystem::path const& file) {
        for (int i = 0; i < 8; ++i) bytes_[count_at_ + i] = static_cast<char>((users_ >> (8 * i)) & 0xff);
        put_u64(text::fnv1a_64(bytes_));
        // Named per process: two processes saving to one path never share a temporary.
        auto const tmp = std::filesystem::path(file.string() + ".tmp." + std::to_string(::getpid()));
        auto const fail = [&](std::string_view what) {
            int const err = errno; // before anything below can change it
            std::string message = "cannot write index file '" + file.string() + "': " + std::string(what) + ": " +
                                  std::strerror(err);
            std::error_code ignored;
            std::filesystem::remove(tmp, ignored);
            return make_error(errc::internal_error, std::move(message));
        };
        std::FILE* f = std::fopen(tmp.c_str(), "wb");
        if (!f) return fail("open");
        bool const written = std::fwrite(bytes_.data(), 1, bytes_.size(), f) == bytes_.size() &&
                             std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
        if (std::fclose(f) != 0 || !written) return fail("write");
        if (std::rename(tmp.c_str(), file.c_str()) != 0) return fail("rename");
        // Make the rename itself durable (best effort: the index is a cache).
        auto const dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
        if (int const fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); fd >= 0) {
            ::fsync(fd);
            ::close(fd);
        }
        return {};
    }

private:
    void put_u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
    void put_u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
    void put_str(std::string_view s) {
        put_u64(s.size());
        bytes_.append(s);
    }

    std::string bytes_;
    std::size_t count_at_ = 0;
    std::uint64_t users_ = 0;
};

/// Bounds-checked reading of the file's fields.
class index_file_cursor {
public:
    explicit index_file_cursor(std::string_view bytes) : bytes_(bytes) {}

    bool u64(std::uint64_t& v) {
        if (bytes_.size() - at_ < 8) return false;
        v = 0;
        for (int i = 0; i < 8; ++i) v |= std::uint64_t(static_cast<unsigned char>(bytes_[at_ + i])) << (8 * i);
        at_ += 8;
        return true;
    }
    bool u32(std::uint32_t& v) {
        if (bytes_.size() - at_ < 4) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) v |= std::uint32_t(static_cast<unsigned char>(bytes_[at_ + i])) << (8 * i);
        at_ += 4;
        return true;
    }
    bool str(std::string_view& s) {
        std::uint64_t n = 0;
        if (!u64(n) || bytes_.size() - at_ < n) return false;
        s = bytes_.substr(at_, n);
        at_ += n;
        return true;
    }
    bool at_end() const noexcept { return at_ == bytes_.size(); }

private:
    std::string_view bytes_;
    std::size_t at_ = 0;
};

/** Read and verify a file written by `index_file_writer` for `spec`.

    @returns `errc::not_found` (missing), `errc::internal_error` (unreadable, not
    such a file, torn or corrupt), `errc::invalid_request` (another format or spec).
*/
inline result<std::vector<read_user>> read_index_file(std::filesystem::path const& file, std::string_view spec) {
    std::string const name = "index file '" + file.string() + "'";
    std::error_code ec;
    bool const exists = std::filesystem::exists(file, ec);
    if (ec) return make_error(errc::internal_error, name + " cannot be examined: " + ec.message());
    if (!exists) return make_error(errc::not_found, name + " does not exist");
    std::ifstream in(file, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.good() && !in.eof()) return make_error(errc::internal_error, name + " cannot be read");
    if (!bytes.starts_with(index_file_magic))
        return make_error(errc::internal_error, name + " is not a persona FAISS index file");
    if (bytes.size() < index_file_magic.size() + 4 + 8 + 8 + 8)
        return make_error(errc::internal_error, name + " is truncated");
    std::string_view const body(bytes.data(), bytes.size() - 8);
    index_file_cursor trailer(std::string_view(bytes).substr(body.size()));
    std::uint64_t checksum = 0;
    trailer.u64(checksum);
    if (text::fnv1a_64(body) != checksum)
        return make_error(errc::internal_error, name + " is corrupt or truncated (checksum mismatch)");

    auto const corrupt = [&] { return make_error(errc::internal_error, name + " is malformed"); };
    index_file_cursor in_body(body.substr(index_file_magic.size()));
    std::uint32_t format = 0;
    std::string_view saved_spec;
    std::uint64_t users = 0;
    if (!in_body.u32(format)) return corrupt();
    if (format != index_file_format)
        return make_error(errc::invalid_request,
                          name + " has format " + std::to_string(format) + "; this persona reads format " +
                              std::to_string(index_file_format));
    if (!in_body.str(saved_spec) || !in_body.u64(users)) return corrupt();
    if (saved_spec != spec)
        return make_error(errc::invalid_request, name + " was written for index spec '" + std::string(saved_spec) +
                                                     "', not '" + std::string(spec) + "'");
    std::vector<read_user> out;
    for (std::uint64_t u = 0; u < users; ++u) {
        read_user r;
        std::string_view workspace, user_id, blob;
        std::uint64_t dimension = 0, n = 0;
        if (!in_body.str(workspace) || !in_body.str(user_id) || !in_body.u64(dimension) || !in_body.u64(n))
            return corrupt();
        if (n > body.size() / 16) return corrupt(); // each entry takes at least 16 bytes
        r.user = {std::string(workspace), std::string(user_id)};
        r.saved.dimension = dimension;
        r.saved.chunk_ids.reserve(n);
        r.saved.vector_hashes.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            std::string_view id;
            std::uint64_t hash = 0;
            if (!in_body.str(id) || !in_body.u64(hash)) return corrupt();
            r.saved.chunk_ids.emplace_back(id);
            r.saved.vector_hashes.push_back(hash);
        }
        if (!in_body.str(blob)) return corrupt();
        r.blob.assign(blob.begin(), blob.end());
        out.push_back(std::move(r));
    }
    if (!in_body.at_end()) return corrupt();
    return out;
}

} // namespace persona::detail

#endif
