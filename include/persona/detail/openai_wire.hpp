#ifndef PERSONA_DETAIL_OPENAI_WIRE_HPP
#define PERSONA_DETAIL_OPENAI_WIRE_HPP

// Not API. What `openai_embedder` and `llm_answerer` share: a pool of transports, the
// request both send (a JSON POST with a Bearer key), and the one mapping of an
// OpenAI-compatible service's failures to persona errors.

#include <persona/concepts.hpp>
#include <persona/error.hpp>
#include <persona/http_message.hpp>
#include <persona/json.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace persona::detail {

/// The least a `transport` must have; the adapters' `static_assert`s use it.
struct transport_archetype {
    result<http_response> send(http_request const&) { return make_error(errc::unavailable, "archetype"); }
};
static_assert(transport<transport_archetype>);

/** Transports lent to one caller at a time. Not API.

    A transport serves one thread at a time; a shared adapter is called from many. Each
    call borrows an idle transport (waiting while all are busy) and gives it back, so
    with n transports up to n requests are in flight. Heap state keeps the owner movable.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (`use` is const and synchronised).
*/
template <transport Transport>
class transport_pool {
public:
    explicit transport_pool(std::vector<Transport> transports) : state_(std::make_unique<state>()) {
        if (transports.empty()) throw std::invalid_argument("persona: a transport pool needs at least one transport");
        state_->all = std::move(transports);
        for (std::size_t i = state_->all.size(); i-- > 0;) state_->idle.push_back(i);
    }

    /// Call `f(Transport&)` with a transport no other thread is using; return what it returns.
    template <class F>
    decltype(auto) use(F&& f) const {
        std::size_t i = 0;
        {
            std::unique_lock lock(state_->mutex);
            state_->cv.wait(lock, [&] { return !state_->idle.empty(); });
            i = state_->idle.back();
            state_->idle.pop_back();
        }
        struct give_back {
            state* s;
            std::size_t i;
            ~give_back() {
                {
                    std::lock_guard lock(s->mutex);
                    s->idle.push_back(i);
                }
                s->cv.notify_one();
            }
        } const guard{state_.get(), i};
        return std::forward<F>(f)(state_->all[i]);
    }

    std::size_t size() const noexcept { return state_->all.size(); }

private:
    struct state {
        std::mutex mutex;
        std::condition_variable cv;
        std::vector<Transport> all; // never resized after construction
        std::vector<std::size_t> idle;
    };
    std::unique_ptr<state> state_;
};

/// Where an adapter sends its requests and how it signs them.
struct openai_endpoint {
    std::string_view service; ///< "the embedding service", "the chat service": starts messages
    std::string_view path;
    std::string_view api_key; ///< empty: no Authorization field (local servers often need none)
    std::vector<http_field> const& extra_fields;
};

inline http_request openai_post(openai_endpoint const& ep, std::string body) {
    http_request req;
    req.method = "POST";
    req.target = std::string(ep.path);
    if (!ep.api_key.empty()) req.fields.push_back({"Authorization", "Bearer " + std::string(ep.api_key)});
    req.fields.push_back({"Content-Type", "application/json"});
    req.fields.push_back({"Accept", "application/json"});
    for (auto const& f : ep.extra_fields) req.fields.push_back(f);
    req.body = std::move(body);
    return req;
}

/// At most `n` bytes of `s`, not cutting a UTF-8 sequence (messages become JSON strings).
inline std::string clip_utf8(std::string_view s, std::size_t n) {
    if (s.size() <= n) return std::string(s);
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n)) + "...";
}

inline std::string json_text(boost::json::value const* v) {
    if (!v || v->is_null()) return {};
    if (v->is_string()) return std::string(v->get_string());
    return persona::serialize(*v);
}

/** Map a non-2xx response of an OpenAI-compatible service to a persona error.

    The body is read in OpenAI's shape, `{"error":{"message","type","code","param"}}`,
    and in the shapes of common local servers (`{"error":"..."}`, FastAPI's
    `{"detail":...}`, `{"message":...}`). The decision is about whose fault it is:
    - 401/403 (a wrong or unauthorised key), other 4xx (an unknown model, a too-long
      prompt), and 429 `insufficient_quota` are the deployment's misconfiguration:
      `errc::internal_error`, not the end user's fault and not cured by retrying (the
      server logs the message and answers a plain 500);
    - 408, 409, 429 and 5xx are transient: `errc::unavailable`, safe to retry.
    The message names the service, the status, OpenAI's `code`/`type` and its message.
*/
inline error service_error(std::string_view service, http_response const& resp) {
    std::string message, type, code;
    boost::system::error_code ec;
    auto const body = boost::json::parse(resp.body, ec);
    if (!ec && body.is_object()) {
        auto const& o = body.get_object();
        if (auto const* e = o.if_contains("error"); e && e->is_object()) {
            auto const& eo = e->get_object();
            message = json_text(eo.if_contains("message"));
            type = json_text(eo.if_contains("type"));
            code = json_text(eo.if_contains("code"));
        } else if (e && e->is_string()) {
            message = std::string(e->get_string());
        } else if (auto const* d = o.if_contains("detail")) {
            message = json_text(d);
        } else if (auto const* m = o.if_contains("message")) {
            message = json_text(m);
        }
    }
    int const status = resp.status;
    bool const no_quota = code == "insufficient_quota" || type == "insufficient_quota";
    bool const transient = status == 408 || status == 409 || (status == 429 && !no_quota) || status >= 500;
    std::string text = std::string(service) + " answered HTTP " + std::to_string(status);
    if (!code.empty() || !type.empty()) text += " (" + (code.empty() ? type : code) + ")";
    text += message.empty() ? std::string(" without an error message") : ": " + clip_utf8(message, 500);
    if (status == 401 || status == 403) text += "; check the API key";
    return make_error(transient ? errc::unavailable : errc::internal_error, std::move(text));
}

/** Send `req` over a transport of `pool` and return the parsed JSON of a 2xx answer.

    A transport failure keeps `errc::unavailable` (timeouts, refused connections); any
    other transport error (a key with a line break, say) is the deployment's:
    `errc::internal_error`. A non-2xx answer maps as `service_error` says; a 2xx whose
    body is not JSON is `errc::internal_error`.
*/
template <class Transport>
result<boost::json::value> call_service(transport_pool<Transport> const& pool, std::string_view service,
                                        http_request const& req) {
    auto resp = pool.use([&](Transport& t) { return t.send(req); });
    if (!resp) {
        errc const code = resp.error().code == errc::unavailable ? errc::unavailable : errc::internal_error;
        return make_error(code, std::string(service) + " cannot be reached: " + resp.error().message);
    }
    if (resp->status < 200 || resp->status > 299) return service_error(service, *resp);
    boost::system::error_code ec;
    auto body = boost::json::parse(resp->body, ec);
    if (ec)
        return make_error(errc::internal_error, std::string(service) + " sent a response that is not JSON (" +
                                                    ec.message() + ")");
    return body;
}

} // namespace persona::detail

#endif
