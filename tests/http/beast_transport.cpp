#include <persona/http/beast_transport.hpp>

#include "http_test_support.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

using namespace persona_http_test;
using persona::errc;
using persona::http::basic_server;
using persona::http::beast_transport;
using persona::http::transport_options;

namespace {

namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;

//------------------------------------------------------------------------------
// A self-signed certificate made at test time, and a minimal TLS echo server.
//------------------------------------------------------------------------------

struct test_cert {
    std::string cert_pem;
    std::string key_pem;
};

template <class T, void (*Free)(T*)>
struct ossl_deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, ossl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, ossl_deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, ossl_deleter<BIO, BIO_free_all>>;

std::string bio_string(BIO* b) {
    char* data = nullptr;
    long const n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

// `alt_names` as in openssl.cnf, e.g. "DNS:localhost,IP:127.0.0.1". CA:TRUE so the
// certificate can be its own trust anchor in `ca_file`.
test_cert make_self_signed(char const* alt_names) {
    static int serial = 1;
    pkey_ptr key(EVP_EC_gen("P-256"));
    REQUIRE(key);
    x509_ptr x(X509_new());
    REQUIRE(x);
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 24 * 3600);
    X509_set_pubkey(x.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>("persona test"), -1,
                               -1, 0);
    X509_set_issuer_name(x.get(), name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                              std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"},
                              std::pair{NID_subject_alt_name, alt_names}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        REQUIRE(ext);
        X509_add_ext(x.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    REQUIRE(X509_sign(x.get(), key.get(), EVP_sha256()) > 0);
    bio_ptr cert_bio(BIO_new(BIO_s_mem())), key_bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_X509(cert_bio.get(), x.get()) == 1);
    REQUIRE(PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    return {bio_string(cert_bio.get()), bio_string(key_bio.get())};
}

// A file holding `content`, removed when the object goes.
class temp_file {
public:
    explicit temp_file(std::string const& content) {
        static int counter = 0;
        char const* dir = std::getenv("PERSONA_TEST_TMP");
        auto base = dir ? std::filesystem::path(dir) : std::filesystem::temp_directory_path();
        std::filesystem::create_directories(base);
        path_ = base / ("persona_http_ca_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".pem");
        std::ofstream(path_) << content;
    }
    ~temp_file() {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    std::string string() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

// Answers every request with "tls:<target>" over TLS, keep-alive honoured.
class tls_echo_server {
public:
    explicit tls_echo_server(test_cert const& cert) {
        ctx_.use_certificate_chain(net::buffer(cert.cert_pem));
        ctx_.use_private_key(net::buffer(cert.key_pem), ssl::context::pem);
        net::co_spawn(ioc_, accept_loop(), net::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~tls_echo_server() {
        ioc_.stop();
        thread_.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    int handshakes_failed() const { return failed_; }

private:
    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
            if (ec) co_return;
            net::co_spawn(ioc_, serve(std::move(socket)), net::detached);
        }
    }

    net::awaitable<void> serve(tcp::socket socket) {
        ssl::stream<tcp::socket> s(std::move(socket), ctx_);
        auto [hec] = co_await s.async_handshake(ssl::stream_base::server, net::as_tuple(net::use_awaitable));
        if (hec) {
            ++failed_;
            co_return;
        }
        boost::beast::flat_buffer buffer;
        for (;;) {
            bhttp::request<bhttp::string_body> req;
            auto [rec, rn] = co_await bhttp::async_read(s, buffer, req, net::as_tuple(net::use_awaitable));
            if (rec) co_return;
            bhttp::response<bhttp::string_body> res{bhttp::status::ok, req.version()};
            res.body() = "tls:" + std::string(req.target());
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            auto [wec, wn] = co_await bhttp::async_write(s, res, net::as_tuple(net::use_awaitable));
            if (wec || !res.keep_alive()) co_return;
        }
    }

    net::io_context ioc_;
    ssl::context ctx_{ssl::context::tls_server};
    tcp::acceptor acceptor_{ioc_, {net::ip::make_address("127.0.0.1"), 0}};
    std::atomic<int> failed_{0};
    std::thread thread_;
};

} // namespace

TEST_CASE("beast_transport: base URLs are validated", "[http][transport]") {
    for (char const* bad : {"", "127.0.0.1:80", "ftp://host", "http://", "http://:80", "http://host:", "http://host:0",
                            "http://host:65536", "http://host:8x", "http://u:p@host", "http://host/p?q=1",
                            "http://[::1", "http://ho st/"}) {
        INFO(bad);
        auto r = beast_transport::make(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::invalid_request);
        CHECK(r.error().details.at("field").as_string() == "base_url");
    }
    for (char const* good : {"http://127.0.0.1", "HTTP://localhost:8080/", "https://api.fastino.ai",
                             "http://[::1]:9000/v1", "https://example.com:8443/a/b/"})
        CHECK(beast_transport::make(good));
    CHECK_THROWS_AS(beast_transport("nope://x"), persona::exception);

    auto missing_ca = beast_transport::make("https://127.0.0.1", {.ca_file = "/nonexistent/ca.pem"});
    REQUIRE_FALSE(missing_ca);
    CHECK(missing_ca.error().code == errc::invalid_request);
}

TEST_CASE("beast_transport: connection refused is UNAVAILABLE with a clear message", "[http][transport]") {
    refusing_port const refusing;
    auto const port = refusing.port();
    beast_transport t(base_url(port));
    auto r = t.send(get("/"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::unavailable);
    CHECK(r.error().message == "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");

    beast_transport moved(std::move(t));
    CHECK(t.send(get("/")).error().code == errc::internal_error); // NOLINT: testing the moved-from state
}

TEST_CASE("beast_transport: a slow server times out as UNAVAILABLE", "[http][transport]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    // Timeout, handler time and bound far enough apart that a descheduled thread on a loaded
    // machine cannot blur them; the follow-up /quick must also fit in the same timeout.
    beast_transport t(base_url(server.port()), {.request_timeout = std::chrono::milliseconds(1000)});
    auto const t0 = std::chrono::steady_clock::now();
    auto r = t.send(get("/sleep?ms=3000"));
    CHECK(std::chrono::steady_clock::now() - t0 < 2500ms);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::unavailable);
    CHECK_THAT(r.error().message, Catch::Contains("timed out after 1000 ms"));
    // The broken connection is dropped; the next request opens a new one.
    auto ok = t.send(get("/quick"));
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(t.connections_opened() == 2);
}

TEST_CASE("beast_transport: the base URL's path prefix is applied", "[http][transport]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    beast_transport t(base_url(server.port(), "/api/v1/"));
    CHECK(str(json_body(*t.send(get("/register?x=1")))["target"]) == "/api/v1/register?x=1");
    CHECK(str(json_body(*t.send(get("summary")))["target"]) == "/api/v1/summary");
    CHECK(str(json_body(*t.send(get("")))["target"]) == "/api/v1/");

    beast_transport plain(base_url(server.port()));
    CHECK(str(json_body(*plain.send(get("")))["target"]) == "/");

    // A caller's User-Agent wins; Host and Content-Length are always the transport's.
    auto r = plain.send({"POST", "/h", {{"User-Agent", "mine/1"}, {"Host", "evil"}, {"Content-Length", "99"}}, "abc"});
    REQUIRE(r);
    auto h = json_body(*r)["headers"].as_object();
    CHECK(str(h["User-Agent"]) == "mine/1");
    CHECK(str(h["Host"]) == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(str(h["Content-Length"]) == "3");

    auto bad = plain.send({"GET", "/a b", {}, {}});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == errc::invalid_request);
    auto injected = plain.send({"GET", "/", {{"X-A", "1\r\nX-B: 2"}}, {}});
    REQUIRE_FALSE(injected);
    CHECK(injected.error().code == errc::invalid_request);
}

TEST_CASE("beast_transport: a connection the server closed while idle is reopened", "[http][transport]") {
    handler_state st;
    auto opts = test_options();
    opts.idle_timeout = 1s;
    basic_server server{make_echo(st), opts};
    REQUIRE(server.start());
    beast_transport t(base_url(server.port()));
    REQUIRE(t.send(get("/first"))->status == 200);
    REQUIRE(wait_until([&] { return server.active_connections() == 0; }, 3000ms));
    // POST is not idempotent: it must not depend on a retry after the write.
    auto r = t.send({"POST", "/second", {}, "x"});
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(t.connections_opened() == 2);
    CHECK(st.requests == 2);
}

TEST_CASE("beast_transport: a response over response_body_limit is UNAVAILABLE", "[http][transport]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    beast_transport t(base_url(server.port()), {.response_body_limit = 1000});
    CHECK(t.send(get("/big?n=1000"))->body.size() == 1000);
    auto r = t.send(get("/big?n=1001"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::unavailable);
    CHECK_THAT(r.error().message, Catch::Contains("larger than 1000 bytes"));
}

TEST_CASE("beast_transport: https to a plain HTTP port fails the handshake", "[http][transport][tls]") {
    handler_state st;
    basic_server server{make_echo(st), test_options()};
    REQUIRE(server.start());
    auto t = beast_transport::make("https://127.0.0.1:" + std::to_string(server.port()));
    REQUIRE(t);
    auto r = t->send(get("/"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::unavailable);
    CHECK_THAT(r.error().message, Catch::StartsWith("TLS handshake with 127.0.0.1:"));
}

TEST_CASE("beast_transport: TLS verifies the server certificate and its host", "[http][transport][tls]") {
    auto const cert = make_self_signed("DNS:localhost,IP:127.0.0.1");
    temp_file ca(cert.cert_pem);
    tls_echo_server server(cert);
    auto const url = "https://127.0.0.1:" + std::to_string(server.port()) + "/p";

    SECTION("an untrusted self-signed certificate fails") {
        beast_transport t(url);
        auto r = t.send(get("/x"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
        CHECK_THAT(r.error().message, Catch::Contains("certificate verify failed"));
    }
    SECTION("trusted through ca_file, it succeeds and the connection is kept alive") {
        beast_transport t(url, {.ca_file = ca.string()});
        for (int i = 0; i < 3; ++i) {
            auto r = t.send(get("/x" + std::to_string(i)));
            REQUIRE(r);
            CHECK(r->status == 200);
            CHECK(r->body == "tls:/p/x" + std::to_string(i));
        }
        CHECK(t.connections_opened() == 1);
    }
    SECTION("by host name, with SNI") {
        beast_transport t("https://localhost:" + std::to_string(server.port()), {.ca_file = ca.string()});
        auto r = t.send(get("/named"));
        REQUIRE(r);
        CHECK(r->body == "tls:/named");
    }
    SECTION("verify_peer = false accepts it") {
        beast_transport t(url, {.verify_peer = false});
        auto r = t.send(get("/y"));
        REQUIRE(r);
        CHECK(r->body == "tls:/p/y");
    }
    SECTION("a trusted certificate for another host fails") {
        auto const other = make_self_signed("DNS:other.invalid");
        temp_file other_ca(other.cert_pem);
        tls_echo_server other_server(other);
        beast_transport t("https://127.0.0.1:" + std::to_string(other_server.port()), {.ca_file = other_ca.string()});
        auto r = t.send(get("/z"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::unavailable);
        CHECK_THAT(r.error().message, Catch::Contains("certificate verify failed"));
    }
}
