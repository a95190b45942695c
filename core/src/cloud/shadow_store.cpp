// ShadowStore: documents to rows and back, over the storage of its database's backend.
#include "cloud/storage_backends.hpp"
#include "twinlink/shadow_service.hpp"

namespace twinlink {

namespace {

std::string describe(std::string_view device, std::string_view name) {
    std::string out = "shadow of device '" + std::string(device) + "'";
    if (!name.empty()) out = "shadow '" + std::string(name) + "' of device '" + std::string(device) + "'";
    return out;
}

detail::ShadowRow row_of(const ShadowDocument& document) {
    return {document.to_json().dump(), document.version(), document.timestamp(), document.exists()};
}

}  // namespace

ShadowStore::ShadowStore(Database& db) : storage_(detail::make_sqlite_shadow_storage(db)) {}
ShadowStore::ShadowStore(PostgresDatabase& db) : storage_(detail::make_postgres_shadow_storage(db)) {}
ShadowStore::~ShadowStore() = default;

std::optional<ShadowDocument> ShadowStore::load(std::string_view device, std::string_view name,
                                                const ShadowLimits& limits) {
    const std::optional<std::string> text = storage_->load(device, name);
    if (!text) return std::nullopt;
    // AWS names the thing in the 404 message of a classic shadow.
    const std::string label(name.empty() ? device : name);
    const auto json = nlohmann::json::parse(*text, nullptr, false);
    if (json.is_discarded())
        throw Error(Status::Io, "database '" + storage_->where() + "': the stored " + describe(device, name) +
                                    " is not JSON");
    try {
        return ShadowDocument::from_json(json, label, limits);
    } catch (const Error& e) {
        throw Error(Status::Io, "database '" + storage_->where() + "': the stored " + describe(device, name) +
                                    " is damaged: " + e.what());
    }
}

void ShadowStore::save(std::string_view device, std::string_view name, const ShadowDocument& document) {
    storage_->replace(device, name, row_of(document));
}

bool ShadowStore::save_if(std::string_view device, std::string_view name, const ShadowDocument& document,
                          const ShadowRevision& from) {
    return storage_->replace_if(device, name, row_of(document), from);
}

bool ShadowStore::shared() const { return storage_->shared(); }

std::vector<std::string> ShadowStore::devices() { return storage_->devices(); }

std::vector<ShadowSummary> ShadowStore::list(std::string_view device) { return storage_->list(device); }

}  // namespace twinlink
