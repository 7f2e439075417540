#ifndef PERSONA_OPENAI_EMBEDDER_HPP
#define PERSONA_OPENAI_EMBEDDER_HPP

/// @file
/// `openai_embedder<Transport>`: text vectors from an OpenAI-compatible `/v1/embeddings`
/// endpoint (OpenAI, or a local llama.cpp, vLLM or Ollama server) over any `transport`.

#include <persona/concepts.hpp>
#include <persona/detail/openai_wire.hpp>
#include <persona/json.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace persona {

/** Embeds text with an OpenAI-compatible embeddings service. Models `embedder`.

    Each call sends `POST <path>` (default `/v1/embeddings`) with
    `{"model": ..., "input": [texts...]}` (and `"dimensions"` when
    `options::send_dimensions` is set), `Authorization: Bearer <api_key>` unless the
    key is empty, and reads `{"data": [{"embedding": [...], "index": i}, ...]}`, placing
    each row by its `index` (a missing `index` everywhere means array order). Inputs
    above `options::batch_size` are split into several requests. Every row is scaled to
    unit length, as the concept requires (OpenAI's rows already are; many local models'
    are not). A blank text gets a row of zeros without being sent: services reject empty
    input, and a text with no features is the concept's zero row.

    The `embedder` concept needs a constant `dimension()`, so it is fixed before the
    first `embed`: give `options::dimension`, or let `make` ask the service once (one
    request embedding a probe word) when it is 0. A response whose rows have another
    length is an error, never silently stored.

    Determinism (the same text gives the same row, alone or in a batch) is the
    service's: OpenAI and CPU inference servers give identical rows in practice; a GPU
    server batching requests may differ in the last bits.

    @par Errors
    `errc::invalid_request`: `out` is smaller than `texts.size() * dimension()`.
    `errc::unavailable` (safe to retry): the service cannot be reached or timed out
    (the transport's timeout), or answered 408, 409, 429 or 5xx.
    `errc::internal_error` (the deployment is misconfigured): 401/403 (the key), any
    other 4xx (e.g. an unknown model), 429 `insufficient_quota`, a body that is not the
    documented JSON, rows of the wrong length or count. Messages name the service, the
    HTTP status and the service's own error message.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe. A transport serves one request at a
    time, so each `embed` borrows one of the object's transports for each request and
    others wait for a free one: give the constructor several transports (a pool) for
    requests in parallel.

    @tparam Transport a model of `transport`, e.g. `persona::http::beast_transport`.
*/
template <transport Transport>
class openai_embedder {
public:
    /// Where and how to ask for embeddings.
    struct options {
        std::string model = "text-embedding-3-small"; ///< the `model` member of each request
        std::string path = "/v1/embeddings";          ///< request target, below the transport's base URL
        std::string api_key;                          ///< sent as `Authorization: Bearer <key>`; empty: not sent
        std::size_t dimension = 0;                    ///< floats per row; 0: `make` asks the service
        std::size_t batch_size = 128;                 ///< most texts per request (OpenAI allows 2048)
        bool send_dimensions = false;                 ///< send `"dimensions": dimension` (text-embedding-3 shortening)
        std::vector<http_field> extra_fields;         ///< more header fields, e.g. `OpenAI-Organization`
    };

    /** Embed over `t` with `o`; sends nothing.

        @throws std::invalid_argument when `o.dimension` or `o.batch_size` is 0, or
        `o.model` is empty (use `make` to learn the dimension from the service).
    */
    openai_embedder(Transport t, options o) : openai_embedder(one(std::move(t)), std::move(o)) {}

    /** Embed over a pool of transports (one request in flight per transport) with `o`.

        @throws std::invalid_argument as the other constructor, or when `pool` is empty.
    */
    openai_embedder(std::vector<Transport> pool, options o) : options_(std::move(o)), pool_(std::move(pool)) {
        if (options_.dimension == 0)
            throw std::invalid_argument("openai_embedder: options::dimension must be set (or use make)");
        if (options_.batch_size == 0) throw std::invalid_argument("openai_embedder: options::batch_size must be at least 1");
        if (options_.model.empty()) throw std::invalid_argument("openai_embedder: options::model must be set");
    }

    /** Make an embedder, asking the service for the dimension when `o.dimension` is 0.

        @returns the embedder, or the error of the probe request (see the class's
        errors), or `errc::invalid_request` for options the constructor would reject.
    */
    [[nodiscard]] static result<openai_embedder> make(Transport t, options o) {
        return make(one(std::move(t)), std::move(o));
    }

    /// As `make(Transport, options)`, over a pool of transports.
    [[nodiscard]] static result<openai_embedder> make(std::vector<Transport> pool, options o) {
        if (pool.empty()) return make_error(errc::invalid_request, "openai_embedder: no transport given");
        if (o.batch_size == 0) return make_error(errc::invalid_request, "openai_embedder: options::batch_size must be at least 1");
        if (o.model.empty()) return make_error(errc::invalid_request, "openai_embedder: options::model must be set");
        if (o.dimension != 0) return openai_embedder(std::move(pool), std::move(o));
        // A zero dimension is never stored: the probe's answer replaces it before construction.
        detail::transport_pool<Transport> probe_pool(std::move(pool));
        std::string_view const probe[] = {"persona"};
        auto rows = request(probe_pool, o, probe, 0);
        if (!rows) return rows.error();
        if ((*rows)[0].empty())
            return make_error(errc::internal_error, "the embedding service returned an empty embedding");
        o.dimension = (*rows)[0].size();
        return openai_embedder(std::move(probe_pool), std::move(o));
    }

