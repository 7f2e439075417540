#ifndef PERSONA_HTTP_BASIC_SERVER_HPP
#define PERSONA_HTTP_BASIC_SERVER_HPP

/// @file
/// `basic_server`: an asynchronous HTTP/1.1 server on Boost.Beast that hands each
/// request, as a plain `persona::http_request`, to a handler and writes back the
/// `persona::http_response` it returns. Beast and Asio stay behind this header.

#include <persona/error.hpp>
#include <persona/http_message.hpp>
#include <persona/protocol/response.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace persona::http {

/** How a `basic_server` listens and how long it waits for its clients.

    Every timeout exists so that a slow, silent or malicious client cannot hold a
    connection (and a slot of `max_connections`) forever. Deadlines are checked every
    100 ms, so a connection is closed up to that much after its timeout.
*/
struct server_options {
    std::string address = "127.0.0.1";       ///< IP address to listen on (`0.0.0.0`, `::` for all)
    unsigned short port = 8080;               ///< 0 binds an ephemeral port; see `basic_server::port`
    std::size_t threads = 1;                  ///< I/O threads, hence the handler's concurrency (0 means 1)
    std::size_t body_limit = 1 << 20;         ///< largest request body; above it the answer is 413
    std::size_t header_limit = 16 * 1024;     ///< largest request line plus fields; above it, 400
    std::chrono::seconds header_timeout{10};  ///< a new connection must send a whole header within this
    std::chrono::seconds idle_timeout{60};    ///< a kept-alive connection may wait this long for its next request
    std::chrono::seconds request_timeout{30}; ///< reading the body plus writing the response
    std::chrono::seconds stop_timeout{5};     ///< how long `stop` lets in-flight requests finish
    std::size_t max_connections = 1024;       ///< beyond this, new connections get 503 and are closed
};

/** A callable that answers one request: `http_response(http_request const&,
    protocol::connection_info const&)`.

    It is invoked on an I/O thread, so it should not block for long; with
    `server_options::threads` above 1 it is invoked concurrently.
*/
template <class H>
concept request_handler =
    std::invocable<H&, http_request const&, protocol::connection_info const&> &&
    std::convertible_to<std::invoke_result_t<H&, http_request const&, protocol::connection_info const&>,
                        http_response>;

namespace detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// One fputs per line, so that lines from several I/O threads do not interleave.
inline void log_server_error(std::string const& what) {
    std::string line = "persona::http: " + what + "\n";
    std::fputs(line.c_str(), stderr);
}

// IPv4-mapped IPv6 peers (a dual-stack listener) are reported as plain IPv4, so that
// `127.0.0.1` means the same thing whatever the listening socket is.
inline protocol::connection_info make_connection_info(tcp::endpoint const& ep) {
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
    return protocol::connection_info{a.to_string(), a.is_loopback()};
}

inline std::string endpoint_string(tcp::endpoint const& ep) {
    auto const a = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
}

inline http_request to_persona(bhttp::request<bhttp::string_body>&& m) {
    http_request r;
    r.method = std::string(m.method_string());
    r.target = std::string(m.target());
    for (auto const& f : m) r.fields.push_back({std::string(f.name_string()), std::string(f.value())});
    r.body = std::move(m.body());
    return r;
}

// Framing fields belong to the server: a handler's copy would contradict the body we
// actually send or the connection state we negotiated.
inline bool is_framing_field(std::string_view name) noexcept {
    return persona::detail::iequals(name, "Content-Length") || persona::detail::iequals(name, "Transfer-Encoding") ||
           persona::detail::iequals(name, "Connection") || persona::detail::iequals(name, "Keep-Alive");
}

// A CR or LF in a field would let a handler that echoes user input split the response.
inline bool is_safe_field(http_field const& f) noexcept {
    auto clean = [](std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == s.npos; };
    return !f.name.empty() && clean(f.name) && clean(f.value);
}

