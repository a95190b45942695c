#include "tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace tltest {

namespace {

sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

// Closes with an RST instead of a FIN, like a peer that vanished.
void reset_close(int fd) {
    if (fd < 0) return;
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);
}

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

TcpProxy::TcpProxy(int target_port, const std::string& listen_address)
    : target_port_(target_port), address_(listen_address) {
    if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
        throw std::runtime_error("TcpProxy: pipe2 failed");
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) throw std::runtime_error("TcpProxy: socket failed");
    sockaddr_in addr = loopback(0);
    if (::inet_pton(AF_INET, address_.c_str(), &addr.sin_addr) != 1)
        throw std::runtime_error("TcpProxy: bad listen address " + address_);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 64) != 0)
        throw std::runtime_error(std::string("TcpProxy: bind/listen failed: ") +
                                 std::strerror(errno));
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake();
    thread_.join();
    ::close(listener_);
    ::close(wake_pipe_[0]);
    ::close(wake_pipe_[1]);
}

void TcpProxy::wake() {
    const char c = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_pipe_[1], &c, 1);
}

void TcpProxy::set_mode(Mode mode) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        mode_ = mode;
    }
    wake();
}

void TcpProxy::hold_downstream(bool hold) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        hold_ = hold;
    }
    wake();
}

void TcpProxy::stall(bool stalled) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stall_ = stalled;
    }
    wake();
}

void TcpProxy::set_delay(std::chrono::milliseconds delay) {
    std::lock_guard<std::mutex> lock(mutex_);
    delay_ = delay;
}

void TcpProxy::set_rate(std::size_t bytes_per_second) {
    std::lock_guard<std::mutex> lock(mutex_);
    rate_ = bytes_per_second;
}

void TcpProxy::drop_all() {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::uint64_t ticket = ++drop_requested_;
    lock.unlock();
    wake();
    lock.lock();
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return drop_done_ >= ticket; }))
        throw std::runtime_error("TcpProxy: drop_all timed out");
}

std::size_t TcpProxy::accepted() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return accepted_;
}

std::size_t TcpProxy::open_connections() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return open_;
}

void TcpProxy::close_pair(Pair& pair) {
    reset_close(pair.client);
    reset_close(pair.upstream);
    pair.client = pair.upstream = -1;
}

// Moves what is readable on `from` to `to` (discarded when `to` is -1). False when `from` is
// closed or either side failed.
bool TcpProxy::relay(int from, int to, std::chrono::milliseconds delay, std::size_t rate) {
    char buf[65536];
    std::size_t want = sizeof buf;
    if (rate > 0) want = std::max<std::size_t>(1, std::min(want, rate / 20));
    const ssize_t n = ::recv(from, buf, want, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    if (n <= 0) return false;
    if (to < 0) return true;
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (rate > 0)
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<std::int64_t>(n) * 1'000'000 /
                                                              static_cast<std::int64_t>(rate)));
    return write_all(to, buf, static_cast<std::size_t>(n));
}

void TcpProxy::run() {
    for (;;) {
        bool hold, stall;
        std::chrono::milliseconds delay;
        std::size_t rate;
        Mode mode;
        std::uint64_t drop_requested;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stop_) break;
            hold = hold_ || stall_;
            stall = stall_;
            delay = delay_;
            rate = rate_;
            mode = mode_;
            drop_requested = drop_requested_;
        }

        if (drop_requested != drop_done_) {
            for (auto& p : pairs_) close_pair(p);
            pairs_.clear();
            std::lock_guard<std::mutex> lock(mutex_);
            open_ = 0;
            drop_done_ = drop_requested;
            cv_.notify_all();
            continue;
        }

        std::vector<pollfd> fds;
        fds.push_back({wake_pipe_[0], POLLIN, 0});
        fds.push_back({listener_, POLLIN, 0});
        for (const auto& p : pairs_) {
            fds.push_back({p.client, static_cast<short>(stall ? 0 : POLLIN), 0});
            fds.push_back({p.upstream, static_cast<short>(hold ? 0 : POLLIN), 0});
        }
        // The timeout only bounds how long a lost wake-up could go unnoticed.
        const int ready = ::poll(fds.data(), fds.size(), 200);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;

        if (fds[0].revents & POLLIN) {
            char drain[64];
            while (::read(wake_pipe_[0], drain, sizeof drain) > 0) {
            }
        }

        for (std::size_t i = 0; i < pairs_.size(); ++i) {
            Pair& p = pairs_[i];
            const short client_ev = fds[2 + 2 * i].revents;
            const short upstream_ev = fds[3 + 2 * i].revents;
            bool ok = true;
            if (stall && (client_ev & (POLLHUP | POLLERR)))
                ok = false;
            else if (!stall && (client_ev & (POLLIN | POLLHUP | POLLERR)))
                ok = relay(p.client, p.upstream, delay, rate);
            if (ok && p.upstream >= 0) {
                if (!hold && (upstream_ev & (POLLIN | POLLHUP | POLLERR)))
                    ok = relay(p.upstream, p.client, delay, rate);
                else if (hold && (upstream_ev & (POLLHUP | POLLERR)))
                    ok = false;  // the broker went away while held: what it sent is lost
            }
            if (!ok) close_pair(p);
        }
        for (std::size_t i = pairs_.size(); i-- > 0;)
            if (pairs_[i].client < 0) pairs_.erase(pairs_.begin() + static_cast<long>(i));

        if (fds[1].revents & POLLIN) {
            const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client >= 0) {
                {
                    // The mode read before poll() can be stale: a connection accepted after
                    // set_mode() returned must get the new mode.
                    std::lock_guard<std::mutex> lock(mutex_);
                    ++accepted_;
                    mode = mode_;
                }
                const int one = 1;
                ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                if (mode == Mode::Refuse) {
                    reset_close(client);
                } else if (mode == Mode::Blackhole) {
                    pairs_.push_back({client, -1});
                } else {
                    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                    sockaddr_in addr = loopback(target_port_);
                    if (upstream >= 0 &&
                        ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
                        ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        pairs_.push_back({client, upstream});
                    } else {
                        reset_close(upstream);
                        reset_close(client);
                    }
                }
            }
        }

        std::lock_guard<std::mutex> lock(mutex_);
        open_ = pairs_.size();
    }
    for (auto& p : pairs_) close_pair(p);
    pairs_.clear();
}

}  // namespace tltest
