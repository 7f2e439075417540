#ifndef PERSONA_HTTP_BEAST_TRANSPORT_HPP
#define PERSONA_HTTP_BEAST_TRANSPORT_HPP

/// @file
/// `beast_transport`: a synchronous HTTP/1.1 client (plain or TLS via OpenSSL) on
/// Boost.Beast that models `persona::transport`.

#include <persona/concepts.hpp>
#include <persona/error.hpp>
#include <persona/http_message.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace persona::http {

/** Timeouts, TLS settings and limits of a `beast_transport`. */
struct transport_options {
    std::chrono::milliseconds connect_timeout{5000};  ///< resolve + TCP connect, then the TLS handshake
    std::chrono::milliseconds request_timeout{30000}; ///< writing the request plus reading the response
    bool verify_peer = true;                          ///< verify the server's certificate and host name
    std::string ca_file;                              ///< extra trusted CA bundle (PEM), e.g. for tests
    std::size_t response_body_limit = 64 << 20;       ///< larger response bodies fail the request
};

namespace detail {

namespace tbeast = boost::beast;
namespace thttp = boost::beast::http;
namespace tnet = boost::asio;
namespace tssl = boost::asio::ssl;
using ttcp = tnet::ip::tcp;

/** A base URL split into what a connection needs. Not API.

    @par Thread safety
    Distinct objects: safe. Shared objects: const members may run concurrently.
*/
struct base_url_parts {
    bool tls = false;
    std::string host;        ///< without brackets
    unsigned short port = 0;
    std::string prefix;      ///< path prefix without a trailing slash, possibly empty
    std::string authority;   ///< `host[:port]` as sent in `Host`, brackets kept
};

inline bool is_ip_literal(std::string const& host) {
    tbeast::error_code ec;
    tnet::ip::make_address(host, ec);
    return !ec;
}

// Bytes that would break the request line or a field line.
inline bool has_control_or_space(std::string_view s) noexcept {
    for (unsigned char c : s)
        if (c <= 0x20 || c == 0x7f) return true;
    return false;
}

inline result<base_url_parts> parse_base_url(std::string_view url) {
    auto bad = [&](std::string why) {
        boost::json::object details;
        details["field"] = "base_url";
        return make_error(errc::invalid_request, "invalid base URL '" + std::string(url) + "': " + why,
                          std::move(details));
    };
    base_url_parts u;
    auto const sep = url.find("://");
    if (sep == url.npos) return bad("expected http://host[:port][/prefix] or https://...");
    auto const scheme = url.substr(0, sep);
    if (persona::detail::iequals(scheme, "https")) u.tls = true;
    else if (!persona::detail::iequals(scheme, "http")) return bad("the scheme must be http or https");
    auto rest = url.substr(sep + 3);
    auto const path_at = rest.find_first_of("/?#");
    auto const authority = rest.substr(0, path_at);
    auto path = path_at == rest.npos ? std::string_view{} : rest.substr(path_at);
    if (path.find_first_of("?#") != path.npos) return bad("a query or fragment is not allowed");
    if (authority.find('@') != authority.npos) return bad("user information is not supported");
    if (has_control_or_space(url)) return bad("spaces and control characters are not allowed");

    std::string_view host, port;
    if (!authority.empty() && authority.front() == '[') {
        auto const close = authority.find(']');
        if (close == authority.npos) return bad("unterminated IPv6 literal");
        host = authority.substr(1, close - 1);
        auto const after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return bad("junk after the IPv6 literal");
            port = after.substr(1);
            if (port.empty()) return bad("empty port");
        }
    } else {
        auto const colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != authority.npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) return bad("empty port");
        }
    }
    if (host.empty()) return bad("missing host");
    u.host = std::string(host);
    u.port = u.tls ? 443 : 80;
    if (!port.empty()) {
        unsigned long p = 0;
        for (char c : port) {
            if (c < '0' || c > '9' || p > 65535) return bad("invalid port");
            p = p * 10 + static_cast<unsigned long>(c - '0');
        }
        if (p == 0 || p > 65535) return bad("invalid port");
        u.port = static_cast<unsigned short>(p);
    }
    bool const v6 = u.host.find(':') != std::string::npos;
    u.authority = v6 ? "[" + u.host + "]" : u.host;
    if (u.port != (u.tls ? 443 : 80)) u.authority += ":" + std::to_string(u.port);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    u.prefix = std::string(path);
    return u;
}

