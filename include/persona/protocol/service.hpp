#ifndef PERSONA_PROTOCOL_SERVICE_HPP
#define PERSONA_PROTOCOL_SERVICE_HPP

/// @file
/// `service<Api>`: the whole wire protocol of API.md as one function from request to
/// response — routing, authentication, scopes, workspaces, rate limits, validation,
/// error mapping, metrics and the request log. The Beast server and the in-process
/// `loopback_transport` both call it, so the protocol is written and tested once.

#include <persona/concepts.hpp>
#include <persona/json.hpp>
#include <persona/protocol/keys.hpp>
#include <persona/protocol/metrics.hpp>
#include <persona/protocol/pii.hpp>
#include <persona/protocol/rate_limiter.hpp>
#include <persona/protocol/response.hpp>
#include <persona/query_string.hpp>

#include <boost/json/monotonic_resource.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace persona::protocol {

/** How a `service` behaves beyond API.md's fixed rules. */
struct service_options {
    /// Requests per key and minute; 0 turns rate limiting off.
    std::uint64_t rate_limit_per_minute = 0;
    /// Receives one line per request (method, path, status, latency, workspace; never
    /// the key or the body). Empty: no log.
    std::function<void(std::string_view)> log;
    /// Reject ingests whose text contains PII (`find_pii`) with 400 `PII_DETECTED`.
    bool reject_pii = false;
    /// The time source of the rate limiter and the log (tests fix it).
    std::function<timestamp()> clock = &persona::now;
};

/** Serves API.md over any model of `personalization_api`.

    `handle(request, connection)` answers one HTTP request. Routing and status codes
    follow API.md: unknown path 404 `NOT_FOUND`, known path with another method 405
    `METHOD_NOT_ALLOWED` (with `Allow`), no or unknown key 401, scope violation 403,
    over quota 429 with `Retry-After`, bad input 400 with `details.field`. A key's
    workspace is written into every request, so no request reaches another
    workspace's users: another workspace's user is a plain 404.

    `GET /healthz` needs no key; `GET /metrics` needs an admin key or a loopback peer.
    When `Api` has `export_user` and `import_user` (an `engine`, a `remote_api`), the
    persona extension `GET /export?user_id=…` (an `application/x-ndjson` body) and
    `POST /import[?user_id=…]` is served too, to admin keys; for other APIs those paths
    are unknown (404).

    @par Thread safety
    Distinct objects: safe. Shared objects: `handle` is safe to call concurrently
    when `Api`'s operations are (an `engine` is; a `remote_api` is not).
*/
template <personalization_api Api>
class service {
public:
    /// Serve `api` (kept by reference; it must outlive the service) to holders of `keys`.
    /// @throws std::invalid_argument when `Api` speaks for a single workspace (such as a
    /// `remote_api`: a proxy) and `keys` belong to more than one, which would mix tenants.
    service(Api& api, key_store keys, service_options o = {})
        : api_(&api), keys_(std::move(keys)), options_(std::move(o)), limiter_(options_.rate_limit_per_minute, options_.clock) {
        if constexpr (requires { Api::single_workspace; }) {
            if (Api::single_workspace)
                for (auto const& e : keys_.entries())
                    if (e.who.workspace != keys_.entries().front().who.workspace)
                        throw std::invalid_argument("this API forwards every request under one key: serve it to keys of "
                                                    "one workspace only, or tenants would see each other's users");
        }
    }

    /// Same as `handle`.
    http_response operator()(http_request const& req, connection_info const& conn) { return handle(req, conn); }

    /** Answer one request. Never throws for bad input; every failure is an error response. */
    http_response handle(http_request const& req, connection_info const& conn) {
        auto const start = std::chrono::steady_clock::now();
        std::string workspace = "-";
        std::string_view const path = path_of(req.target);
        std::string_view endpoint = "other";
        http_response resp = route(req, conn, path, endpoint, workspace);
        double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        metrics_.record(endpoint, resp.status, seconds);
        if (options_.log) {
            char buf[96];
            std::snprintf(buf, sizeof buf, " %d %.3fms workspace=", resp.status, seconds * 1000);
            std::string line = format_timestamp(options_.clock()) + ' ' + req.method + ' ' +
                               std::string(path.substr(0, 256)) + buf + workspace;
            options_.log(line);
        }
        return resp;
    }

