// twinlink/shadow_service.hpp — the cloud side of the shadow: a store of documents and the
// service that answers shadow requests over MQTT.
//
// This is twinlink's reference cloud (what `twinlink serve` runs): it plays the part of AWS IoT
// Device Shadow for devices and backends on a local broker. The ShadowService subscribes to the
// request topics of every device, applies each request to that shadow's ShadowDocument, keeps the
// document in a ShadowStore (SQLite) and publishes the responses of docs/protocol.md.
//
//     Database db("/var/lib/twinlink/cloud.db");
//     ShadowStore store(db);
//     Client client(options);
//     client.connect(10s);
//     ShadowService service(client, store, {});   // answering from here on
//
// One ShadowService per database: the service caches documents and assumes nothing else writes
// them behind its back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "twinlink/client.hpp"
#include "twinlink/database.hpp"
#include "twinlink/shadow_document.hpp"
#include "twinlink/shadow_request.hpp"
#include "twinlink/shadow_topics.hpp"

namespace twinlink {

class PostgresDatabase;

namespace detail {
class ShadowStorage;
}

/// One stored shadow, as ShadowStore::list() describes it.
struct ShadowSummary {
    std::string device;
    std::string name;           ///< empty for the classic shadow
    std::uint64_t version = 0;  ///< of the last accepted change
    std::int64_t timestamp = 0; ///< seconds since the epoch, of the last change
    bool exists = false;        ///< false once deleted (the version counter is kept)
};

/// What a change to a shadow was computed from: the stored version and existence, or nothing
/// stored. ShadowStore::save_if() writes only when the store still holds it.
struct ShadowRevision {
    bool stored = false;        ///< false: the shadow was never stored
    std::uint64_t version = 0;  ///< the stored version (when stored)
    bool exists = false;        ///< false: deleted (when stored)

    /// The revision of `document` as loaded (`stored`: it came from the store).
    static ShadowRevision of(const ShadowDocument& document, bool stored) {
        return {stored, stored ? document.version() : 0, stored && document.exists()};
    }
};

/// Shadow documents by (device, shadow name) in a SQLite Database or a PostgresDatabase (module
/// "shadow", table `shadow`, the same columns in both), each stored as ShadowDocument::to_json().
/// Every member is thread-safe (it runs under the database's mutex). The database must outlive the
/// store.
class ShadowStore {
public:
    /// Creates or upgrades the module's tables. Throws Error(Io).
    explicit ShadowStore(Database& db);
    /// The same on PostgreSQL, where several stores (processes) may share the table: use
    /// save_if() to change a document there.
    explicit ShadowStore(PostgresDatabase& db);
    ~ShadowStore();
    ShadowStore(const ShadowStore&) = delete;
    ShadowStore& operator=(const ShadowStore&) = delete;

    /// The stored document, or nothing when this shadow was never stored. A deleted shadow comes
    /// back as a document that does not exist but keeps its version. `limits` are those the
    /// document is checked against (ShadowDocument::from_json). Throws Error(Io) when the stored
    /// document cannot be read back (naming the shadow and the database).
    std::optional<ShadowDocument> load(std::string_view device, std::string_view name,
                                       const ShadowLimits& limits = {});

    /// Stores `document` (replacing what was stored). Throws Error(Io).
    void save(std::string_view device, std::string_view name, const ShadowDocument& document);

    /// Stores `document` only when the stored shadow is still at `from` (optimistic concurrency:
    /// the check and the write are one SQL statement). Returns false, and writes nothing, when
    /// another writer changed the shadow since; load it again and redo the change. Of several
    /// writers that computed the same version from the same revision, exactly one succeeds.
    /// Throws Error(Io).
    bool save_if(std::string_view device, std::string_view name, const ShadowDocument& document,
                 const ShadowRevision& from);

    /// True when other processes may change the stored shadows (PostgreSQL): a document kept in
    /// memory may then be stale.
    bool shared() const;

