// ShadowFile: the device's last known shadow document on disk, written atomically (temporary file,
// fsync, rename, fsync of the directory) so a crash leaves either the old or the new version.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace twinlink::detail {

class ShadowFile {
public:
    explicit ShadowFile(std::string path) : path_(std::move(path)) {}

    /// The stored JSON, or nothing when the file does not exist. Throws Error(Io) when it cannot
    /// be read and Error(InvalidArgument) when it is not JSON (a corrupt file is not silently
    /// replaced: the caller decides).
    std::optional<nlohmann::json> load() const;
    /// Throws Error(Io) naming the path and the system error.
    void store(const nlohmann::json& content) const;

    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

}  // namespace twinlink::detail
