// ShadowService: answers shadow requests on the client's dispatcher thread, one at a time, with a
// write-through cache of documents in front of the ShadowStore.
#include "twinlink/shadow_service.hpp"

#include <chrono>
#include <list>
#include <mutex>
#include <utility>

#include "twinlink/topic.hpp"

namespace twinlink {

using nlohmann::json;

namespace {

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A topic level or payload shown in a log line: cut short, without control characters.
std::string printable(std::string_view text, std::size_t max = 96) {
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < max; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
    }
    if (text.size() > max) out += "...";
    return out;
}

// The filter that matches every request topic of classic shadows, including operations that do
// not exist (so they can be answered): `{prefix}/+/shadow/+` or `$aws/things/+/shadow/+`. Built
// from a real topic so the layout stays ShadowTopics' business.
std::string classic_wildcard(TopicProfile profile, const std::string& prefix) {
    const ShadowTopics sample(profile, "device", "", prefix);
    std::string root = sample.root();
    const std::string device_level = "/device/";
    const auto at = root.rfind(device_level);
    root.replace(at, device_level.size(), "/+/");
    return root + "/+";
}

}  // namespace

class ShadowService::Impl : public std::enable_shared_from_this<Impl> {
public:
    Impl(Client& client, ShadowStore& store, ShadowServiceOptions options)
        : client_(client), store_(store), opts_(std::move(options)) {
        const std::string wide = classic_wildcard(opts_.profile, opts_.prefix);
        filters_.push_back(wide);
        for (auto& f : ShadowTopics::request_filters(opts_.profile, opts_.prefix))
            if (!topic_matches(wide, f)) filters_.push_back(std::move(f));
    }

    void start() {
        std::weak_ptr<Impl> weak = weak_from_this();
        const auto handler = [weak](const MessageView& m) {
            if (auto self = weak.lock()) self->on_request(m);
        };
        try {
            for (const auto& filter : filters_) sub_ids_.push_back(client_.subscribe(filter, 1, handler));
        } catch (...) {
            stop();
            throw;
        }
    }

    void stop() noexcept {
        for (auto id : sub_ids_) {
            try {
                client_.unsubscribe(id);
            } catch (const Error&) {
            }
        }
        sub_ids_.clear();
    }

    ShadowServiceStats stats() const {
        std::lock_guard<std::mutex> lock(mu_);
        ShadowServiceStats s = stats_;
        s.cached_documents = cache_.size();
        return s;
    }

    const std::vector<std::string>& filters() const { return filters_; }
    const ShadowServiceOptions& options() const { return opts_; }

private:
    using Key = std::pair<std::string, std::string>;  // device, shadow name
    struct Cached {
        ShadowDocument document;
        std::list<Key>::iterator recency;
    };

    void count(std::uint64_t ShadowServiceStats::*field) {
        std::lock_guard<std::mutex> lock(mu_);
        ++(stats_.*field);
    }

    void on_request(const MessageView& m) {
        if (m.retained) {
            count(&ShadowServiceStats::ignored_retained);
            client_.log(LogLevel::Warning, "shadow service: ignored a retained request on '" + printable(m.topic) +
                                               "' (requests must not be retained)");
            return;
        }
        count(&ShadowServiceStats::requests);
        try {
            handle(m);
        } catch (const std::exception& e) {
            // Only a bug or an allocation failure gets here: the request goes unanswered, the
            // service goes on.
            client_.log(LogLevel::Error, "shadow service: failed to handle a request on '" + printable(m.topic) +
                                             "': " + e.what());
        }
    }

    void handle(const MessageView& m) {
        const auto target = ShadowTopics::parse_request(opts_.profile, m.topic, opts_.prefix);
        if (!target) {
            // Only a topic under the classic wildcard gets here (the other filters name a valid
            // operation), and its last level is what is wrong, or its device id.
            const auto token = parse_get_request(m.payload, opts_.limits).client_token();
            reject(std::string(m.topic) + "/rejected",
                   ShadowError{400, "'" + printable(m.topic) +
                                        "' is not a shadow request topic: the operation must be update, get "
                                        "or delete, and the device id 1 to 128 characters of A-Z a-z 0-9 _ : . -"},
                   token);
            return;
        }
        const ShadowTopics topics(opts_.profile, target->device_id, target->shadow_name, opts_.prefix);
        switch (target->operation) {
            case ShadowOperation::Update: return handle_update(topics, m.payload);
            case ShadowOperation::Get: return handle_get(topics, m.payload);
            case ShadowOperation::Delete: return handle_delete(topics, m.payload);
        }
    }

    void handle_update(const ShadowTopics& topics, std::string_view payload) {
        count(&ShadowServiceStats::updates);
        const std::string rejected = topics.rejected(ShadowOperation::Update);
        auto parsed = parse_update_request(payload, opts_.limits);
        if (!parsed) return reject(rejected, parsed.error(), parsed.client_token());
        ShadowDocument* doc = document(topics, rejected, parsed.client_token());
        if (!doc) return;
        ShadowUpdateOutcome outcome = doc->apply_update(parsed.request(), now_seconds(), opts_.limits);
        if (!outcome.accepted()) return reject(rejected, *outcome.error, parsed.client_token());
        if (!save(topics, *doc, rejected, parsed.client_token())) return;
        accept();
        publish(topics.accepted(ShadowOperation::Update), outcome.payload);
        // documents before delta: a device that missed a version takes the whole document from
        // documents, so its delta handlers then see an up-to-date local copy.
        if (outcome.documents) publish(topics.documents(), *outcome.documents);
        if (outcome.delta) publish(topics.delta(), *outcome.delta);
    }