// A field value as Beast would store it: without leading or trailing spaces and tabs.
inline std::string_view trim_ows(std::string_view v) noexcept {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

/** Write the status line and fields of `r` to `out` (cleared first), as Beast's
    serializer would for the same message, and return whether the body is sent.

    Written here rather than through `bhttp::response` because building Beast's field
    list (one allocation per field) and walking its serializer cost a persona request
    more than its whole parse; the bytes are the same: the handler's fields in order
    (framing and unsafe ones dropped, values trimmed), `Server: persona` unless the
    handler set one, `Connection` as keep-alive and the version require, and
    `Content-Length` except on 204 and 304, whose bodies are dropped. A response to HEAD
    announces the length of the body it does not carry.
*/
inline bool write_head(std::string& out, http_response const& r, unsigned version, bool keep_alive, bool head) {
    // A 1xx is not a final response and would leave the client waiting.
    unsigned const code = r.status >= 200 && r.status <= 999 ? static_cast<unsigned>(r.status) : 500u;
    out.clear();
    out += "HTTP/";
    out += static_cast<char>('0' + version / 10 % 10);
    out += '.';
    out += static_cast<char>('0' + version % 10);
    out += ' ';
    out += static_cast<char>('0' + code / 100);
    out += static_cast<char>('0' + code / 10 % 10);
    out += static_cast<char>('0' + code % 10);
    out += ' ';
    out += bhttp::obsolete_reason(static_cast<bhttp::status>(code));
    out += "\r\n";
    bool has_server = false;
    for (auto const& f : r.fields) {
        if (is_framing_field(f.name) || !is_safe_field(f)) continue;
        has_server = has_server || persona::detail::iequals(f.name, "Server");
        out += f.name;
        out += ": ";
        out += trim_ows(f.value);
        out += "\r\n";
    }
    if (!has_server) out += "Server: persona\r\n";
    if (version >= 11 && !keep_alive) out += "Connection: close\r\n";
    if (version < 11 && keep_alive) out += "Connection: keep-alive\r\n";
    bool const bodiless = code == 204 || code == 304;
    if (!bodiless) {
        out += "Content-Length: ";
        out += std::to_string(r.body.size());
        out += "\r\n";
    }
    out += "\r\n";
    return !bodiless && !head;
}

class server_session;

/** The networking of a server, independent of the handler type. Not API.

    @par Thread safety
    As `basic_server`, whose documentation is the contract.
*/
class server_core {
public:
    explicit server_core(server_options options)
        : options_(std::move(options)),
          ioc_(static_cast<int>(options_.threads == 0 ? 1 : options_.threads)),
          acceptor_(net::make_strand(ioc_)),
          accept_timer_(acceptor_.get_executor()),
          sweep_timer_(net::make_strand(ioc_)) {}

    server_core(server_core const&) = delete;
    server_core& operator=(server_core const&) = delete;

    virtual ~server_core() { stop(); }

    result<void> start();
    void stop();
    void wait();

    unsigned short port() const noexcept { return port_.load(); }
    server_options const& get_options() const noexcept { return options_; }
    std::size_t connections_accepted() const noexcept { return accepted_.load(); }
    std::size_t active_connections() const noexcept { return active_.load(); }

protected:
    virtual http_response dispatch(http_request const& req, protocol::connection_info const& info) = 0;

private:
    friend class server_session;
    enum class run_state { idle, running, stopped };

    void do_accept();
    void on_accept(beast::error_code ec, tcp::socket socket);
    void run_io();
    void begin_stop();
    void notify_sessions(bool force);
    void remove_session(server_session* s);
    void schedule_sweep();
    void sweep();

    // How often the connections' deadlines are checked: a timeout fires this much late
    // at most. One timer for the server rather than one per connection and operation:
    // arming and cancelling those took the reactor's lock twice per read and per write,
    // which under load cost more than the rest of a small request's networking.
    static constexpr std::chrono::milliseconds sweep_period{100};

    server_options const options_;

    std::mutex lifecycle_mutex_;
    std::condition_variable lifecycle_cv_;
    run_state state_ = run_state::idle;
    bool stop_requested_ = false; // stop() was called from a handler
    std::vector<std::thread> threads_;

    // Sessions register here so that stop() can reach them; weak, because a session
    // lives exactly as long as its pending operations.
    std::mutex sessions_mutex_;
    std::condition_variable sessions_cv_;
    std::unordered_map<server_session*, std::weak_ptr<server_session>> sessions_;

    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> active_{0};
    std::atomic<std::size_t> accepted_{0};
    std::atomic<unsigned short> port_{0};

    // Last, so that they are destroyed first: destroying the io_context destroys the
    // handlers still queued, and with them sessions that unregister from sessions_.
    net::io_context ioc_;
    tcp::acceptor acceptor_;
    net::steady_timer accept_timer_;
    net::steady_timer sweep_timer_;
};

/** One connection: reads requests, calls the handler, writes responses. Not API.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe; every member but `run`,
    `notify_stop`, `expired` and `notify_deadline` runs on the connection's strand (the
    executor of `stream_`); the sweep calls the last two from any I/O thread.
*/
class server_session : public std::enable_shared_from_this<server_session> {
public:
    server_session(server_core& core, tcp::socket&& socket, bool reject, bool counted)
        : core_(core), stream_(std::move(socket)), reject_(reject), counted_(counted) {}

    ~server_session() {
        if (counted_) --core_.active_;
        core_.remove_session(this);
    }

    void run() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->on_run(); });
    }

    // Tell the session, on its strand, that the server stops.
    void notify_stop(bool force) {
        net::post(stream_.get_executor(), [self = shared_from_this(), force] { self->on_server_stop(force); });
    }

    // Whether the connection's deadline has passed (any thread: the sweep asks).
    bool expired(std::int64_t now) const noexcept { return deadline_.load(std::memory_order_relaxed) <= now; }

    // Tell the session, on its strand, that its deadline has passed.
    void notify_deadline() {
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->on_deadline(); });
    }

