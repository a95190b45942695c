#include "mqtt/tcp_socket.hpp"

#include <cerrno>

#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace twinlink::detail {

bool tcp_reachable(const std::string& host, int port, std::chrono::milliseconds timeout) noexcept {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
    bool reachable = false;
    for (addrinfo* a = found; a && !reachable; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            reachable = true;
        } else if (errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            int err = 0;
            socklen_t len = sizeof err;
            reachable = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
                        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
        }
        ::close(fd);
    }
    freeaddrinfo(found);
    return reachable;
}

namespace {

bool same_address(const sockaddr_storage& a, const sockaddr* b) {
    if (a.ss_family != b->sa_family) return false;
    if (a.ss_family == AF_INET) {
        const auto& x = reinterpret_cast<const sockaddr_in&>(a);
        const auto* y = reinterpret_cast<const sockaddr_in*>(b);
        return x.sin_port == y->sin_port && x.sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a.ss_family == AF_INET6) {
        const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
        const auto* y = reinterpret_cast<const sockaddr_in6*>(b);
        return x.sin6_port == y->sin6_port && std::memcmp(&x.sin6_addr, &y->sin6_addr, sizeof x.sin6_addr) == 0;
    }
    return false;
}

}  // namespace

int disable_nagle(const std::vector<Endpoint>& endpoints) noexcept {
    std::vector<addrinfo*> resolved;
    for (const auto& e : endpoints) {
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        if (getaddrinfo(e.host.c_str(), std::to_string(e.port).c_str(), &hints, &found) == 0) resolved.push_back(found);
    }
    int count = 0;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (const dirent* entry = ::readdir(dir)) {
            char* end = nullptr;
            const long fd = std::strtol(entry->d_name, &end, 10);
            if (end == entry->d_name || *end != '\0') continue;
            int type = 0;
            socklen_t len = sizeof type;
            if (::getsockopt(int(fd), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
            sockaddr_storage peer{};
            socklen_t peer_len = sizeof peer;
            if (::getpeername(int(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
            bool ours = false;
            for (const addrinfo* list : resolved)
                for (const addrinfo* a = list; a && !ours; a = a->ai_next) ours = same_address(peer, a->ai_addr);
            if (!ours) continue;
            const int one = 1;
            if (::setsockopt(int(fd), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) ++count;
        }
        ::closedir(dir);
    }
    for (addrinfo* list : resolved) freeaddrinfo(list);
    return count;
}

}  // namespace twinlink::detail
