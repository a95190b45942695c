#include "shadow/shadow_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include "shadow/json_nesting.hpp"
#include "twinlink/status.hpp"

namespace twinlink::detail {
namespace {

[[noreturn]] void io_error(const std::string& what, const std::string& path) {
    throw Error(Status::Io, what + " '" + path + "': " + std::strerror(errno));
}

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::optional<nlohmann::json> ShadowFile::load() const {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) return std::nullopt;
        io_error("cannot read the shadow file", path_);
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    if (detail::json_nesting_exceeds(text, detail::kMaxShadowMessageNesting))
        throw Error(Status::InvalidArgument, "the shadow file '" + path_ + "' is nested more than " +
                                                 std::to_string(detail::kMaxShadowMessageNesting) +
                                                 " levels deep");
    // As a string_view, like every parse in the library: one instantiation of the parser.
    auto json = nlohmann::json::parse(std::string_view(text), nullptr, false);
    if (json.is_discarded())
        throw Error(Status::InvalidArgument, "the shadow file '" + path_ + "' is not valid JSON");
    return json;
}

void ShadowFile::store(const nlohmann::json& content) const {
    const std::string tmp = path_ + ".tmp";
    const std::string text = content.dump();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) io_error("cannot write the shadow file", tmp);
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            io_error("cannot write the shadow file", tmp);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        ::close(fd);
        io_error("cannot sync the shadow file", tmp);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path_.c_str()) != 0) io_error("cannot replace the shadow file", path_);
    const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);  // makes the rename itself durable
        ::close(dir);
    }
}

}  // namespace twinlink::detail
