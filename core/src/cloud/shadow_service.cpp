// ShadowService: answers shadow requests on the client's dispatcher thread, one at a time, with a
// write-through cache of documents in front of the ShadowStore.
#include "twinlink/shadow_service.hpp"

#include <chrono>
#include <list>
#include <mutex>
#include <utility>

#include "cloud/share_group.hpp"
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
        for (auto& f : filters_) f = detail::shared_filter(opts_.share_group, f);
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
        ShadowRevision revision;  // what the store held when the document was loaded or saved
        std::list<Key>::iterator recency;
    };
    // Attempts at a request whose shadow other instances keep changing under it.
    static constexpr int kMaxAttempts = 8;

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
        for (int attempt = 1;; ++attempt) {
            Cached* entry = document(topics, rejected, parsed.client_token());
            if (!entry) return;
            ShadowUpdateOutcome outcome = entry->document.apply_update(parsed.request(), now_seconds(), opts_.limits);
            if (!outcome.accepted()) return reject(rejected, *outcome.error, parsed.client_token());
            const Saved saved = save(topics, *entry, rejected, parsed.client_token(), attempt);
            if (saved == Saved::Conflict) continue;
            if (saved == Saved::Failed) return;
            accept();
            publish(topics.accepted(ShadowOperation::Update), outcome.payload);
            // documents before delta: a device that missed a version takes the whole document from
            // documents, so its delta handlers then see an up-to-date local copy.
            if (outcome.documents) publish(topics.documents(), *outcome.documents);
            if (outcome.delta) publish(topics.delta(), *outcome.delta);
            return;
        }
    }

    void handle_get(const ShadowTopics& topics, std::string_view payload) {
        count(&ShadowServiceStats::gets);
        const std::string rejected = topics.rejected(ShadowOperation::Get);
        auto parsed = parse_get_request(payload, opts_.limits);
        if (!parsed) return reject(rejected, parsed.error(), parsed.client_token());
        Cached* entry = document(topics, rejected, parsed.client_token());
        if (!entry) return;
        ShadowResponse response = entry->document.get_response(parsed.request(), now_seconds());
        if (!response.accepted()) return reject(rejected, *response.error, parsed.client_token());
        accept();
        publish(topics.accepted(ShadowOperation::Get), response.payload);
    }

    void handle_delete(const ShadowTopics& topics, std::string_view payload) {
        count(&ShadowServiceStats::deletes);
        const std::string rejected = topics.rejected(ShadowOperation::Delete);
        auto parsed = parse_delete_request(payload, opts_.limits);
        if (!parsed) return reject(rejected, parsed.error(), parsed.client_token());
        for (int attempt = 1;; ++attempt) {
            Cached* entry = document(topics, rejected, parsed.client_token());
            if (!entry) return;
            ShadowResponse response = entry->document.remove(parsed.request(), now_seconds());
            if (!response.accepted()) return reject(rejected, *response.error, parsed.client_token());
            const Saved saved = save(topics, *entry, rejected, parsed.client_token(), attempt);
            if (saved == Saved::Conflict) continue;
            if (saved == Saved::Failed) return;
            accept();
            publish(topics.accepted(ShadowOperation::Delete), response.payload);
            return;
        }
    }

    // The cached document of a shadow, loaded from the store on a miss (a shadow never stored is
    // a new, non-existent document). A store that other instances write (PostgreSQL) is read on
    // every request: a cached copy may be stale there. On a store failure it answers 500 and
    // returns null.
    Cached* document(const ShadowTopics& topics, const std::string& rejected,
                     const std::optional<std::string>& token) {
        Key key{topics.device_id(), topics.shadow_name()};
        auto it = cache_.find(key);
        if (it != cache_.end()) {
            if (!store_.shared()) {
                recency_.splice(recency_.begin(), recency_, it->second.recency);
                return &it->second;
            }
            forget(key);
        }
        std::optional<ShadowDocument> loaded;
        try {
            loaded = store_.load(key.first, key.second, opts_.limits);
        } catch (const Error& e) {
            client_.log(LogLevel::Error, std::string("shadow service: ") + e.what());
            reject(rejected, ShadowError{500, "the shadow could not be read from the store"}, token);
            return nullptr;
        }
        const bool stored = loaded.has_value();
        if (!loaded) loaded.emplace(key.second.empty() ? key.first : key.second);
        const ShadowRevision revision = ShadowRevision::of(*loaded, stored);
        std::lock_guard<std::mutex> lock(mu_);  // cache_.size() is read by stats()
        while (!cache_.empty() && cache_.size() >= std::max<std::size_t>(opts_.cache_documents, 1)) {
            cache_.erase(recency_.back());
            recency_.pop_back();
        }
        recency_.push_front(key);
        it = cache_.emplace(std::move(key), Cached{std::move(*loaded), revision, recency_.begin()}).first;
        return &it->second;
    }

    void forget(const Key& key) {
        std::lock_guard<std::mutex> lock(mu_);
        const auto it = cache_.find(key);
        if (it == cache_.end()) return;
        recency_.erase(it->second.recency);
        cache_.erase(it);
    }

    enum class Saved { Ok, Conflict, Failed };

    // Writes a changed document through to the store, if the store still holds the revision it
    // was computed from. When another instance changed the shadow first (Conflict), the cached
    // copy is dropped so that the caller's next attempt starts from the store; after
    // kMaxAttempts the request is answered with 500. On a failure of the store the cached copy
    // (which has the change) is dropped too, and the request is answered with 500.
    Saved save(const ShadowTopics& topics, Cached& entry, const std::string& rejected,
               const std::optional<std::string>& token, int attempt) {
        const Key key{topics.device_id(), topics.shadow_name()};
        try {
            if (store_.save_if(key.first, key.second, entry.document, entry.revision)) {
                entry.revision = ShadowRevision::of(entry.document, true);
                return Saved::Ok;
            }
            forget(key);
            count(&ShadowServiceStats::conflicts);
            if (attempt < kMaxAttempts) return Saved::Conflict;
            reject(rejected, ShadowError{500, "the shadow changed under the request " + std::to_string(kMaxAttempts) +
                                                  " times; the request was not applied"},
                   token);
            return Saved::Failed;
        } catch (const Error& e) {
            client_.log(LogLevel::Error, std::string("shadow service: ") + e.what());
            forget(key);
            reject(rejected, ShadowError{500, "the shadow could not be saved; the request was not applied"}, token);
            return Saved::Failed;
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
