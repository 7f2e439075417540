#ifndef PERSONA_REMOTE_API_HPP
#define PERSONA_REMOTE_API_HPP

/// @file
/// `remote_api<Transport>`: the Personalization API over HTTP, to a persona server or
/// the hosted service, as a model of `personalization_api`.

#include <persona/concepts.hpp>
#include <persona/json.hpp>
#include <persona/query_string.hpp>

#include <boost/json/serialize.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace persona {

/// How `remote_api` sends its key (API.md accepts all three).
enum class auth_style {
    authorization_x_api_key, ///< `Authorization: x-api-key: <key>`, the docs' form (default)
    bearer,                  ///< `Authorization: Bearer <key>`
    x_api_key,               ///< `x-api-key: <key>`
};

/** Speaks API.md over a transport. Models `personalization_api`.

    Every operation sends exactly the request API.md documents (JSON bodies, the
    summary's query string) and parses the response into the same types the engine
    returns, so code written against an `engine` runs unchanged against a server.
    Error bodies in both shapes (`{"code",...}` and `{"error":{...}}`) map back to
    `persona::errc`; a response without a parsable error body maps its HTTP status;
    a transport failure is `errc::unavailable`. The `workspace` member of requests is
    ignored: the key decides on the server, so one `remote_api` speaks for exactly one
    workspace (`protocol::service` refuses to serve it to keys of several workspaces).
    Beyond the concept, `export_user` and `import_user` speak persona's extension
    (`GET /export`, `POST /import`), so a user moves between servers as between engines.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe; calls are serialised over the one
    transport (give each thread its own object for parallel requests).
*/
template <transport Transport>
class remote_api {
public:
    /// A remote_api forwards every request under its one key: it cannot keep workspaces apart.
    static constexpr bool single_workspace = true;

    /// Send requests over `t` with `api_key`, in `style`.
    remote_api(Transport t, std::string api_key, auth_style style = auth_style::authorization_x_api_key)
        : transport_(std::move(t)), key_(std::move(api_key)), style_(style) {}

    /// The transport.
    Transport& get_transport() noexcept { return transport_; }

    /// `PUT /register`, or `POST /register` when only `email` is given.
    [[nodiscard]] result<register_response> register_user(register_request const& r) {
        return exchange<register_response>(r.user_id.empty() && r.email ? "POST" : "PUT", "/register", to_json(r));
    }
    /// `POST /ingest`.
    [[nodiscard]] result<ingest_response> ingest(ingest_request const& r) {
        return exchange<ingest_response>("POST", "/ingest", to_json(r));
    }
    /// `POST /query`.
    [[nodiscard]] result<query_response> query(query_request const& r) {
        return exchange<query_response>("POST", "/query", to_json(r));
    }
    /// `GET /summary?...`.
    [[nodiscard]] result<summary_response> summary(summary_request const& r) {
        return exchange<summary_response>("GET", "/summary?" + to_query_string(r), nullptr);
    }
    /// `POST /chunks`.
    [[nodiscard]] result<chunks_response> chunks(chunks_request const& r) {
        return exchange<chunks_response>("POST", "/chunks", to_json(r));
    }
    /// `POST /delete`.
    [[nodiscard]] result<delete_response> delete_user(delete_request const& r) {
        return exchange<delete_response>("POST", "/delete", to_json(r));
    }
    /// `GET /delete/{ticket_id}`.
    [[nodiscard]] result<delete_response> deletion_status(deletion_status_request const& r) {
        if (r.ticket_id.empty() || r.ticket_id.find_first_of("/?#% ") != std::string::npos)
            return invalid_field("ticket_id", "not a ticket id");
        return exchange<delete_response>("GET", "/delete/" + r.ticket_id, nullptr);
    }

    /** `GET /export?user_id=…` (persona extension): the user's profile and items.

        Together with `import_user` — of this or another server, or of an `engine` —
        this moves a user between deployments with the same code. A server without the
        extension (such as the hosted API) answers `errc::not_found`.
    */
    [[nodiscard]] result<user_export> export_user(export_request const& r) {
        auto resp = send("GET", "/export?" + to_query_string(r), {}, {}, "application/x-ndjson");
        if (!resp) return resp.error();
        auto out = user_export_from_ndjson(resp->body);
        if (!out) return make_error(errc::internal_error, "unexpected response: " + out.error().message);
        return out;
    }
    /// `POST /import[?user_id=…]` (persona extension), the export as an `application/x-ndjson` body.
    [[nodiscard]] result<import_response> import_user(import_request const& r) {
        std::string const query = to_query_string(r);
        auto resp = send("POST", query.empty() ? "/import" : "/import?" + query, "application/x-ndjson",
                         to_ndjson(r.data), "application/json");
        if (!resp) return resp.error();
        return parse_response<import_response>(*resp);
    }

private:
    template <class Response>
    result<Response> exchange(std::string method, std::string target, boost::json::value const& body) {
        auto resp = body.is_null() ? send(std::move(method), std::move(target), {}, {}, "application/json")
                                   : send(std::move(method), std::move(target), "application/json",
                                          persona::serialize(body), "application/json");
        if (!resp) return resp.error();
        return parse_response<Response>(*resp);
    }

    template <class Response>
    static result<Response> parse_response(http_response const& resp) {
        auto parsed = parse_json(resp.body);
        if (!parsed) return make_error(errc::internal_error, "the server's response is not JSON");
        auto out = from_json<Response>(*parsed);
        if (!out) return make_error(errc::internal_error, "unexpected response: " + out.error().message);
        return out;
    }

    /// Send one request; a 2xx response comes back, anything else as its error.
    result<http_response> send(std::string method, std::string target, std::string_view content_type,
                               std::string body, std::string_view accept) {
        http_request req;
        req.method = std::move(method);
        req.target = std::move(target);
        switch (style_) {
        case auth_style::authorization_x_api_key: req.fields.push_back({"Authorization", "x-api-key: " + key_}); break;
        case auth_style::bearer: req.fields.push_back({"Authorization", "Bearer " + key_}); break;
        case auth_style::x_api_key: req.fields.push_back({"x-api-key", key_}); break;
        }
        req.fields.push_back({"Accept", std::string(accept)});
        if (!content_type.empty()) {
            req.fields.push_back({"Content-Type", std::string(content_type)});
            req.body = std::move(body);
        }
        auto resp = [&] {
            std::lock_guard g(*send_mutex_);
            return transport_.send(req);
        }();
        if (!resp) return resp.error();
        if (resp->status < 200 || resp->status > 299) {
            if (auto parsed = parse_json(resp->body); parsed && parsed->is_object()) {
                error e = error_from_json(*parsed);
                if (!e.message.empty()) return e;
            }
            return make_error(status_errc(resp->status),
                              "HTTP " + std::to_string(resp->status) + " without an error body");
        }
        return resp;
    }

    static errc status_errc(int status) {
        switch (status) {
        case 400: return errc::invalid_request;
        case 401: return errc::unauthorized;
        case 403: return errc::forbidden;
        case 404: return errc::not_found;
        case 405: return errc::method_not_allowed;
        case 413: return errc::payload_too_large;
        case 429: return errc::rate_limited;
        case 502:
        case 503:
        case 504: return errc::unavailable;
        default: return errc::internal_error;
        }
    }

    Transport transport_;
    std::string key_;
    auth_style style_;
    std::unique_ptr<std::mutex> send_mutex_ = std::make_unique<std::mutex>(); // a pointer keeps the class movable
};

} // namespace persona

#endif