    /// The counters behind `GET /metrics`.
    metrics const& get_metrics() const noexcept { return metrics_; }
    /// The keys this service accepts.
    key_store const& get_keys() const noexcept { return keys_; }
    /// The served API.
    Api& get_api() noexcept { return *api_; }

private:
    static std::string_view path_of(std::string_view target) {
        auto const q = target.find('?');
        return q == std::string_view::npos ? target : target.substr(0, q);
    }

    static std::string_view query_of(std::string_view target) {
        auto const q = target.find('?');
        return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    }

    static http_response method_not_allowed(http_request const& req, std::string_view allow) {
        auto r = error_response(make_error(errc::method_not_allowed,
                                           req.method + " is not allowed here; use " + std::string(allow),
                                           boost::json::object{{"allow", allow}}));
        r.fields.push_back({"Allow", std::string(allow)});
        return r;
    }

    http_response route(http_request const& req, connection_info const& conn, std::string_view path,
                        std::string_view& endpoint, std::string& workspace) {
        std::string_view const m = req.method;
        if (path == "/healthz") {
            endpoint = "/healthz";
            if (m != "GET") return method_not_allowed(req, "GET");
            return json_response(200, boost::json::object{{"status", "ok"}});
        }
        if (path == "/metrics") {
            endpoint = "/metrics";
            if (m != "GET") return method_not_allowed(req, "GET");
            if (!conn.remote_is_loopback) {
                auto who = authenticate(req);
                if (!who) return error_response(who.error());
                workspace = who->workspace;
                if (!allows(who->scope, scope::admin)) return error_response(forbidden(who->scope, scope::admin));
            }
            return metrics_response(conn.remote_is_loopback);
        }
        // The API's endpoints: (path, allowed methods, scope).
        struct route_entry {
            std::string_view path;
            std::string_view allow;
        };
        static constexpr route_entry routes[] = {{"/register", "PUT, POST"}, {"/ingest", "POST"}, {"/query", "POST"},
                                                 {"/summary", "GET"},        {"/chunks", "POST"}, {"/delete", "POST"}};
        std::string_view ticket;
        std::string_view allow;
        for (auto const& r : routes)
            if (path == r.path) {
                endpoint = r.path;
                allow = r.allow;
            }
        if (allow.empty() && path.starts_with("/delete/") && path.size() > 8 &&
            path.find('/', 8) == std::string_view::npos) {
            endpoint = "/delete/{ticket_id}";
            allow = "GET";
            ticket = path.substr(8);
        }
        // persona's extension: only for an API that has it; for others, an unknown path.
        if constexpr (has_export_import) {
            if (path == "/export") {
                endpoint = "/export";
                allow = "GET";
            } else if (path == "/import") {
                endpoint = "/import";
                allow = "POST";
            }
        }
        if (allow.empty())
            return error_response(make_error(errc::not_found, "no endpoint " + std::string(path.substr(0, 200)),
                                             boost::json::object{{"path", path.substr(0, 200)}}));
        if (allow.find(m) == std::string_view::npos || m.empty() || (m != "GET" && m != "PUT" && m != "POST"))
            return method_not_allowed(req, allow);

        // A whole user's data goes out through /export and in through /import: admin, like /delete.
        scope const need = endpoint == "/register" || endpoint == "/ingest" ? scope::write
                           : endpoint.starts_with("/delete") || endpoint == "/export" || endpoint == "/import"
                               ? scope::admin
                               : scope::read;
        auto who = authenticate(req);
        if (!who) return error_response(who.error());
        workspace = who->workspace;

        // The quota comes before the scope check, so that every answer to a known key —
        // a 403 included — carries the X-RateLimit-* headers API.md promises.
        std::optional<rate_decision> quota;
        if (limiter_.enabled()) {
            quota = limiter_.check(who->key_id);
            if (!quota->allowed) {
                auto r = error_response(make_error(errc::rate_limited,
                                                   "over the key's quota of " + std::to_string(quota->limit) +
                                                       " requests per minute",
                                                   boost::json::object{{"retry_after", quota->retry_after}}));
                r.fields.push_back({"Retry-After", std::to_string(quota->retry_after)});
                add_quota_headers(r, *quota);
                return r;
            }
        }
        http_response resp = allows(who->scope, need) ? dispatch(req, endpoint, ticket, who->workspace)
                                                      : error_response(forbidden(who->scope, need));
        if (quota) add_quota_headers(resp, *quota);
        return resp;
    }

