#ifndef PERSONA_LOOPBACK_TRANSPORT_HPP
#define PERSONA_LOOPBACK_TRANSPORT_HPP

/// @file
/// `loopback_transport`: a `transport` that hands requests to an in-process handler,
/// such as a `protocol::service`, without sockets.

#include <persona/concepts.hpp>
#include <persona/protocol/response.hpp>

#include <functional>
#include <utility>

namespace persona {

/** Sends each request to an in-process handler. Models `transport`.

    The handler is any callable `http_response(http_request const&,
    protocol::connection_info const&)` — typically a `protocol::service` — kept by
    reference. Requests look like they come from `127.0.0.1`. Used to test clients and
    the protocol without a network, and to run a `remote_api` against an engine in the
    same process.

    @par Thread safety
    Distinct objects: safe. Shared objects: as safe as the handler.
*/
template <class Handler>
class loopback_transport {
public:
    /// Send to `handler`, which must outlive the transport.
    explicit loopback_transport(Handler& handler) : handler_(&handler) {}

    /// Hand `req` to the handler and return its response; never fails.
    result<http_response> send(http_request const& req) {
        return (*handler_)(req, protocol::connection_info{"127.0.0.1", true});
    }

private:
    Handler* handler_;
};

} // namespace persona

#endif