private:
    static constexpr std::int64_t no_deadline = std::numeric_limits<std::int64_t>::max();

    static std::int64_t steady_now() noexcept { return std::chrono::steady_clock::now().time_since_epoch().count(); }

    // The connection is closed if the current phase has not ended `d` from now: the
    // server's sweep checks (`server_core::sweep`), so no timer is armed per operation.
    void expire_after(std::chrono::steady_clock::duration d) noexcept {
        deadline_.store(steady_now() + d.count(), std::memory_order_relaxed);
    }
    void expire_never() noexcept { deadline_.store(no_deadline, std::memory_order_relaxed); }

    // Closing fails the pending read or write, whose handler then ends the session, as
    // a timeout of the stream did. The deadline may have moved since the sweep looked.
    void on_deadline() {
        if (deadline_.load(std::memory_order_relaxed) > steady_now()) return;
        expire_never();
        stream_.close();
    }

    // A connection between requests is closed now; one with a request in flight
    // finishes it and closes after writing (handle() and do_read() see stopping_).
    // An idle connection whose next request has already arrived is not idle: its read
    // is left to complete. Cancelling rather than closing lets a read that completed
    // with data, and whose handler is queued, still serve that request.
    void on_server_stop(bool force) {
        if (force || closing_) return stream_.close();
        if (!idle_) return;
        beast::error_code ec;
        if (stream_.socket().available(ec) == 0 || ec) stream_.socket().cancel(ec);
    }

    using request_parser = bhttp::request_parser<bhttp::string_body>;

    static constexpr std::size_t read_chunk = 8192;
    static constexpr std::chrono::seconds linger_timeout{2};
    static constexpr std::size_t linger_limit = 16u << 20;

    server_options const& opts() const noexcept { return core_.options_; }

    void on_run() {
        beast::error_code ec;
        auto ep = stream_.socket().remote_endpoint(ec);
        if (ec) return stream_.close();
        info_ = make_connection_info(ep);
        if (reject_)
            return send_error(make_error(errc::unavailable, "the server has too many connections; retry later"));
        do_read();
    }

    void do_read() {
        if (core_.stopping_ && buffer_.size() == 0) {
            // A request that reached us before the stop is answered (with
            // Connection: close); otherwise there is nothing left to do here.
            beast::error_code ec;
            if (stream_.socket().available(ec) == 0 || ec) return stream_.close();
        }
        parser_.emplace();
        parser_->body_limit(opts().body_limit);
        parser_->header_limit(static_cast<std::uint32_t>(opts().header_limit));
        if (buffer_.size() != 0) return on_first_bytes(); // a pipelined request is already here
        // Wait for the first byte separately: until it arrives the connection is idle
        // (idle_timeout applies, and stop() may close it), after it a header is due.
        idle_ = true;
        expire_after(first_ ? opts().header_timeout : opts().idle_timeout);
        stream_.async_read_some(buffer_.prepare(read_chunk),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->idle_ = false;
                                    if (ec) return self->stream_.close();
                                    self->buffer_.commit(n);
                                    self->on_first_bytes();
                                });
    }

    void on_first_bytes() {
        // On a new connection the deadline set before the first byte still runs, so the
        // whole header must arrive within header_timeout of connecting.
        if (!first_) expire_after(opts().header_timeout);
        parse();
    }

    // Feed what is buffered to the parser, and read more while it needs more. Parsing
    // in place, rather than through Beast's composed reads, costs one read per request
    // when the request arrives whole, as it almost always does.
    void parse() {
        while (!parser_->is_done() && buffer_.size() != 0) {
            bool const had_header = parser_->is_header_done();
            beast::error_code ec;
            std::size_t const used = parser_->put(buffer_.data(), ec);
            buffer_.consume(used);
            if (ec == bhttp::error::need_more) break;
            if (ec) return on_read_error(ec);
            if (!had_header && parser_->is_header_done()) {
                expire_after(opts().request_timeout);
                auto const& h = parser_->get();
                if (!parser_->is_done() && h.version() >= 11 &&
                    persona::detail::iequals(h[bhttp::field::expect], "100-continue"))
                    return send_continue(h.version());
            }
            if (used == 0) break; // a body state with nothing to take: read more
        }
        if (parser_->is_done()) return handle();
        // While the body streams in, read it in larger pieces (as Beast's own read does).
        std::size_t const want =
            parser_->is_header_done() ? std::clamp<std::size_t>(parser_->content_length_remaining().value_or(read_chunk),
                                                                read_chunk, 64 * 1024)
                                      : read_chunk;
        stream_.async_read_some(buffer_.prepare(want), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            // End of stream, a message cut short, a timeout or a reset: nobody to answer.
            if (ec) return self->stream_.close();
            self->buffer_.commit(n);
            self->parse();
        });
    }

    void send_continue(unsigned version) {
        continue_.emplace(bhttp::status::continue_, version);
        bhttp::async_write(stream_, *continue_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->continue_.reset();
            if (ec) return self->stream_.close();
            self->parse();
        });
    }

    void on_read_error(beast::error_code ec) {
        if (ec == bhttp::error::body_limit)
            return send_error(make_error(errc::payload_too_large, "request body is larger than " +
                                                                      std::to_string(opts().body_limit) + " bytes"));
        if (ec == bhttp::error::header_limit)
            return send_error(make_error(errc::invalid_request, "request header is larger than " +
                                                                    std::to_string(opts().header_limit) + " bytes"));
        // Any other parser error is a malformed message; end of stream, a message cut
        // short, a timeout or a reset leave nobody to answer.
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
            ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
            return send_error(make_error(errc::invalid_request, "malformed HTTP request"));
        stream_.close();
    }

    void handle() {
        expire_never(); // the handler takes what it takes; writing the answer has a deadline again
        auto const version = parser_->get().version();
        bool const wants_keep_alive = parser_->get().keep_alive();
        bool const head = parser_->get().method() == bhttp::verb::head;
        http_response res;
        try {
            auto const req = to_persona(parser_->release());
            res = core_.dispatch(req, info_);
        } catch (std::exception const& e) {
            // The exception text may hold internals: it goes to the log, not the wire.
            log_server_error(std::string("handler threw: ") + e.what());
            res = internal_error_response();
        } catch (...) {
            log_server_error("handler threw a non-standard exception");
            res = internal_error_response();
        }
        // Checked after the handler: a server stopping meanwhile says so in this response.
        write_response(std::move(res), version, wants_keep_alive && !core_.stopping_, head);
    }

    static http_response internal_error_response() {
        return protocol::error_response(make_error(errc::internal_error, "internal error"));
    }

    // Error answers close the connection: after a parse error the stream is out of sync.
    void send_error(error const& e) { write_response(protocol::error_response(e), 11, false, false); }

    void write_response(http_response&& r, unsigned version, bool keep_alive, bool head) {
        bool with_body = false;
        try {
            with_body = write_head(head_, r, version, keep_alive, head);
            body_ = std::move(r.body);
        } catch (std::exception const& e) {
            log_server_error(std::string("cannot serialize response: ") + e.what());
            keep_alive = false;
            auto fallback = internal_error_response();
            with_body = write_head(head_, fallback, version, false, head);
            body_ = std::move(fallback.body);
        }
        expire_after(opts().request_timeout);
        // Posted, not written here: the write then queues behind the requests already
        // read, so under load the answers leave in bursts, after the work that was
        // waiting. A client sharing the machine then wakes once for several answers
        // rather than once for each, and stops preempting the I/O threads mid-request:
        // under wrk at 64 connections its sleeps per /chunks request fell from 0.53 to
        // 0.15 (docs/performance.md, fifteenth step). A lone request's write costs one
        // pass through the io_context's queue (with several threads it may wake another
        // I/O thread); a single connection's p50 did not rise.
        net::post(stream_.get_executor(), [self = shared_from_this(), with_body, keep_alive] {
            self->write(with_body, keep_alive);
        });
    }

    void write(bool with_body, bool keep_alive) {
        std::array<net::const_buffer, 2> const buffers{net::buffer(head_),
                                                       with_body ? net::buffer(body_) : net::const_buffer{}};
        net::async_write(stream_, buffers, [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
            // The buffers keep their capacity for the connection's next response.
            self->body_.clear();
            if (ec) return self->stream_.close();
            if (!keep_alive) return self->linger_close();
            self->first_ = false;
            self->do_read();
        });
    }

    // Closing with unread input makes the kernel send a reset, which can destroy the
    // response we just wrote before the client reads it (a 413 while the client is
    // still sending its body). So: half-close, drain for a bounded time, then close.
    void linger_close() {
        closing_ = true;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        // Stopping, with nothing unread: no reset can follow, so do not hold up stop().
        if (core_.stopping_ && buffer_.size() == 0 && stream_.socket().available(ec) == 0 && !ec)
            return stream_.close();
        expire_after(linger_timeout);
        buffer_.clear();
        drain();
    }

    void drain() {
        stream_.async_read_some(buffer_.prepare(read_chunk),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->drained_ += n;
                                    if (ec || self->drained_ > linger_limit) return self->stream_.close();
                                    self->drain();
                                });
    }

    server_core& core_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<request_parser> parser_;
    std::string head_; // the status line and fields of the response being written
    std::string body_; // its body
    std::optional<bhttp::response<bhttp::empty_body>> continue_;
    protocol::connection_info info_;
    std::size_t drained_ = 0;
    bool const reject_;
    bool const counted_;
    bool first_ = true;    // no request completed yet on this connection
    bool idle_ = false;    // waiting for the first byte of a request
    bool closing_ = false; // response written, lingering before close
    // steady_clock ticks; written on the strand, read by the sweep
    std::atomic<std::int64_t> deadline_{no_deadline};
};

