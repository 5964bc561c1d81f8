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
/// to 2^64 - 1 and "abc" reads as 0. Its body parser then reserves the declared length before
/// reading a byte (found by the framing fuzzer: "Content-Length: 73709551616" asked for 73 GB).
/// This parser never throws; a value that is not 1-18 decimal digits reads as 0 and marks the
/// header invalid (400), and one past the request limit reads as 0 and marks it too large
/// (413), so nothing is reserved for either.
class CheckedContentLength : public Pistache::Http::Header::ContentLength {
public:
    void parse(const std::string& data) override;
    bool valid() const { return valid_; }
    bool too_large() const { return too_large_; }

private:
    bool valid_ = true;
    bool too_large_ = false;
};

/// Pistache 0.0.5 reserves a chunk's declared size before reading it, as it does a
/// Content-Length: chunked bodies are refused. This header never reports a coding, so the body
/// parser refuses it before reading a chunk, and the handler answers 411 (send Content-Length).
class RefusedTransferEncoding : public Pistache::Http::Header::TransferEncoding {
public:
    void parseRaw(const char*, size_t) override {}
};

/// Makes the header registry build CheckedContentLength for "Content-Length" (declared lengths
/// above `max_request_bytes` are too large) and RefusedTransferEncoding for
/// "Transfer-Encoding". The first call in a process does it (the registry is not locked: call
/// before serving); later calls do nothing.
void InstallHeaderGuards(size_t max_request_bytes);

/// Bytes the connection's request parser holds past the request being handled: requests the
/// client pipelined into the same read. Pistache 0.0.5 discards them when the handler returns
/// (they would never be answered), so the handler closes the connection after its response.
size_t UnparsedBytes(const std::shared_ptr<Pistache::Tcp::Peer>& peer);

}  // namespace recs::api
