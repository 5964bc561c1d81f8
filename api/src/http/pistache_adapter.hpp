#pragma once

#include <pistache/http_header.h>

#include <cstddef>
#include <memory>
#include <string>

namespace Pistache::Tcp {
class Peer;
}

/// Every workaround of a Pistache 0.0.5 defect lives here, apart from the dispatch policy.
namespace recs::api {

/// Pistache 0.0.5 parses Content-Length with std::stoull and lets its exceptions escape the
/// request parser: a value past 2^64 becomes a 500 whose body is the exception text, "-1" wraps
/// to 2^64 - 1 and "abc" reads as 0. This parser never throws; a value that is not 1-18 decimal
/// digits reads as 0 and marks the header invalid, so the handler answers 400 problem+json.
class CheckedContentLength : public Pistache::Http::Header::ContentLength {
public:
    void parse(const std::string& data) override;
    bool valid() const { return valid_; }

private:
    bool valid_ = true;
};

/// Makes the header registry build CheckedContentLength for "Content-Length". The first call
/// in a process does it (the registry is not locked: call before serving); later calls do
/// nothing.
void InstallCheckedContentLength();

/// Bytes the connection's request parser holds past the request being handled: requests the
/// client pipelined into the same read. Pistache 0.0.5 discards them when the handler returns
/// (they would never be answered), so the handler closes the connection after its response.
size_t UnparsedBytes(const std::shared_ptr<Pistache::Tcp::Peer>& peer);

}  // namespace recs::api
