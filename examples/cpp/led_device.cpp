// led_device.cpp: a device whose LED follows the desired state of its shadow.
//
//   usage: led_device BROKER_URI [DEVICE_ID [CHANGES [TIMEOUT_S]]]
//          led_device mqtt://127.0.0.1:1883 demo-led 2 60
//
// Connects, reports its LED as off, then follows the desired state (a change desired while it was
// off comes first): every delta of "/led" switches the LED ("LED is now on") and reports the new state back, which clears the
// delta. Set the desired state with `twinlink shadow desire demo-led '{"led":"on"}'` while
// `twinlink serve` runs on the same broker. Exits 0 after CHANGES switches (0: no limit) or when
// TIMEOUT_S (default 60) passes without a limit; 1 when a limit was not reached in time or on error.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "twinlink/client.hpp"
#include "twinlink/shadow.hpp"

namespace {

std::atomic<bool> interrupted{false};

void on_signal(int) { interrupted = true; }

// The "hardware": a real device would drive a GPIO here.
class Led {
public:
    void set(const std::string& state) {
        std::lock_guard<std::mutex> lock(mu_);
        state_ = state;
        std::cout << "LED is now " << state << std::endl;
    }
    // Counts a change once it is reported, so that the program does not exit before the cloud
    // knows about it.
    void reported() {
        std::lock_guard<std::mutex> lock(mu_);
        ++changes_;
        changed_.notify_all();
    }
    std::string state() const {
        std::lock_guard<std::mutex> lock(mu_);
        return state_;
    }
    // Waits up to `timeout` for `count` changes in all; returns whether they happened.
    bool wait_changes(unsigned count, std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mu_);
        return changed_.wait_for(lock, timeout, [&] { return changes_ >= count; });
    }

private:
    mutable std::mutex mu_;
    std::condition_variable changed_;
    std::string state_ = "off";
    unsigned changes_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    using namespace std::chrono_literals;
    if (argc < 2 || argc > 5) {
        std::cerr << "usage: led_device BROKER_URI [DEVICE_ID [CHANGES [TIMEOUT_S]]]\n";
        return 2;
    }
    const std::string broker = argv[1];
    const std::string device = argc > 2 ? argv[2] : "demo-led";
    const unsigned changes = argc > 3 ? static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10)) : 0;
    const auto timeout = std::chrono::seconds(argc > 4 ? std::strtol(argv[4], nullptr, 10) : 60);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    try {
        twinlink::ClientOptions options;
        options.brokers = {broker};
        twinlink::Client client(options);
        client.connect(10s);

        twinlink::ShadowOptions shadow_options;
        shadow_options.device = device;
        twinlink::Shadow shadow(client, shadow_options);

        Led led;
        shadow.report({{"led", led.state()}}, 10s);
        std::cout << "led_device: " << device << " ready, LED is " << led.state() << std::endl;

        // Registered once connected: a change desired while the device was off is the first delta
        // it gets. Runs on the client's dispatcher thread; report() may block there (it waits for
        // the cloud's answer, which the shadow receives on another thread).
        shadow.on_delta("/led", [&](const nlohmann::json& desired, std::uint64_t version) {
            if (desired != "on" && desired != "off") {
                std::cerr << "led_device: ignoring desired led " << desired.dump() << " (version " << version
                          << "); it must be \"on\" or \"off\"\n";
                return;
            }
            led.set(desired.get<std::string>());
            try {
                shadow.report({{"led", led.state()}}, 10s);
            } catch (const twinlink::Error& e) {
                std::cerr << "led_device: report failed: " << e.what() << "\n";
            }
            led.reported();
        });

        const auto deadline = std::chrono::steady_clock::now() + timeout;
        bool done = false;
        while (!interrupted && !done && std::chrono::steady_clock::now() < deadline) {
            if (changes > 0)
                done = led.wait_changes(changes, 100ms);
            else
                std::this_thread::sleep_for(100ms);
        }
        client.disconnect(2s);
        if (changes > 0 && !done && !interrupted) {
            std::cerr << "led_device: fewer than " << changes << " changes within " << timeout.count() << " s\n";
            return 1;
        }
        return 0;
    } catch (const twinlink::Error& e) {
        std::cerr << "led_device: " << e.what() << "\n";
        return 1;
    }
}