inline result<void> server_core::start() {
    std::lock_guard lock(lifecycle_mutex_);
    if (state_ != run_state::idle)
        return make_error(errc::internal_error, "the server was already started; a server starts once");
    beast::error_code ec;
    auto const address = net::ip::make_address(options_.address, ec);
    if (ec)
        return make_error(errc::unavailable,
                          "cannot listen on '" + options_.address + "': not an IP address");
    tcp::endpoint const ep{address, options_.port};
    auto fail = [&](char const* step) {
        beast::error_code ignored;
        acceptor_.close(ignored);
        return make_error(errc::unavailable,
                          "cannot listen on " + endpoint_string(ep) + ": " + step + ec.message());
    };
    acceptor_.open(ep.protocol(), ec);
    if (ec) return fail("");
    // Lets a restarted server bind while old connections sit in TIME_WAIT; on POSIX it
    // does not allow two listeners on one port.
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    acceptor_.bind(ep, ec);
    if (ec) return fail("");
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen: ");
    port_ = acceptor_.local_endpoint(ec).port();
    state_ = run_state::running;
    do_accept(); // before the threads exist, so no strand is needed yet
    schedule_sweep();
    auto const n = options_.threads == 0 ? 1 : options_.threads;
    threads_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { run_io(); });
    return {};
}