    void handle_get(const ShadowTopics& topics, std::string_view payload) {
        count(&ShadowServiceStats::gets);
        const std::string rejected = topics.rejected(ShadowOperation::Get);
        auto parsed = parse_get_request(payload, opts_.limits);
        if (!parsed) return reject(rejected, parsed.error(), parsed.client_token());
        ShadowDocument* doc = document(topics, rejected, parsed.client_token());
        if (!doc) return;
        ShadowResponse response = doc->get_response(parsed.request(), now_seconds());
        if (!response.accepted()) return reject(rejected, *response.error, parsed.client_token());
        accept();
        publish(topics.accepted(ShadowOperation::Get), response.payload);
    }

    void handle_delete(const ShadowTopics& topics, std::string_view payload) {
        count(&ShadowServiceStats::deletes);
        const std::string rejected = topics.rejected(ShadowOperation::Delete);
        auto parsed = parse_delete_request(payload, opts_.limits);
        if (!parsed) return reject(rejected, parsed.error(), parsed.client_token());
        ShadowDocument* doc = document(topics, rejected, parsed.client_token());
        if (!doc) return;
        ShadowResponse response = doc->remove(parsed.request(), now_seconds());
        if (!response.accepted()) return reject(rejected, *response.error, parsed.client_token());
        if (!save(topics, *doc, rejected, parsed.client_token())) return;
        accept();
        publish(topics.accepted(ShadowOperation::Delete), response.payload);
    }

    // The cached document of a shadow, loaded from the store on a miss (a shadow never stored is
    // a new, non-existent document). On a store failure it answers 500 and returns null.
    ShadowDocument* document(const ShadowTopics& topics, const std::string& rejected,
                             const std::optional<std::string>& token) {
        Key key{topics.device_id(), topics.shadow_name()};
        auto it = cache_.find(key);
        if (it != cache_.end()) {
            recency_.splice(recency_.begin(), recency_, it->second.recency);
            return &it->second.document;
        }
        std::optional<ShadowDocument> loaded;
        try {
            loaded = store_.load(key.first, key.second, opts_.limits);
        } catch (const Error& e) {
            client_.log(LogLevel::Error, std::string("shadow service: ") + e.what());
            reject(rejected, ShadowError{500, "the shadow could not be read from the store"}, token);
            return nullptr;
        }
        if (!loaded) loaded.emplace(key.second.empty() ? key.first : key.second);
        std::lock_guard<std::mutex> lock(mu_);  // cache_.size() is read by stats()
        while (!cache_.empty() && cache_.size() >= std::max<std::size_t>(opts_.cache_documents, 1)) {
            cache_.erase(recency_.back());
            recency_.pop_back();
        }
        recency_.push_front(key);
        it = cache_.emplace(std::move(key), Cached{std::move(*loaded), recency_.begin()}).first;
        return &it->second.document;
    }

    // Writes a changed document through to the store. On failure the cached copy (which has the
    // change) is dropped, so the next request starts again from what the store has, and the
    // request is answered with 500.
    bool save(const ShadowTopics& topics, const ShadowDocument& doc, const std::string& rejected,
              const std::optional<std::string>& token) {
        try {
            store_.save(topics.device_id(), topics.shadow_name(), doc);
            return true;
        } catch (const Error& e) {
            client_.log(LogLevel::Error, std::string("shadow service: ") + e.what());
            {
                std::lock_guard<std::mutex> lock(mu_);
                const auto it = cache_.find(Key{topics.device_id(), topics.shadow_name()});
                if (it != cache_.end()) {
                    recency_.erase(it->second.recency);
                    cache_.erase(it);
                }
            }
            reject(rejected, ShadowError{500, "the shadow could not be saved; the request was not applied"}, token);
            return false;
        }
    }

    void accept() { count(&ShadowServiceStats::accepted); }

    void reject(const std::string& topic, const ShadowError& error, const std::optional<std::string>& token) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            ++stats_.rejected;
            ++stats_.rejected_by_code[error.code];
        }
        client_.log(LogLevel::Debug, "shadow service: rejected (" + std::to_string(error.code) + ") on '" +
                                         printable(topic) + "': " + error.message);
        publish(topic, error_response(error, token, now_seconds()));
    }

    void publish(const std::string& topic, const json& payload) {
        try {
            client_.publish(topic, payload.dump(), 1, false);
        } catch (const Error& e) {
            count(&ShadowServiceStats::publish_failures);
            client_.log(LogLevel::Warning, "shadow service: could not publish to '" + printable(topic) + "': " + e.what());
        }
    }

    Client& client_;
    ShadowStore& store_;
    const ShadowServiceOptions opts_;
    std::vector<std::string> filters_;
    std::vector<std::uint64_t> sub_ids_;

    // The cache is used on the dispatcher thread only; mu_ guards the counters and the cache's
    // size as stats() sees it (changes to the cache's membership are made under it).
    std::map<Key, Cached> cache_;
    std::list<Key> recency_;  // most recently used first
    mutable std::mutex mu_;
    ShadowServiceStats stats_;
};

ShadowService::ShadowService(Client& client, ShadowStore& store, ShadowServiceOptions options)
    : impl_(std::make_shared<Impl>(client, store, std::move(options))) {
    impl_->start();
}

ShadowService::~ShadowService() { impl_->stop(); }

std::vector<std::string> ShadowService::filters() const { return impl_->filters(); }
ShadowServiceStats ShadowService::stats() const { return impl_->stats(); }
const ShadowServiceOptions& ShadowService::options() const noexcept { return impl_->options(); }

}  // namespace twinlink
