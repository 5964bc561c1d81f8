#include "http/pistache_adapter.hpp"

#include <pistache/http.h>
#include <pistache/http_headers.h>
#include <pistache/peer.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace recs::api {

namespace Header = Pistache::Http::Header;

namespace {
std::atomic<uint64_t> g_max_request_bytes{uint64_t{1} << 30};
}

void CheckedContentLength::parse(const std::string& data) {
    size_t begin = data.find_first_not_of(" \t");
    size_t end = data.find_last_not_of(" \t");
    valid_ = begin != std::string::npos && end - begin < 18;
    uint64_t v = 0;
    for (size_t i = begin; valid_ && i <= end; ++i) {
        valid_ = data[i] >= '0' && data[i] <= '9';
        v = v * 10 + static_cast<uint64_t>(data[i] - '0');
    }
    too_large_ = valid_ && v > g_max_request_bytes.load();
    if (valid_ && !too_large_) ContentLength::parse(data.substr(begin, end - begin + 1));
}

namespace {

// The registry offers no way to replace a header's parser, and its map is private. An explicit
// template instantiation may name a private member ([temp.spec.general]: access checking does
// not apply there), which hands out a pointer to the map; nothing else of Pistache is touched.
using RegistryMap = std::unordered_map<std::string,
                                       std::function<std::unique_ptr<Header::Header>()>,
                                       Header::LowercaseHash,
                                       Header::LowercaseEqual>;
using RegistryMember = RegistryMap Header::Registry::*;

RegistryMember RegistryMapMember();

template <RegistryMember M>
struct RegistryAccess {
    friend RegistryMember RegistryMapMember() { return M; }
};
template struct RegistryAccess<&Header::Registry::registry>;

}  // namespace

void InstallHeaderGuards(size_t max_request_bytes) {
    // Once per process: a second server in the same process must not write the map while the
    // first one's reactor threads read it (the limit is an atomic: the last server's wins).
    g_max_request_bytes = max_request_bytes;
    static std::once_flag once;
    std::call_once(once, [] {
        RegistryMap& map = Header::Registry::instance().*RegistryMapMember();
        map[Header::ContentLength::Name] = [] { return std::make_unique<CheckedContentLength>(); };
        map[Header::TransferEncoding::Name] = [] {
            return std::make_unique<RefusedTransferEncoding>();
        };
    });
}

namespace {

// The same device for the parser's cursor (private in ParserBase): how far it has read.
using Cursor = Pistache::StreamCursor;
using CursorMember = Cursor Pistache::Http::Private::ParserBase::*;

CursorMember ParserCursorMember();

template <CursorMember M>
struct CursorAccess {
    friend CursorMember ParserCursorMember() { return M; }
};
template struct CursorAccess<&Pistache::Http::Private::ParserBase::cursor>;

}  // namespace

size_t UnparsedBytes(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
    if (!peer) return 0;
    auto parser = Pistache::Http::Handler::getParser(peer);
    if (!parser) return 0;
    return ((*parser).*ParserCursorMember()).remaining();
}

}  // namespace recs::api
