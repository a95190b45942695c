// The bad-certificate matrix: each way a TLS connection can be refused gives connect() a TlsError
// whose message says which one it was, in words different from every other.
//
// The certificates are made here with the openssl command line: a CA; server certificates for
// localhost that are good, expired, and self-signed; client certificates that are good, revoked
// (with a CRL), and from a CA the broker does not know. One mosquitto serves them on five
// listeners.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fault_row.hpp"
#include "fixtures/process.hpp"
#include "test_util.hpp"
#include "twinlink/client.hpp"

namespace {

using namespace std::chrono_literals;
using twinlink::Client;
using twinlink::ClientOptions;
using twinlink::Status;
namespace proc = twinlink::testing::detail;

void openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = proc::run_command(argv);
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.output);
}

std::vector<int> free_ports(int count) {
    std::vector<int> fds, ports;
    for (int i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("no free port");
        fds.push_back(fd);
        ports.push_back(ntohs(a.sin_port));
    }
    for (int fd : fds) ::close(fd);
    return ports;
}

bool accepts(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

/// The certificates and the broker, once for the whole suite.
class TlsMatrix : public ::testing::Test {
protected:
    enum Listener { Good, Expired, SelfSigned, Mutual, kListeners };

    static void SetUpTestSuite() {
        dir_ = proc::make_temp_dir("tl-faults-tls-");
        const std::string d = dir_ + "/";
        proc::write_file(d + "ext.cnf",
                         "[server]\nsubjectAltName = DNS:localhost\nextendedKeyUsage = serverAuth\n"
                         "[client]\nextendedKeyUsage = clientAuth\n"
                         "[ca]\nbasicConstraints = critical, CA:true\nkeyUsage = keyCertSign, cRLSign\n");
        proc::write_file(d + "ca.cnf", "[ca]\ndefault_ca = tl\n[tl]\ndatabase = " + d +
                                           "index.txt\ncrlnumber = " + d +
                                           "crlnumber\ndefault_md = sha256\ndefault_crl_days = 2\n");
        proc::write_file(d + "index.txt", "");
        proc::write_file(d + "crlnumber", "01\n");
        const auto key = [&](const std::string& name) {
            openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", d + name + ".key"});
        };
        const auto self_signed = [&](const std::string& name, const std::string& cn, const std::string& ext) {
            key(name);
            openssl({"req", "-new", "-x509", "-sha256", "-days", "2", "-subj", "/CN=" + cn, "-key", d + name + ".key",
                     "-config", d + "ext.cnf", "-extensions", ext, "-out", d + name + ".crt"});
        };
        const auto signed_by = [&](const std::string& name, const std::string& cn, const std::string& ca,
                                   const std::string& ext, const std::string& days, const std::string& serial) {
            key(name);
            openssl({"req", "-new", "-subj", "/CN=" + cn, "-key", d + name + ".key", "-out", d + name + ".csr"});
            openssl({"x509", "-req", "-sha256", "-days", days, "-set_serial", serial, "-in", d + name + ".csr", "-CA",
                     d + ca + ".crt", "-CAkey", d + ca + ".key", "-extfile", d + "ext.cnf", "-extensions", ext,
                     "-out", d + name + ".crt"});
        };
        self_signed("ca", "twinlink faults CA", "ca");
        self_signed("other-ca", "another CA", "ca");
        signed_by("server", "localhost", "ca", "server", "2", "10");
        // -days -1: valid until a day before it was made.
        signed_by("expired", "localhost", "ca", "server", "-1", "11");
        self_signed("self", "localhost", "server");
        signed_by("client", "device", "ca", "client", "2", "12");
        signed_by("revoked", "device", "ca", "client", "2", "13");
        signed_by("stranger", "device", "other-ca", "client", "2", "14");
        openssl({"ca", "-config", d + "ca.cnf", "-keyfile", d + "ca.key", "-cert", d + "ca.crt", "-revoke",
                 d + "revoked.crt"});
        openssl({"ca", "-config", d + "ca.cnf", "-keyfile", d + "ca.key", "-cert", d + "ca.crt", "-gencrl", "-out",
                 d + "crl.pem"});

        for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) {
            const auto ports = free_ports(kListeners);
            std::ostringstream conf;
            if (::geteuid() == 0) conf << "user root\n";
            conf << "per_listener_settings false\nallow_anonymous true\npersistence false\n"
                 << "log_dest file " << d << "mosquitto.log\nlog_type all\n";
            const std::pair<Listener, std::string> servers[] = {
                {Good, "server"}, {Expired, "expired"}, {SelfSigned, "self"}, {Mutual, "server"}};
            for (const auto& [listener, cert] : servers) {
                conf << "\nlistener " << ports[listener] << " 127.0.0.1\ncertfile " << d << cert << ".crt\nkeyfile " << d
                     << cert << ".key\n";
                if (listener == Mutual)
                    conf << "cafile " << d << "ca.crt\nrequire_certificate true\ncrlfile " << d << "crl.pem\n";
            }
            proc::write_file(d + "mosquitto.conf", conf.str());
            const pid_t pid = proc::spawn({{TL_MOSQUITTO_PATH, "-c", d + "mosquitto.conf"}, d + "mosquitto.out",
                                           /*own_process_group=*/true, /*die_with_parent=*/true});
            const bool up = tltest::wait_until(
                [&] {
                    if (!proc::is_alive(pid)) return true;
                    for (int p : ports)
                        if (!accepts(p)) return false;
                    return true;
                },
                10s);
            if (up && proc::is_alive(pid)) {
                pid_ = pid;
                for (int i = 0; i < kListeners; ++i) ports_[i] = ports[static_cast<std::size_t>(i)];
            } else {
                proc::terminate(pid, SIGKILL, 1s);
            }
        }
        if (pid_ <= 0)
            throw std::runtime_error("mosquitto did not start:\n" + proc::read_file(d + "mosquitto.log") +
                                     proc::read_file(d + "mosquitto.out"));
    }

    static void TearDownTestSuite() {
        if (pid_ > 0) proc::terminate(pid_, SIGTERM, 2s);
        pid_ = -1;
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    static ClientOptions options(Listener listener, const std::string& host = "localhost") {
        ClientOptions o = tltest::options_for("mqtts://" + host + ":" + std::to_string(ports_[listener]));
        o.tls.ca_file = dir_ + "/ca.crt";
        o.connect_timeout = 5s;
        return o;
    }
    static std::string file(const std::string& name) { return dir_ + "/" + name; }

    /// Connects, expects a TlsError, prints the row and remembers the message for the
    /// distinctness check.
    static void expect_refusal(const std::string& fault, ClientOptions o) {
        Client client(std::move(o));
        const auto start = std::chrono::steady_clock::now();
        const auto e = tltest::capture_error([&] { client.connect(10s); });
        faults::FaultRow row;
        row.fault = "TLS: " + fault;
        row.recover_ms = -1;
        row.error = std::string(twinlink::status_name(e.status())) + ": " + e.what();
        row.note = "connect() failed after " +
                   std::to_string(faults::ms_between(start, std::chrono::steady_clock::now())) + " ms";
        row.print();
        EXPECT_EQ(e.status(), Status::TlsError) << e.what();
        EXPECT_FALSE(client.connected());
        // Without the address (ports differ between listeners) the messages must still differ.
        messages_[fault] = std::regex_replace(e.what(), std::regex("mqtts://[^ ]+"), "URI");
    }

    static std::string dir_;
    static pid_t pid_;
    static int ports_[kListeners];
    static std::map<std::string, std::string> messages_;
};

std::string TlsMatrix::dir_;
pid_t TlsMatrix::pid_ = -1;
int TlsMatrix::ports_[TlsMatrix::kListeners] = {};
std::map<std::string, std::string> TlsMatrix::messages_;

TEST_F(TlsMatrix, TheGoodCertificatesConnect) {
    Client plain(options(Good));
    plain.connect(tltest::kLong);
    EXPECT_TRUE(plain.connected());
    ClientOptions o = options(Mutual);
    o.tls.cert_file = file("client.crt");
    o.tls.key_file = file("client.key");
    Client mutual(o);
    mutual.connect(tltest::kLong);
    EXPECT_TRUE(mutual.connected());
}

TEST_F(TlsMatrix, WrongCa) {
    ClientOptions o = options(Good);
    o.tls.ca_file = file("other-ca.crt");
    expect_refusal("wrong CA (tls.ca_file is another CA)", o);
    EXPECT_TRUE(tltest::contains_ci(messages_["wrong CA (tls.ca_file is another CA)"], "not signed by a CA in tls.ca_file"));
}

TEST_F(TlsMatrix, ExpiredServerCertificate) {
    expect_refusal("expired server certificate", options(Expired));
    EXPECT_TRUE(tltest::contains_ci(messages_["expired server certificate"], "expired"));
}

TEST_F(TlsMatrix, WrongHostName) {
    // The certificate names localhost only; 127.0.0.1 is the same broker by another name.
    expect_refusal("wrong host name (certificate for localhost, connected to 127.0.0.1)", options(Good, "127.0.0.1"));
    EXPECT_TRUE(tltest::contains_ci(messages_["wrong host name (certificate for localhost, connected to 127.0.0.1)"],
                                    "does not name '127.0.0.1'"));
}

TEST_F(TlsMatrix, SelfSignedServerCertificate) {
    expect_refusal("untrusted (self-signed) server certificate", options(SelfSigned));
    EXPECT_TRUE(tltest::contains_ci(messages_["untrusted (self-signed) server certificate"], "self-signed"));
}

TEST_F(TlsMatrix, NoClientCertificateOnTheMutualTlsListener) {
    expect_refusal("no client certificate (mTLS listener)", options(Mutual));
    EXPECT_TRUE(tltest::contains_ci(messages_["no client certificate (mTLS listener)"], "requires a client certificate"));
}

TEST_F(TlsMatrix, ClientCertificateFromAnUntrustedCa) {
    ClientOptions o = options(Mutual);
    o.tls.cert_file = file("stranger.crt");
    o.tls.key_file = file("stranger.key");
    expect_refusal("client certificate from a CA the broker does not trust", o);
    EXPECT_TRUE(tltest::contains_ci(messages_["client certificate from a CA the broker does not trust"],
                                    "does not trust the CA of the client certificate"));
}

TEST_F(TlsMatrix, RevokedClientCertificate) {
    ClientOptions o = options(Mutual);
    o.tls.cert_file = file("revoked.crt");
    o.tls.key_file = file("revoked.key");
    expect_refusal("revoked client certificate (broker's CRL)", o);
    EXPECT_TRUE(tltest::contains_ci(messages_["revoked client certificate (broker's CRL)"], "revoked"));
}

// Last in the file, so it runs after the rows (gtest runs a suite's tests in order; ctest runs
// each test alone, so it makes its own rows then).
TEST_F(TlsMatrix, EveryRefusalHasItsOwnMessage) {
    if (messages_.size() < 7) {
        messages_.clear();
        ClientOptions wrong_ca = options(Good);
        wrong_ca.tls.ca_file = file("other-ca.crt");
        ClientOptions stranger = options(Mutual);
        stranger.tls.cert_file = file("stranger.crt");
        stranger.tls.key_file = file("stranger.key");
        ClientOptions revoked = options(Mutual);
        revoked.tls.cert_file = file("revoked.crt");
        revoked.tls.key_file = file("revoked.key");
        const std::vector<std::pair<std::string, ClientOptions>> cases = {
            {"wrong CA", wrong_ca},
            {"expired", options(Expired)},
            {"wrong host", options(Good, "127.0.0.1")},
            {"self-signed", options(SelfSigned)},
            {"no client certificate", options(Mutual)},
            {"untrusted client CA", stranger},
            {"revoked client certificate", revoked},
        };
        for (const auto& [name, o] : cases) {
            Client client(o);
            const auto e = tltest::capture_error([&] { client.connect(10s); });
            EXPECT_EQ(e.status(), Status::TlsError) << name << ": " << e.what();
            messages_[name] = std::regex_replace(e.what(), std::regex("mqtts://[^ ]+"), "URI");
        }
    }
    std::set<std::string> distinct;
    for (const auto& [fault, message] : messages_) distinct.insert(message);
    EXPECT_EQ(distinct.size(), messages_.size()) << "two refusals share a message";
}

}  // namespace