    static void add_quota_headers(http_response& r, rate_decision const& q) {
        r.fields.push_back({"X-RateLimit-Limit", std::to_string(q.limit)});
        r.fields.push_back({"X-RateLimit-Remaining", std::to_string(q.remaining)});
        r.fields.push_back({"X-RateLimit-Reset", format_timestamp(q.reset)});
    }

    result<principal> authenticate(http_request const& req) const {
        auto const key = extract_api_key(req);
        if (!key) return make_error(errc::unauthorized, "an API key is required (Authorization: x-api-key: <key>)");
        auto who = keys_.authenticate(*key);
        if (!who) return make_error(errc::unauthorized, "unknown API key");
        return *who;
    }

    static error forbidden(scope have, scope need) {
        return make_error(errc::forbidden,
                          "a " + std::string(to_string(have)) + " key cannot call this endpoint; it needs " +
                              std::string(to_string(need)),
                          boost::json::object{{"scope", to_string(have)}, {"required", to_string(need)}});
    }

    /// Parse the body as `Request`, stamp the workspace, call the API, serialise the answer.
    template <class Request, class Call>
    http_response call(http_request const& req, std::string const& workspace, Call&& op) {
        // The parsed value lives only until it is read into `Request`: its memory comes
        // from the stack, and from the heap only for a body too large for it.
        alignas(std::max_align_t) unsigned char scratch[4096];
        boost::json::monotonic_resource memory(scratch, sizeof scratch);
        auto body = parse_json(req.body, 64, &memory);
        if (!body) return error_response(body.error());
        auto parsed = from_json<Request>(*body);
        if (!parsed) return error_response(parsed.error());
        parsed->workspace = workspace;
        return respond(op(*parsed));
    }

    http_response fail(error const& e) {
        if (e.code == errc::internal_error) {
            // API.md: a 500 never leaks internals. The operator's log gets the cause.
            if (options_.log) options_.log("internal error: " + e.message);
            return error_response(make_error(errc::internal_error, "internal error"));
        }
        return error_response(e);
    }

    template <class T>
    http_response respond(result<T> const& r) {
        if (!r) return fail(r.error());
        return json_text_response(200, persona::serialize(*r));
    }

    http_response dispatch(http_request const& req, std::string_view endpoint, std::string_view ticket,
                           std::string const& workspace) {
        Api& api = *api_;
        if (endpoint == "/register")
            return call<register_request>(req, workspace, [&](register_request const& r) -> result<register_response> {
                if (req.method == "PUT" && r.user_id.empty())
                    return invalid_field("user_id", "PUT /register needs user_id; POST registers by email");
                return api.register_user(r);
            });
        if (endpoint == "/ingest")
            return call<ingest_request>(req, workspace, [&](ingest_request const& r) -> result<ingest_response> {
                if (options_.reject_pii)
                    if (auto e = screen(r)) return *e;
                return api.ingest(r);
            });
        if (endpoint == "/query")
            return call<query_request>(req, workspace, [&](query_request const& r) { return api.query(r); });
        if (endpoint == "/chunks")
            return call<chunks_request>(req, workspace, [&](chunks_request const& r) { return api.chunks(r); });
        if (endpoint == "/delete")
            return call<delete_request>(req, workspace, [&](delete_request const& r) { return api.delete_user(r); });
        if (endpoint == "/summary") {
            auto r = summary_request_from_query(query_of(req.target));
            if (!r) return error_response(r.error());
            r->workspace = workspace;
            return respond(api.summary(*r));
        }
        if constexpr (has_export_import) {
            if (endpoint == "/export") return serve_export(req, workspace);
            if (endpoint == "/import") return serve_import(req, workspace);
        }
        // GET /delete/{ticket_id}
        return respond(api.deletion_status(deletion_status_request{workspace, std::string(ticket)}));
    }