inline void server_core::run_io() {
    // A throwing completion handler (bad_alloc) must cost one operation, not a thread.
    for (;;) {
        try {
            ioc_.run();
            return;
        } catch (std::exception const& e) {
            log_server_error(std::string("I/O thread caught: ") + e.what());
        } catch (...) {
            log_server_error("I/O thread caught a non-standard exception");
        }
    }
}

inline void server_core::do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
        on_accept(ec, std::move(socket));
    });
}

inline void server_core::on_accept(beast::error_code ec, tcp::socket socket) {
    if (stopping_ || ec == net::error::operation_aborted) return;
    if (ec) {
        // Out of descriptors and the like: retrying at once would spin.
        log_server_error("accept failed: " + ec.message());
        accept_timer_.expires_after(std::chrono::milliseconds(50));
        accept_timer_.async_wait([this](beast::error_code e) {
            if (!e && !stopping_) do_accept();
        });
        return;
    }
    ++accepted_;
    // Only this strand increments active_, so the check cannot overshoot.
    bool const reject = active_.load() >= options_.max_connections;
    if (!reject) ++active_;
    auto s = std::make_shared<server_session>(*this, std::move(socket), reject, !reject);
    {
        std::lock_guard lock(sessions_mutex_);
        sessions_.emplace(s.get(), s);
    }
    s->run();
    do_accept();
}

