#include "mqtt/tls_probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace twinlink::detail {
namespace {

struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
};

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// A blocking TCP socket connected to host:port within `timeout`, its reads and writes bounded by
// `timeout` too; -1 when that fails.
int connect_tcp(const std::string& host, int port, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
    int connected = -1;
    for (addrinfo* a = found; a && connected < 0; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        bool ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
        if (!ok && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            int err = 0;
            socklen_t len = sizeof err;
            ok = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
                 ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
        }
        if (ok) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            timeval tv{static_cast<time_t>(timeout.count() / 1000),
                       static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            connected = fd;
        } else {
            ::close(fd);
        }
    }
    freeaddrinfo(found);
    return connected;
}

bool is_ip_address(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

int password_callback(char* buf, int size, int, void* user) {
    const auto* password = static_cast<const std::string*>(user);
    const int n = static_cast<int>(password->size()) < size ? static_cast<int>(password->size()) : size;
    password->copy(buf, static_cast<std::size_t>(n));
    return n;
}

std::string not_after(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return "";
    std::string text;
    if (BIO* bio = BIO_new(BIO_s_mem())) {
        if (ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
            char* data = nullptr;
            const long n = BIO_get_mem_data(bio, &data);
            if (n > 0) text.assign(data, static_cast<std::size_t>(n));
        }
        BIO_free(bio);
    }
    X509_free(cert);
    return text;
}

// The server certificate failed verification with `result` (an X509_V_ERR_* value).
std::string server_certificate_refused(long result, SSL* ssl, const BrokerUri& broker) {
    const std::string reason = X509_verify_cert_error_string(result);
    const std::string failed = "server certificate verification failed: ";
    switch (result) {
    case X509_V_ERR_CERT_HAS_EXPIRED: {
        const std::string until = not_after(ssl);
        return failed + "the certificate has expired" + (until.empty() ? "" : " (valid until " + until + ")") +
               " [" + reason + "]";
    }
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return failed + "the certificate is not valid yet (check the device's clock) [" + reason + "]";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return failed + "the certificate does not name '" + broker.host +
               "' (connect by a name the certificate holds, or turn off tls.verify_hostname) [" + reason + "]";
    case X509_V_ERR_CERT_REVOKED:
        return failed + "the certificate has been revoked [" + reason + "]";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return failed + "the chain ends in a self-signed certificate that tls.ca_file does not trust [" + reason +
               "]";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        return failed + "the certificate is not signed by a CA in tls.ca_file [" + reason + "]";
    default:
        return failed + "[" + reason + "]";
    }
}

// The broker ended the handshake with an alert about the client certificate (OpenSSL's reason
// code `reason`); nothing when the reason is not about it.
std::optional<std::string> client_certificate_refused(int reason, bool has_cert) {
    const char* text = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, reason));
    const std::string why = text ? std::string(" [") + text + "]" : std::string();
    switch (reason) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return "the broker requires a client certificate (set tls.cert_file and tls.key_file)" + why;
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return "the broker does not trust the CA of the client certificate (tls.cert_file)" + why;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        return "the broker refused the client certificate as revoked" + why;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        return "the broker refused the client certificate as expired" + why;
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        if (!has_cert) return "the broker requires a client certificate (set tls.cert_file and tls.key_file)" + why;
        return "the broker refused the client certificate (tls.cert_file)" + why;
    default:
        return std::nullopt;
    }
}

// The first error of the SSL library in OpenSSL's queue of this thread, which is then emptied.
int take_ssl_reason() {
    int reason = 0;
    while (const unsigned long e = ERR_get_error())
        if (reason == 0 && ERR_GET_LIB(e) == ERR_LIB_SSL) reason = ERR_GET_REASON(e);
    return reason;
}

}  // namespace

std::optional<std::string> diagnose_tls_failure(const BrokerUri& broker, const TlsOptions& tls,
                                                std::chrono::milliseconds timeout) noexcept {
    try {
        ERR_clear_error();
        std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
        if (!ctx) return std::nullopt;
        if (!tls.ca_file.empty() || !tls.ca_dir.empty()) {
            if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.empty() ? nullptr : tls.ca_file.c_str(),
                                              tls.ca_dir.empty() ? nullptr : tls.ca_dir.c_str()) != 1) {
                ERR_clear_error();
                return "the CA certificates of tls.ca_file/tls.ca_dir could not be read";
            }
        } else {
            SSL_CTX_set_default_verify_paths(ctx.get());
        }
        SSL_CTX_set_verify(ctx.get(), tls.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
        const bool has_cert = !tls.cert_file.empty();
        if (has_cert) {
            SSL_CTX_set_default_passwd_cb(ctx.get(), password_callback);
            SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), const_cast<std::string*>(&tls.key_password));
            if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1 ||
                SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
                SSL_CTX_check_private_key(ctx.get()) != 1) {
                ERR_clear_error();
                return "the client certificate (tls.cert_file) or its key (tls.key_file) could not be loaded, "
                       "or they do not match";
            }
        }

        Fd fd(connect_tcp(broker.host, broker.port, timeout));
        if (fd.get() < 0) return std::nullopt;
        std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
        if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) return std::nullopt;
        const bool ip = is_ip_address(broker.host);
        if (!ip) SSL_set_tlsext_host_name(ssl.get(), broker.host.c_str());
        if (tls.verify_hostname && !tls.insecure) {
            X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
            if (ip)
                X509_VERIFY_PARAM_set1_ip_asc(param, broker.host.c_str());
            else
                SSL_set1_host(ssl.get(), broker.host.c_str());
        }

        if (SSL_connect(ssl.get()) != 1) {
            const long verify = SSL_get_verify_result(ssl.get());
            const int reason = take_ssl_reason();
            if (verify != X509_V_OK) return server_certificate_refused(verify, ssl.get(), broker);
            return client_certificate_refused(reason, has_cert);
        }
        // With TLS 1.3 the client's side of the handshake is over before the broker has looked at
        // the client certificate: its verdict comes as an alert on the first read. A broker that
        // accepted it waits for MQTT's CONNECT, and the read times out.
        char byte = 0;
        if (SSL_read(ssl.get(), &byte, 1) <= 0) return client_certificate_refused(take_ssl_reason(), has_cert);
        ERR_clear_error();
        return std::nullopt;
    } catch (...) {
        ERR_clear_error();
        return std::nullopt;
    }
}

}  // namespace twinlink::detail
