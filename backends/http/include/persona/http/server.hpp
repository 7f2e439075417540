#ifndef PERSONA_HTTP_SERVER_HPP
#define PERSONA_HTTP_SERVER_HPP

/// @file
/// `http::server<Api>`: any `personalization_api` served over HTTP — the protocol of
/// `protocol::service` on the sockets of `basic_server`.

#include <persona/concepts.hpp>
#include <persona/http/basic_server.hpp>
#include <persona/protocol/service.hpp>

#include <utility>

namespace persona::http {

/** Serves a model of `personalization_api` (an engine, or a `remote_api` as a proxy) over HTTP.

    Everything about the wire (routing, keys, scopes, workspaces, quotas, errors,
    metrics, the request log) is `protocol::service`; everything about sockets
    (keep-alive, limits, timeouts, graceful stop) is `basic_server`.

    @code
    persona::basic_engine engine;
    persona::protocol::key_store keys = persona::protocol::key_store::load("keys.txt").value();
    persona::http::server<persona::basic_engine> server(engine, std::move(keys), {.port = 8080, .threads = 4});
    server.start().value();
    server.wait();
    @endcode

    @par Thread safety
    Distinct objects: safe. Shared objects: `stop` may be called from any thread; the
    API is called from `server_options::threads` threads at once, so it must be safe
    for that (an `engine` is).
*/
template <personalization_api Api>
class server {
public:
    /// Serve `api` (kept by reference) to holders of `keys`.
    server(Api& api, protocol::key_store keys, server_options so = {}, protocol::service_options po = {})
        : service_(api, std::move(keys), std::move(po)), sockets_(handler{&service_}, std::move(so)) {}

    /// Bind, listen and start the I/O threads; `errc::unavailable` when binding fails.
    [[nodiscard]] result<void> start() { return sockets_.start(); }
    /// Stop accepting, finish the requests in flight, close connections, join the threads.
    void stop() { sockets_.stop(); }
    /// Block until the server has stopped.
    void wait() { sockets_.wait(); }
    /// The bound port (the real one after binding to port 0).
    unsigned short port() const noexcept { return sockets_.port(); }
    /// The protocol layer, for its metrics and keys.
    protocol::service<Api>& get_service() noexcept { return service_; }

private:
    struct handler {
        protocol::service<Api>* service;
        http_response operator()(http_request const& req, protocol::connection_info const& conn) const {
            return service->handle(req, conn);
        }
    };

    protocol::service<Api> service_;
    basic_server<handler> sockets_;
};

} // namespace persona::http

#endif
