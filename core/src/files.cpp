#include "recs/core/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"

namespace recs::core {

void WriteFileDurably(const std::string& path, std::string_view bytes, const char* what) {
    auto fail = [&](const char* step) {
        throw core::Error(
            core::ErrorCode::kUnavailable,
            std::string("cannot write ") + what + ": " + step + ": " + std::strerror(errno));
    };
    std::string tmp = path + ".tmp-" + core::RandomToken(12);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) fail("create");
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int saved = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            errno = saved;
            fail("write");
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        int saved = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        errno = saved;
        fail("fsync");
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        fail("rename");
    }
    std::string dir =
        path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);  // the rename itself survives a crash
        ::close(dfd);
    }
}

}  // namespace recs::core