inline void server_core::remove_session(server_session* s) {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(s);
    if (sessions_.empty()) sessions_cv_.notify_all();
}

inline void server_core::schedule_sweep() {
    sweep_timer_.expires_after(sweep_period);
    sweep_timer_.async_wait([this](beast::error_code ec) {
        if (!ec) sweep();
    });
}

inline void server_core::sweep() {
    std::int64_t const now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::vector<std::shared_ptr<server_session>> due;
    bool watching = false;
    {
        // A session being destroyed waits on this mutex to unregister, so the pointer is
        // still good here; lock() then declines it.
        std::lock_guard lock(sessions_mutex_);
        watching = !sessions_.empty();
        for (auto const& [p, w] : sessions_)
            if (p->expired(now))
                if (auto s = w.lock()) due.push_back(std::move(s));
    }
    for (auto& s : due) s->notify_deadline();
    // Stopping with no session left: stop re-arming, so that the I/O threads can finish.
    if (stopping_ && !watching) return;
    schedule_sweep();
}

inline void server_core::notify_sessions(bool force) {
    std::vector<std::shared_ptr<server_session>> live;
    {
        std::lock_guard lock(sessions_mutex_);
        for (auto const& [p, w] : sessions_)
            if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->notify_stop(force);
}

inline void server_core::begin_stop() {
    // A session that registers after notify_sessions() sees stopping_ before its first
    // read, so setting it first leaves no session behind.
    stopping_ = true;
    net::post(acceptor_.get_executor(), [this] {
        beast::error_code ignored;
        acceptor_.close(ignored);
        accept_timer_.cancel();
    });
    notify_sessions(false);
}

inline void server_core::stop() {
    if (ioc_.get_executor().running_in_this_thread()) {
        // From a handler: waiting for the sessions and joining the threads would wait
        // for this very thread. Start the stop; the destructor or a later stop()
        // completes it, and wait() returns now. Never block on the lifecycle mutex here:
        // a stop() on another thread holds it while it joins this thread.
        while (!lifecycle_mutex_.try_lock()) {
            if (stopping_) return; // someone else is stopping the server already
            std::this_thread::yield();
        }
        std::lock_guard lock(lifecycle_mutex_, std::adopt_lock);
        if (state_ != run_state::running || stop_requested_) return;
        begin_stop();
        stop_requested_ = true;
        lifecycle_cv_.notify_all();
        return;
    }
    std::lock_guard lock(lifecycle_mutex_);
    if (state_ != run_state::running) {
        state_ = run_state::stopped;
        lifecycle_cv_.notify_all();
        return;
    }
    begin_stop();
    auto drained = [this](std::chrono::milliseconds within) {
        std::unique_lock sl(sessions_mutex_);
        return sessions_cv_.wait_for(sl, within, [this] { return sessions_.empty(); });
    };
    if (!drained(options_.stop_timeout)) {
        notify_sessions(true);
        // A handler that never returns cannot be interrupted; stop the loop and let the
        // threads go as soon as their handlers do.
        if (!drained(std::chrono::seconds(1))) ioc_.stop();
    }
    // Every session is gone (or the loop stopped): the sweep has nothing left to watch.
    net::post(sweep_timer_.get_executor(), [this] { sweep_timer_.cancel(); });
    for (auto& t : threads_) t.join();
    threads_.clear();
    beast::error_code ignored;
    acceptor_.close(ignored); // the threads are gone: no strand needed
    state_ = run_state::stopped;
    lifecycle_cv_.notify_all();
}

inline void server_core::wait() {
    std::unique_lock lock(lifecycle_mutex_);
    lifecycle_cv_.wait(lock, [this] { return state_ == run_state::stopped || stop_requested_; });
}

} // namespace detail