inline bool is_idempotent(std::string_view method) noexcept {
    for (std::string_view m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
        if (method == m) return true;
    return false;
}

/** The connection state of a `beast_transport`; heap-allocated so the transport moves. Not API.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class transport_impl {
public:
    transport_impl(base_url_parts url, transport_options options, std::optional<tssl::context> ssl)
        : url_(std::move(url)), options_(std::move(options)), ssl_(std::move(ssl)) {}

    result<http_response> send(http_request const& req) {
        thttp::request<thttp::string_body> msg;
        if (auto r = build(req, msg); !r) return r.error();
        bool const head = msg.method() == thttp::verb::head;
        bool const idempotent = is_idempotent(msg.method_string());
        for (int attempt = 0;; ++attempt) {
            // A connection the server closed while we were idle shows as readable (EOF);
            // catching that here avoids most retries, which non-idempotent requests
            // could not make.
            bool const reused = connected() && still_open();
            if (!reused) {
                if (auto r = connect(); !r) return r.error();
            }
            bool const may_retry = reused && attempt == 0;
            lowest().expires_after(options_.request_timeout);
            auto ec = with_stream([&](auto& s) { return run([&](auto h) { thttp::async_write(s, msg, h); }); });
            if (ec) {
                close();
                // The server cannot have acted on a request it did not fully receive.
                if (may_retry && ec != tbeast::error::timeout) continue;
                return failure("sending the request", ec);
            }
            thttp::response_parser<thttp::string_body> parser;
            parser.body_limit(options_.response_body_limit);
            parser.header_limit(64 * 1024);
            if (head) parser.skip(true);
            ec = with_stream([&](auto& s) { return run([&](auto h) { thttp::async_read(s, buffer_, parser, h); }); });
            if (ec) {
                bool const nothing_received = !parser.got_some() && buffer_.size() == 0;
                close();
                // No byte of a response on a reused connection: the server most likely
                // closed it just as we wrote. Only an idempotent request may be resent,
                // since the server may have processed it.
                if (may_retry && nothing_received && idempotent && ec != tbeast::error::timeout) continue;
                return failure("reading the response", ec);
            }
            auto res = parser.release();
            http_response out;
            out.status = static_cast<int>(res.result_int());
            for (auto const& f : res) out.fields.push_back({std::string(f.name_string()), std::string(f.value())});
            out.body = std::move(res.body());
            if (res.need_eof()) close();
            return out;
        }
    }

    void close() noexcept {
        tls_.reset();
        tcp_.reset();
        buffer_.clear();
    }

    std::size_t connections_opened() const noexcept { return connections_opened_; }
    base_url_parts const& url() const noexcept { return url_; }

private:
    result<void> build(http_request const& req, thttp::request<thttp::string_body>& msg) const {
        auto const method = req.method.empty() ? std::string_view("GET") : std::string_view(req.method);
        std::string target = req.target.empty() ? "/" : req.target;
        if (target.front() != '/' && target.front() != '?') target.insert(target.begin(), '/');
        target.insert(0, url_.prefix);
        if (has_control_or_space(method)) return make_error(errc::invalid_request, "invalid HTTP method");
        if (has_control_or_space(target)) return make_error(errc::invalid_request, "invalid request target");
        try {
            msg.version(11);
            msg.method_string(method);
            msg.target(target);
            bool user_agent = false;
            for (auto const& f : req.fields) {
                if (f.name.empty() || has_control_or_space(f.name) ||
                    f.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
                    return make_error(errc::invalid_request, "invalid header field '" + f.name + "'");
                // Framing and Host are ours: they must match what we actually send.
                if (persona::detail::iequals(f.name, "Host") || persona::detail::iequals(f.name, "Content-Length") ||
                    persona::detail::iequals(f.name, "Transfer-Encoding"))
                    continue;
                user_agent = user_agent || persona::detail::iequals(f.name, "User-Agent");
                msg.insert(f.name, f.value);
            }
            msg.set(thttp::field::host, url_.authority);
            if (!user_agent) msg.set(thttp::field::user_agent, "persona/0.1");
            msg.body() = req.body;
            msg.prepare_payload();
        } catch (std::exception const& e) {
            return make_error(errc::invalid_request, std::string("cannot build the request: ") + e.what());
        }
        return {};
    }

    bool connected() const noexcept { return tcp_.has_value() || tls_.has_value(); }

    tbeast::tcp_stream& lowest() { return tls_ ? tbeast::get_lowest_layer(*tls_) : *tcp_; }

    template <class F>
    tbeast::error_code with_stream(F&& f) {
        return tls_ ? f(*tls_) : f(*tcp_);
    }

    // Run one asynchronous operation to completion on this thread. The operations are
    // asynchronous only because Beast's timeouts (tcp_stream::expires_after) apply to
    // asynchronous operations alone.
    template <class Initiate>
    tbeast::error_code run(Initiate&& initiate) {
        tbeast::error_code result = tnet::error::would_block;
        initiate([&result](tbeast::error_code ec, auto&&...) { result = ec; });
        ioc_.restart();
        ioc_.run();
        return result;
    }

    // Peek without blocking: would_block means open and quiet. EOF, a reset, or bytes
    // nobody asked for all mean the connection cannot carry a new request.
    bool still_open() {
        auto& sock = lowest().socket();
        if (!sock.is_open()) return false;
        tbeast::error_code ec;
        char c;
        sock.non_blocking(true, ec);
        if (ec) return false;
        sock.receive(tnet::buffer(&c, 1), ttcp::socket::message_peek, ec);
        tbeast::error_code ignored;
        sock.non_blocking(false, ignored);
        return ec == tnet::error::would_block;
    }

    std::string hostport() const {
        bool const v6 = url_.host.find(':') != std::string::npos;
        return (v6 ? "[" + url_.host + "]" : url_.host) + ":" + std::to_string(url_.port);
    }

    error failure(char const* step, tbeast::error_code ec) const {
        if (ec == tbeast::error::timeout)
            return make_error(errc::unavailable, "request to " + hostport() + " timed out after " +
                                                     std::to_string(options_.request_timeout.count()) + " ms");
        if (ec == thttp::error::body_limit)
            return make_error(errc::unavailable, "response from " + hostport() + " has a body larger than " +
                                                     std::to_string(options_.response_body_limit) + " bytes");
        return make_error(errc::unavailable,
                          "connection to " + hostport() + " failed while " + step + ": " + ec.message());
    }

    result<void> connect() {
        close();
        auto const target = hostport();
        auto const timeout_ms = std::to_string(options_.connect_timeout.count());
        std::vector<ttcp::endpoint> endpoints;
        tbeast::error_code ec;
        if (auto const a = tnet::ip::make_address(url_.host, ec); !ec) {
            endpoints.emplace_back(a, url_.port);
        } else {
            ttcp::resolver resolver(ioc_);
            bool done = false;
            resolver.async_resolve(url_.host, std::to_string(url_.port),
                                   [&](tbeast::error_code e, ttcp::resolver::results_type results) {
                                       done = true;
                                       ec = e;
                                       for (auto const& r : results) endpoints.push_back(r.endpoint());
                                   });
            ioc_.restart();
            ioc_.run_for(options_.connect_timeout);
            if (!done) {
                resolver.cancel();
                ioc_.restart();
                ioc_.run();
                return make_error(errc::unavailable,
                                  "cannot resolve " + url_.host + ": timed out after " + timeout_ms + " ms");
            }
            if (ec) return make_error(errc::unavailable, "cannot resolve " + url_.host + ": " + ec.message());
        }
        if (ssl_) tls_.emplace(ioc_, *ssl_);
        else tcp_.emplace(ioc_);
        ++connections_opened_;
        lowest().expires_after(options_.connect_timeout);
        ec = run([&](auto h) { lowest().async_connect(endpoints, h); });
        if (ec) {
            close();
            if (ec == tbeast::error::timeout)
                return make_error(errc::unavailable, "cannot connect to " + target + ": timed out after " + timeout_ms + " ms");
            return make_error(errc::unavailable, "cannot connect to " + target + ": " + ec.message());
        }
        if (!ssl_) return {};
        // SNI carries host names only (RFC 6066); host_name_verification checks the
        // certificate's IP SANs when the host is an address.
        if (!is_ip_literal(url_.host) && SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str()) != 1) {
            close();
            return make_error(errc::unavailable, "cannot set the TLS server name for " + url_.host);
        }
        if (options_.verify_peer) tls_->set_verify_callback(tssl::host_name_verification(url_.host));
        ec = run([&](auto h) { tls_->async_handshake(tssl::stream_base::client, h); });
        if (ec) {
            close();
            return make_error(errc::unavailable, "TLS handshake with " + target + " failed: " +
                                                     (ec == tbeast::error::timeout ? "timed out after " + timeout_ms + " ms"
                                                                                   : ec.message()));
        }
        return {};
    }

    base_url_parts url_;
    transport_options options_;
    std::optional<tssl::context> ssl_;
    tnet::io_context ioc_{1};
    std::optional<tbeast::tcp_stream> tcp_;
    std::optional<tssl::stream<tbeast::tcp_stream>> tls_;
    tbeast::flat_buffer buffer_;
    std::size_t connections_opened_ = 0;
};

} // namespace detail

/** A synchronous HTTP/1.1 client, plain or over TLS. Models `persona::transport`.

    Every request goes to one base URL, `http://host[:port][/prefix]` or
    `https://host[:port][/prefix]` (ports default to 80 and 443): the prefix is put in
    front of each request's target, and `Host`, `User-Agent: persona/0.1` (unless the
    request has one) and `Content-Length` are set. One keep-alive connection is reused
    across calls. If the server closed it while idle, it is reopened; if a reused
    connection fails before any byte of the response arrives, the request is resent
    once on a new connection, but only when that is safe: always if the failure
    happened while writing, and after the write only for idempotent methods (GET,
    HEAD, PUT, DELETE, OPTIONS, TRACE).

    HTTPS uses OpenSSL with the system's default CA paths plus
    `transport_options::ca_file`, verifies the peer's certificate and host name (or IP
    address) unless `verify_peer` is false, and sends SNI for host names. The TLS
    session is not shut down with close_notify when the connection is dropped.

    Redirects are not followed: any HTTP status is a successful `send`.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe; one thread at a time (the object
    holds a connection and its buffers).
*/
class beast_transport {
public:
    /** Validate `base_url` and make a transport; nothing is connected until `send`.

        @param base_url `http://host[:port][/prefix]` or `https://host[:port][/prefix]`.
        @param options timeouts, TLS settings and limits.
        @par Errors
        `errc::invalid_request` (with `details.field = "base_url"`) for a bad scheme,
        host, port, or a query in the URL; `errc::invalid_request` when `ca_file`
        cannot be loaded; `errc::internal_error` when OpenSSL cannot make a context.
    */
    [[nodiscard]] static result<beast_transport> make(std::string_view base_url, transport_options options = {}) {
        auto url = detail::parse_base_url(base_url);
        if (!url) return url.error();
        std::optional<detail::tssl::context> ssl;
        if (url->tls) {
            try {
                ssl.emplace(detail::tssl::context::tls_client);
            } catch (std::exception const&) {
                return make_error(errc::internal_error, "cannot create an OpenSSL client context");
            }
            detail::tbeast::error_code ec;
            ssl->set_default_verify_paths(ec); // without them, only ca_file is trusted
            if (!options.ca_file.empty()) {
                ssl->load_verify_file(options.ca_file, ec);
                if (ec)
                    return make_error(errc::invalid_request,
                                      "cannot load CA file '" + options.ca_file + "': " + ec.message());
            }
            ssl->set_verify_mode(options.verify_peer ? detail::tssl::verify_peer : detail::tssl::verify_none);
        }
        return beast_transport(
            std::make_unique<detail::transport_impl>(std::move(*url), std::move(options), std::move(ssl)));
    }

    /** Construct from a base URL, as `make` does.

        @throws persona::exception with the error `make` would return.
    */
    explicit beast_transport(std::string_view base_url, transport_options options = {})
        : beast_transport(make(base_url, std::move(options)).value()) {}

    beast_transport(beast_transport&&) noexcept = default;
    beast_transport& operator=(beast_transport&&) noexcept = default;
    ~beast_transport() = default;

    /** Send `req` and return the server's response.

        `req.target` is the origin-form target (`/summary?user_id=u1`) below the base
        URL's prefix. Any HTTP status is success.

        @par Errors
        `errc::unavailable`: cannot resolve or connect (the message names the host and
        port and the system's reason, e.g. "cannot connect to 127.0.0.1:9: Connection
        refused"), the TLS handshake or verification failed, the connection broke, the
        request timed out, or the response body is over `response_body_limit`.
        `errc::invalid_request`: the method, target or a field contains bytes that
        cannot be sent. `errc::internal_error`: the transport was moved from.
    */
    [[nodiscard]] result<http_response> send(http_request const& req) {
        if (!impl_) return make_error(errc::internal_error, "beast_transport used after being moved from");
        return impl_->send(req);
    }

    /// Drop the kept-alive connection, if any; the next `send` opens a new one.
    void close() noexcept {
        if (impl_) impl_->close();
    }

    /// Connections opened so far (a new one per reconnect); for tests and metrics.
    std::size_t connections_opened() const noexcept { return impl_ ? impl_->connections_opened() : 0; }

private:
    explicit beast_transport(std::unique_ptr<detail::transport_impl> impl) noexcept : impl_(std::move(impl)) {}

    std::unique_ptr<detail::transport_impl> impl_;
};

static_assert(persona::transport<beast_transport>);

} // namespace persona::http

#endif
