// TcpProxy: a loopback TCP forwarder between a client and a broker that a test can disturb:
// cut every connection abruptly (the broker sees no DISCONNECT and publishes the will), hold the
// broker-to-client direction (acknowledgements stop arriving, so messages stay in flight), refuse
// new connections, or accept them and never answer (a connect attempt that hangs); stall every
// connection both ways without closing it (a half-open link), delay each chunk it relays, or
// throttle it to a byte rate.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tltest {

class TcpProxy {
public:
    enum class Mode {
        Forward,    ///< connect each accepted client to the target port and relay both ways
        Refuse,     ///< accept and reset at once
        Blackhole,  ///< accept, read and discard, never answer
    };

    /// Listens on `listen_address` (a loopback IPv4 address) on a free port; relays to
    /// 127.0.0.1:target_port.
    explicit TcpProxy(int target_port, const std::string& listen_address = "127.0.0.1");
    ~TcpProxy();

    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    int port() const { return port_; }
    const std::string& address() const { return address_; }
    /// "<scheme>://<listen address>:<port>".
    std::string uri(const std::string& scheme = "mqtt") const {
        return scheme + "://" + address_ + ":" + std::to_string(port_);
    }

    /// Applies to connections accepted from now on.
    void set_mode(Mode mode);

    /// While held, nothing is read from the broker side (it stays in socket buffers, or is lost
    /// when the connection is cut).
    void hold_downstream(bool hold);

    /// While stalled, nothing is read from either side of any connection, open or accepted
    /// meanwhile, and nothing is closed: to both ends the link looks alive and silent. Bytes wait
    /// in socket buffers and flow again after stall(false), unless an end gave up meanwhile.
    void stall(bool stalled);

    /// Each chunk read from one side waits `delay` before it is written to the other. The relay
    /// is one thread, so a delay holds every connection's traffic behind it, as a slow link does.
    void set_delay(std::chrono::milliseconds delay);

    /// Relays at most `bytes_per_second` (0: unlimited), in chunks of a twentieth of it.
    void set_rate(std::size_t bytes_per_second);

    /// Resets every open connection (both sides) and returns once they are closed.
    void drop_all();

    std::size_t accepted() const;
    std::size_t open_connections() const;

private:
    struct Pair {
        int client = -1;
        int upstream = -1;  // -1 in Blackhole mode
    };

    void run();
    void wake();
    void close_pair(Pair& pair);
    bool relay(int from, int to, std::chrono::milliseconds delay, std::size_t rate);

    int target_port_;
    std::string address_;
    int port_ = 0;
    int listener_ = -1;
    int wake_pipe_[2] = {-1, -1};

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    Mode mode_ = Mode::Forward;
    bool hold_ = false;
    bool stall_ = false;
    std::chrono::milliseconds delay_{0};
    std::size_t rate_ = 0;
    bool stop_ = false;
    std::uint64_t drop_requested_ = 0;
    std::uint64_t drop_done_ = 0;
    std::size_t accepted_ = 0;
    std::size_t open_ = 0;

    std::vector<Pair> pairs_;  // owned by the relay thread
    std::thread thread_;
};

}  // namespace tltest
