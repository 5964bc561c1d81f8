#pragma once

#include <pistache/http_header.h>

#include <string>

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

}  // namespace recs::api