    /// The devices that have at least one existing shadow, sorted.
    std::vector<std::string> devices();

    /// Every stored shadow (deleted ones included) of `device`, or of all devices when `device`
    /// is empty; sorted by device, then name.
    std::vector<ShadowSummary> list(std::string_view device = {});

private:
    std::unique_ptr<detail::ShadowStorage> storage_;
};

struct ShadowServiceOptions {
    TopicProfile profile = TopicProfile::Twinlink;
    std::string prefix = std::string(kDefaultTopicPrefix);  ///< Twinlink profile only
    ShadowLimits limits;
    /// Documents kept in memory, the least recently used dropped first (the store has them all).
    std::size_t cache_documents = 10000;
    /// MQTT 5 shared subscription group: when set, the service subscribes to
    /// "$share/{share_group}/{filter}", and the broker gives each request to one service of the
    /// group (several `twinlink serve` instances on one PostgreSQL database). The client must use
    /// MQTT 5. Empty: a plain subscription.
    std::string share_group;
};

struct ShadowServiceStats {
    std::uint64_t requests = 0;  ///< messages received on request topics (retained ones excepted)
    std::uint64_t updates = 0;   ///< requests by operation; a topic with an unknown operation
    std::uint64_t gets = 0;      ///< counts in `requests` (and is rejected with 400) only
    std::uint64_t deletes = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
    std::map<int, std::uint64_t> rejected_by_code;  ///< 400, 404, 409, 413, 500
    std::uint64_t ignored_retained = 0;  ///< stale retained requests, which are never applied
    std::uint64_t publish_failures = 0;  ///< responses the client refused to queue (QueueFull)
    std::uint64_t conflicts = 0;  ///< saves that found the shadow changed by another writer (retried)
    std::uint64_t cached_documents = 0;  ///< now in memory
};

/// Answers the shadow requests of every device, on one Client.
///
/// For each message on a request topic it parses the topic (ShadowTopics::parse_request) and the
/// payload (parse_update_request, parse_get_request, parse_delete_request), applies the request
/// to the document at the current time, saves a changed document before it answers, and
/// publishes, at QoS 1 and not retained: `{op}/accepted` or `{op}/rejected`; for an accepted
/// update also `update/documents` and, when the delta is not empty, `update/delta`.
///
/// Bad input never stops it. Malformed or oversized payloads, invalid versions and the like are
/// rejected with the code the shadow model gives (400, 409, 413); so is a topic that names no
/// valid shadow operation (400 on `{topic}/rejected`, for the classic shadow's topics: the
/// service subscribes to `{root}/+` there, and to the three operations of named shadows). A
/// document the store cannot read or write gets 500 (the request is not applied). Retained
/// request messages are ignored (a retained request is a stale one, delivered again at every
/// subscribe).
///
/// Requests are handled one at a time on the client's dispatcher thread, so two requests to the
/// same shadow are applied in the order the broker delivered them.
///
/// Several services on one shared store (PostgreSQL, with a share group) each read the document
/// from the store for every request and write it with ShadowStore::save_if(): when another
/// service accepted a change first, the request is applied again to the newer document (a
/// request with a now stale version then gets 409), so each version is accepted once.
class ShadowService {
public:
    /// Subscribes to the request topics (waiting for the broker when connected, else they are
    /// subscribed at connect). `client` and `store` must outlive the service. Throws
    /// Error(InvalidArgument) for a bad prefix, and the errors of Client::subscribe.
    ShadowService(Client& client, ShadowStore& store, ShadowServiceOptions options = {});
    /// Unsubscribes; after it returns no request is being handled. Never throws.
    ~ShadowService();

    ShadowService(const ShadowService&) = delete;
    ShadowService& operator=(const ShadowService&) = delete;

    /// The filters the service subscribes to.
    std::vector<std::string> filters() const;

    /// Counters since construction. Any thread.
    ShadowServiceStats stats() const;

    const ShadowServiceOptions& options() const noexcept;

    class Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace twinlink