    http_response serve_export(http_request const& req, std::string const& workspace) {
        auto r = export_request_from_query(query_of(req.target));
        if (!r) return error_response(r.error());
        r->workspace = workspace;
        auto x = api_->export_user(*r);
        if (!x) return fail(x.error());
        http_response out;
        out.status = 200;
        out.fields.push_back({"Content-Type", "application/x-ndjson"});
        out.body = to_ndjson(*x);
        return out;
    }

    http_response serve_import(http_request const& req, std::string const& workspace) {
        auto r = import_request_from_query(query_of(req.target));
        if (!r) return error_response(r.error());
        auto data = user_export_from_ndjson(req.body);
        if (!data) return error_response(data.error());
        r->data = std::move(*data);
        r->workspace = workspace;
        // An import must not carry in what an ingest would have been refused.
        if (options_.reject_pii)
            if (auto e = screen(r->data)) return error_response(*e);
        return respond(api_->import_user(*r));
    }

    /// The first PII found in an ingest's text, as a `PII_DETECTED` error naming where.
    static std::optional<error> screen(ingest_request const& r) {
        auto const hit = [](std::string_view array, std::size_t i, std::string_view field,
                            std::string_view text) -> std::optional<error> {
            auto const kind = find_pii(text);
            if (!kind) return std::nullopt;
            std::string const where = std::string(array) + "[" + std::to_string(i) + "]." + std::string(field);
            return make_error(errc::pii_detected, "the " + std::string(*kind) + " in " + where + " is not accepted",
                              boost::json::object{{"field", where}, {"index", i}, {"kind", *kind}});
        };
        for (std::size_t i = 0; i < r.events.size(); ++i)
            if (auto e = hit("events", i, "content", r.events[i].content)) return e;
        for (std::size_t i = 0; i < r.documents.size(); ++i) {
            if (auto e = hit("documents", i, "content", r.documents[i].content)) return e;
            if (auto e = hit("documents", i, "title", r.documents[i].title)) return e;
        }
        for (std::size_t i = 0; i < r.message_history.size(); ++i)
            if (auto e = hit("message_history", i, "content", r.message_history[i].content)) return e;
        return std::nullopt;
    }

    /// The first PII found in an import's items, as a `PII_DETECTED` error naming its line.
    static std::optional<error> screen(user_export const& x) {
        auto const hit = [](std::size_t line, std::string_view field, std::string_view text) -> std::optional<error> {
            auto const kind = find_pii(text);
            if (!kind) return std::nullopt;
            auto e = make_error(errc::pii_detected,
                                "the " + std::string(*kind) + " in " + std::string(field) + " is not accepted",
                                boost::json::object{{"field", field}, {"kind", *kind}});
            return detail::at_line(std::move(e), line);
        };
        for (std::size_t i = 0; i < x.items.size(); ++i) {
            if (auto e = hit(i + 2, "content", x.items[i].content)) return e;
            if (x.items[i].kind == item_kind::document)
                if (auto e = hit(i + 2, "title", x.items[i].title)) return e;
        }
        return std::nullopt;
    }

    http_response metrics_response(bool operator_view) {
        long long users = -1, chunks = -1;
        // The gauges count every tenant: only the operator (on this machine) sees them,
        // not an admin key of one workspace.
        if constexpr (requires(Api& a) { a.get_statistics(); }) {
            if (operator_view) {
                auto const s = api_->get_statistics();
                users = static_cast<long long>(s.users);
                chunks = static_cast<long long>(s.chunks);
            }
        }
        http_response r;
        r.status = 200;
        r.fields.push_back({"Content-Type", "text/plain; version=0.0.4; charset=utf-8"});
        r.body = metrics_.render(users, chunks);
        return r;
    }

    // Whether `Api` has persona's export and import (an extension, not part of the concept).
    static constexpr bool has_export_import = requires(Api& a, export_request const& e, import_request const& i) {
        { a.export_user(e) } -> std::same_as<result<user_export>>;
        { a.import_user(i) } -> std::same_as<result<import_response>>;
    };

    Api* api_;
    key_store keys_;
    service_options options_;
    rate_limiter limiter_;
    metrics metrics_;
};

} // namespace persona::protocol

#endif
