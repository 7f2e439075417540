// Issue 7, benchmark 4 (the ceiling): the least an HTTP server on Boost.Beast can do.
// Every request, whatever its method, target and body, is read whole and answered with the
// same small JSON body, keep-alive, on --threads I/O threads running one io_context (one
// strand per connection), as persona-server's own server is organised. No routing, no
// keys, no JSON parsing: bench/http.cpp runs wrk against it and against persona-server in
// the same run, so persona's requests/s read as a share of what this machine can serve.
//
//   build-bench/bench/persona_bench_bare_server [--port 8090] [--threads 2]
#include "common.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr char const* body = R"({"results":[{"chunk_id":"evt_1#s1","excerpt":"Prefers meetings after 1 PM.","score":0.84}]})";

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket&& s) : stream_(std::move(s)) {}
    void start() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
    }

private:
    void read() {
        request_ = {};
        http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->respond();
        });
    }
    void respond() {
        response_ = {};
        response_.result(http::status::ok);
        response_.version(request_.version());
        response_.set(http::field::content_type, "application/json");
        response_.keep_alive(request_.keep_alive());
        response_.body() = body;
        response_.prepare_payload();
        http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec || !self->response_.keep_alive()) return self->close();
            self->read();
        });
    }
    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
};

void accept(tcp::acceptor& acceptor, net::io_context& ioc) {
    acceptor.async_accept(net::make_strand(ioc), [&acceptor, &ioc](beast::error_code ec, tcp::socket socket) {
        if (!ec) std::make_shared<session>(std::move(socket))->start();
        accept(acceptor, ioc);
    });
}

} // namespace

int main(int argc, char** argv) {
    bench::args const opt(argc, argv, {{"port", "8090"}, {"threads", "2"}});
    int const threads = static_cast<int>(std::max<std::size_t>(1, opt.num("threads")));
    net::io_context ioc(threads);
    tcp::acceptor acceptor(net::make_strand(ioc),
                           {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(opt.num("port"))});
    accept(acceptor, ioc);
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
}