    /// Return the number of floats in every row.
    std::size_t dimension() const noexcept { return options_.dimension; }

    /// The options (with the dimension learnt by `make`).
    options const& get_options() const noexcept { return options_; }

    /** Embed `texts` into `out`, row `i` for `texts[i]`, each of unit length or zero.

        @param out at least `texts.size() * dimension()` floats; only that prefix is written.
        @returns nothing, or an error as the class documents; on an error `out` may be
        partly written.
        @par Complexity
        One request per `batch_size` non-blank texts.
    */
    [[nodiscard]] result<void> embed(std::span<std::string_view const> texts, std::span<float> out) const {
        std::size_t const dim = options_.dimension;
        if (out.size() < texts.size() * dim) return make_error(errc::invalid_request, "embedding buffer too small");
        std::vector<std::size_t> sent; // indexes of the texts that go to the service
        for (std::size_t i = 0; i < texts.size(); ++i) {
            if (texts[i].find_first_not_of(" \t\r\n\f\v") == std::string_view::npos)
                std::ranges::fill(out.subspan(i * dim, dim), 0.0f);
            else
                sent.push_back(i);
        }
        std::vector<std::string_view> batch;
        for (std::size_t begin = 0; begin < sent.size(); begin += options_.batch_size) {
            std::size_t const end = std::min(sent.size(), begin + options_.batch_size);
            batch.clear();
            for (std::size_t k = begin; k < end; ++k) batch.push_back(texts[sent[k]]);
            auto rows = request(pool_, options_, batch, dim);
            if (!rows) return rows.error();
            for (std::size_t k = begin; k < end; ++k)
                std::ranges::copy((*rows)[k - begin], out.begin() + static_cast<std::ptrdiff_t>(sent[k] * dim));
        }
        return {};
    }

private:
    static constexpr std::string_view service = "the embedding service";

    openai_embedder(detail::transport_pool<Transport> pool, options o) : options_(std::move(o)), pool_(std::move(pool)) {}

    static std::vector<Transport> one(Transport t) {
        std::vector<Transport> v;
        v.push_back(std::move(t));
        return v;
    }

    static error malformed(std::string what) {
        return make_error(errc::internal_error, std::string(service) + " sent an unexpected response: " + std::move(what));
    }

    /// One request for `texts`; the unit rows in input order. `dim` 0 accepts any (equal) length.
    static result<std::vector<std::vector<float>>> request(detail::transport_pool<Transport> const& pool,
                                                           options const& o, std::span<std::string_view const> texts,
                                                           std::size_t dim) {
        boost::json::object body;
        body["model"] = o.model;
        boost::json::array input;
        for (auto t : texts) input.emplace_back(t);
        body["input"] = std::move(input);
        if (o.send_dimensions && o.dimension != 0) body["dimensions"] = o.dimension;
        auto const req = detail::openai_post({service, o.path, o.api_key, o.extra_fields}, persona::serialize(body));
        result<boost::json::value> reply = detail::call_service(pool, service, req);
        if (!reply) return reply.error();

        auto const* root = reply->if_object();
        auto const* data = root ? root->if_contains("data") : nullptr;
        if (!data || !data->is_array()) return malformed("no \"data\" array");
        auto const& items = data->get_array();
        if (items.size() != texts.size())
            return malformed(std::to_string(items.size()) + " embeddings for " + std::to_string(texts.size()) + " inputs");
        std::vector<std::vector<float>> rows(texts.size());
        std::vector<bool> seen(texts.size(), false);
        // Rows are placed by `index`; a service that sends none at all is read in array order.
        bool const indexed = items.front().is_object() && items.front().get_object().contains("index");
        for (std::size_t k = 0; k < items.size(); ++k) {
            std::string const where = "data[" + std::to_string(k) + "]";
            auto const* item = items[k].if_object();
            if (!item) return malformed(where + " is not an object");
            std::size_t at = k;
            auto const* index = item->if_contains("index");
            if ((index != nullptr) != indexed) return malformed(where + (indexed ? " has no index" : " has an index"));
            if (index) {
                boost::system::error_code ec;
                at = index->to_number<std::size_t>(ec);
                if (ec || at >= texts.size()) return malformed(where + ".index is not an input's index");
            }
            if (seen[at]) return malformed("index " + std::to_string(at) + " appears twice");
            seen[at] = true;
            auto const* emb = item->if_contains("embedding");
            if (!emb || !emb->is_array()) return malformed(where + ".embedding is not an array of numbers");
            auto const& values = emb->get_array();
            if (dim != 0 && values.size() != dim)
                return make_error(errc::internal_error,
                                  std::string(service) + " returned embeddings of " + std::to_string(values.size()) +
                                      " dimensions; expected " + std::to_string(dim) +
                                      " (options::dimension must match the model)");
            std::vector<double> v;
            v.reserve(values.size());
            for (auto const& x : values) {
                boost::system::error_code ec;
                double const d = x.to_number<double>(ec);
                if (ec) return malformed(where + ".embedding holds a non-number");
                v.push_back(d);
            }
            double norm = 0;
            for (double d : v) norm += d * d;
            norm = std::sqrt(norm);
            auto& row = rows[at];
            row.resize(v.size());
            for (std::size_t j = 0; j < v.size(); ++j) row[j] = norm > 0 ? static_cast<float>(v[j] / norm) : 0.0f;
        }
        for (auto const& r : rows)
            if (r.size() != rows[0].size()) return malformed("embeddings of different lengths");
        return rows;
    }

    options options_;
    detail::transport_pool<Transport> pool_;
};

static_assert(embedder<openai_embedder<detail::transport_archetype>>);

} // namespace persona

#endif
