#include "common/logger.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <utility>

namespace twinlink::detail {
namespace {

thread_local int network_callback_depth = 0;

bool level_from_env(LogLevel& out) {
    const char* v = std::getenv("TWINLINK_LOG");
    if (!v) return false;
    const struct { const char* name; LogLevel level; } names[] = {
        {"error", LogLevel::Error}, {"warning", LogLevel::Warning},
        {"info", LogLevel::Info}, {"debug", LogLevel::Debug}};
    for (const auto& n : names) {
        if (std::strcmp(v, n.name) == 0) {
            out = n.level;
            return true;
        }
    }
    return false;
}

}  // namespace

NetworkCallbackScope::NetworkCallbackScope() noexcept { ++network_callback_depth; }
NetworkCallbackScope::~NetworkCallbackScope() { --network_callback_depth; }

bool on_network_thread() noexcept { return network_callback_depth > 0; }

struct Logger::State {
    LogHandler sink;
    LogLevel level = LogLevel::Info;

    std::mutex mu;
    std::deque<std::pair<LogLevel, std::string>> queue;
    bool writing = false;        // a thread is in write_queued()
    bool write_deferred = false; // a write is handed to the deferral and has not started yet
    Deferral deferral;
};

Logger::Logger() : state_(std::make_shared<State>()) {}

Logger::Logger(LogHandler handler, LogLevel level) : state_(std::make_shared<State>()) {
    state_->sink = std::move(handler);
    state_->level = level;
    if (state_->sink) return;
    LogLevel env_level;
    if (level_from_env(env_level)) {
        state_->level = env_level;
        state_->sink = [](LogLevel l, const std::string& m) {
            std::fprintf(stderr, "twinlink %s: %s\n", log_level_name(l), m.c_str());
        };
    }
}

bool Logger::enabled(LogLevel level) const noexcept { return state_->sink && level <= state_->level; }

void Logger::set_deferral(Deferral deferral) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->deferral = std::move(deferral);
}

void Logger::log(LogLevel level, const std::string& message) const {
    if (!enabled(level)) return;
    const bool network = on_network_thread();
    Deferral deferral;
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        state_->queue.emplace_back(level, message);
        if (state_->writing) return;  // the thread that is writing takes this line too
        if (!network) {
            state_->writing = true;
        } else {
            if (state_->write_deferred || !state_->deferral) return;
            state_->write_deferred = true;
            deferral = state_->deferral;
        }
    }
    if (!network) {
        write_queued(*state_);
        return;
    }
    try {
        deferral([state = state_] {
            {
                std::lock_guard<std::mutex> lock(state->mu);
                state->write_deferred = false;
                if (state->writing) return;
                state->writing = true;
            }
            write_queued(*state);
        });
    } catch (...) {
        // Out of memory: the line stays queued for the next writer.
        std::lock_guard<std::mutex> lock(state_->mu);
        state_->write_deferred = false;
    }
}

void Logger::flush() const {
    if (on_network_thread()) return;
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        if (state_->writing || state_->queue.empty()) return;
        state_->writing = true;
    }
    write_queued(*state_);
}

void Logger::write_queued(State& state) {
    for (;;) {
        std::pair<LogLevel, std::string> line;
        {
            std::lock_guard<std::mutex> lock(state.mu);
            if (state.queue.empty()) {
                state.writing = false;
                return;
            }
            line = std::move(state.queue.front());
            state.queue.pop_front();
        }
        try {
            state.sink(line.first, line.second);
        } catch (...) {
            // A throwing log sink must not take down the thread that logged.
        }
    }
}

}  // namespace twinlink::detail