/** An asynchronous HTTP/1.1 server that answers each request with a handler.

    Each request is converted to a `persona::http_request` (method as sent, target in
    origin form with its query string, every field, the body) and passed, with the
    peer's `protocol::connection_info`, to the handler; the `persona::http_response` it
    returns is written back with `Content-Length` and `Server: persona` set.

    The server owns the handler by value (reach it with `get_handler`); to share one,
    pass a `std::reference_wrapper` or a pointer-like wrapper.

    What the server answers by itself, with API.md's error body:
    @li 413 `PAYLOAD_TOO_LARGE` for a body over `server_options::body_limit`,
        400 `INVALID_REQUEST` for a malformed message or a header over
        `header_limit`, and 503 `UNAVAILABLE` to a connection beyond
        `max_connections`; each with `Connection: close`, and the connection is
        closed once the client has had a chance to read the answer;
    @li 500 `INTERNAL_ERROR` when the handler throws (the exception text is written
        to stderr, never to the client); the connection stays usable.

    A connection that sends no complete header within `header_timeout`, or stays idle
    between keep-alive requests for `idle_timeout`, is closed without an answer.
    HTTP/1.1 keep-alive, `Connection: close` and HTTP/1.0 follow the request.

    @par Thread safety
    Distinct objects: safe. Shared objects: `port`, `connections_accepted`,
    `active_connections`, `stop` and `wait` may be called concurrently; `start` once.
    The handler is called on the I/O threads, concurrently when
    `server_options::threads` is above 1, so it must then be safe to call concurrently.

    @tparam Handler a `request_handler`.
*/
template <class Handler>
    requires request_handler<Handler>
class basic_server : private detail::server_core {
public:
    /** Construct a stopped server; nothing is bound until `start`.

        @param handler called for every request; moved into the server.
        @param options where to listen, limits and timeouts.
    */
    explicit basic_server(Handler handler, server_options options = {})
        : detail::server_core(std::move(options)), handler_(std::move(handler)) {}

    basic_server(basic_server const&) = delete;
    basic_server& operator=(basic_server const&) = delete;

    /// Stop (see `stop`) and destroy. Must not run on an I/O thread.
    ~basic_server() override { detail::server_core::stop(); }

    /** Bind, listen and start the I/O threads.

        @returns nothing on success.
        @par Errors
        `errc::unavailable` when the address is not an IP address or cannot be bound
        (already in use, not local); `errc::internal_error` when called twice.
    */
    [[nodiscard]] result<void> start() { return detail::server_core::start(); }

    /** Stop gracefully, then join the I/O threads.

        Stops accepting, closes idle connections at once, lets requests in flight be
        answered (their connections then close), and after
        `server_options::stop_timeout` closes whatever remains: a handler still running
        then is not answered. Returns when every I/O
        thread has finished, so a handler that never returns blocks it. Idempotent; a
        stopped server cannot be started again.

        Called from the handler (on an I/O thread) it only starts the stop: new
        connections are refused, idle ones closed, `wait` returns, and the destructor
        (or a `stop` from another thread) does the waiting and joining.
    */
    void stop() { detail::server_core::stop(); }

    /// Block until `stop` has completed, or was called from the handler. For a program's `main`.
    void wait() { detail::server_core::wait(); }

    /// The bound port (the real one when `server_options::port` is 0); 0 before `start`.
    unsigned short port() const noexcept { return detail::server_core::port(); }

    /// Connections accepted since `start`, including those refused with 503.
    std::size_t connections_accepted() const noexcept { return detail::server_core::connections_accepted(); }

    /// Connections currently open and counted against `server_options::max_connections`.
    std::size_t active_connections() const noexcept { return detail::server_core::active_connections(); }

    /// The options the server was constructed with.
    server_options const& get_options() const noexcept { return detail::server_core::get_options(); }

    /// The handler.
    Handler& get_handler() noexcept { return handler_; }
    /// The handler.
    Handler const& get_handler() const noexcept { return handler_; }

private:
    http_response dispatch(http_request const& req, protocol::connection_info const& info) override {
        return std::invoke(handler_, req, info);
    }

    Handler handler_;
};

} // namespace persona::http

#endif
