// DatapointSink: decodes the batches it receives on the client's dispatcher thread and hands them
// to the DatapointStore, which drops redeliveries.
#include "twinlink/datapoint_sink.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "cloud/share_group.hpp"
#include "twinlink/delivery_receipt.hpp"
#include "twinlink/shadow_topics.hpp"
#include "twinlink/topic.hpp"

namespace twinlink {

namespace {

// A topic level or a message shown in a log line: cut short, without control characters.
std::string printable(std::string_view text, std::size_t max = 96) {
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < max; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
    }
    if (text.size() > max) out += "...";
    return out;
}

// The index of the first '+' level of `filter`: where the device id is in the topics it matches.
std::optional<std::size_t> device_level(std::string_view filter) {
    std::size_t level = 0;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = filter.find('/', start);
        if (filter.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start) == "+")
            return level;
        if (end == std::string_view::npos) return std::nullopt;
        start = end + 1;
        ++level;
    }
}

// Level `index` of `topic` (which has it: the topic matched a filter with a '+' there).
std::string_view topic_level(std::string_view topic, std::size_t index) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < index; ++i) start = topic.find('/', start) + 1;
    const std::size_t end = topic.find('/', start);
    return topic.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

}  // namespace

class DatapointSink::Impl : public std::enable_shared_from_this<Impl> {
public:
    Impl(Client& client, DatapointStore& store, DatapointSinkOptions options)
        : client_(client), store_(store), opts_(std::move(options)) {
        if (opts_.filters.empty()) throw Error(Status::InvalidArgument, "datapoint sink: no topic filter given");
        for (const auto& filter : opts_.filters) validate_topic_filter(filter);
        if (!opts_.share_group.empty()) detail::validate_share_group(opts_.share_group);
        if (opts_.max_batch_bytes == 0) throw Error(Status::InvalidArgument, "datapoint sink: max_batch_bytes is 0");
        if (!opts_.receipt_topic.empty()) {
            if (opts_.receipt_topic.find("{device}") == std::string::npos)
                throw Error(Status::InvalidArgument, "datapoint sink: the receipt topic has no {device}");
            validate_topic_name(receipt_topic("d"));
        }
    }

    void start() {
        std::weak_ptr<Impl> weak = weak_from_this();
        try {
            for (const auto& filter : opts_.filters) {
                // The device level is counted in the filter as topics show it, without "$share/g/".
                const auto level = device_level(filter);
                sub_ids_.push_back(client_.subscribe(detail::shared_filter(opts_.share_group, filter), 1, [weak, level](const MessageView& m) {
                    if (auto self = weak.lock()) self->on_message(m, level);
                }));
            }
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

    DatapointSinkStats stats() const {
        std::lock_guard<std::mutex> lock(mu_);
        return stats_;
    }

    const DatapointSinkOptions& options() const { return opts_; }

private:
    void on_message(const MessageView& m, std::optional<std::size_t> level) {
        if (m.payload.size() > opts_.max_batch_bytes)
            return reject(m.topic, "the message has " + std::to_string(m.payload.size()) +
                                       " bytes; the sink accepts at most " + std::to_string(opts_.max_batch_bytes));
        DecodedBatch batch;
        try {
            batch = decode_batch(m.payload);
        } catch (const Error& e) {
            return reject(m.topic, e.what());
        }
        if (level) {
            const std::string_view device = topic_level(m.topic, *level);
            if (device != batch.device)
                return reject(m.topic, "the batch is from device '" + printable(batch.device) +
                                           "' but was published on a topic of device '" + printable(device) + "'");
        }
        InsertOutcome outcome;
        try {
            outcome = store_.insert(batch);
        } catch (const std::exception& e) {
            {
                std::lock_guard<std::mutex> lock(mu_);
                ++stats_.failed;
            }
            client_.log(LogLevel::Error, "datapoint sink: batch " + std::to_string(batch.seq) + " of device '" +
                                             printable(batch.device) + "' (" + std::to_string(batch.points.size()) +
                                             " points) could not be stored: " + e.what());
            return;
        }
        std::lock_guard<std::mutex> lock(mu_);
        note_stored(batch.device, batch.seq);
        switch (outcome) {
            case InsertOutcome::Duplicate: ++stats_.duplicates; return;
            case InsertOutcome::SeqReused: ++stats_.seq_reused; break;
            case InsertOutcome::Stored: break;
        }
        ++stats_.batches;
        stats_.points += batch.points.size();
    }

    std::string receipt_topic(std::string_view device) const {
        std::string topic = opts_.receipt_topic;
        for (std::size_t pos = topic.find("{device}"); pos != std::string::npos; pos = topic.find("{device}", pos))
            topic.replace(pos, 8, device);
        return topic;
    }

    // Under mu_. The first seq noted since the last receipts went out queues the task that sends
    // them: it runs after the messages already waiting, so one receipt covers a whole burst.
    void note_stored(const std::string& device, std::uint64_t seq) {
        if (opts_.receipt_topic.empty()) return;
        unreceipted_[device].push_back(seq);
        if (receipts_queued_) return;
        receipts_queued_ = true;
        client_.dispatch([weak = weak_from_this()] {
            if (auto self = weak.lock()) self->send_receipts();
        });
    }

    void send_receipts() {
        std::map<std::string, std::vector<std::uint64_t>> due;
        {
            std::lock_guard<std::mutex> lock(mu_);
            due.swap(unreceipted_);
            receipts_queued_ = false;
        }
        std::uint64_t sent = 0;
        for (auto& [device, seqs] : due) {
            try {
                validate_device_id(device);  // it becomes a topic level
                for (auto& payload : encode_receipts(device, std::move(seqs))) {
                    client_.publish(receipt_topic(device), std::move(payload), 1, false);
                    ++sent;
                }
            } catch (const Error& e) {
                // The device sends the batches again when no receipt comes; the sink drops the
                // duplicates and tries the receipt again then.
                client_.log(LogLevel::Warning, "datapoint sink: no receipt for device '" + printable(device) +
                                                   "': " + e.what());
            }
        }
        std::lock_guard<std::mutex> lock(mu_);
        stats_.receipts += sent;
    }

    void reject(std::string_view topic, const std::string& why) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            ++stats_.rejected;
        }
        client_.log(LogLevel::Warning, "datapoint sink: rejected a message on '" + printable(topic) + "': " + why);
    }

    Client& client_;
    DatapointStore& store_;
    const DatapointSinkOptions opts_;
    std::vector<std::uint64_t> sub_ids_;
    mutable std::mutex mu_;
    DatapointSinkStats stats_;  // under mu_
    std::map<std::string, std::vector<std::uint64_t>> unreceipted_;  // under mu_: stored, no receipt sent yet
    bool receipts_queued_ = false;                                    // under mu_
};

DatapointSink::DatapointSink(Client& client, DatapointStore& store, DatapointSinkOptions options)
    : impl_(std::make_shared<Impl>(client, store, std::move(options))) {
    impl_->start();
}

DatapointSink::~DatapointSink() { impl_->stop(); }

DatapointSinkStats DatapointSink::stats() const { return impl_->stats(); }
const DatapointSinkOptions& DatapointSink::options() const noexcept { return impl_->options(); }

}  // namespace twinlink
