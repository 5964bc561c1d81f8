#pragma once

#include <nlohmann/json.hpp>

#include "http/route.hpp"

namespace recs::api {

/// The most bytes of a query parameter value and of a header value the api reads.
inline constexpr size_t kMaxQueryValueBytes = 1024;

/// Checks the text of a request before anything reads it: every path parameter and query
/// value must be valid UTF-8 (else Error(kInvalidArgument) naming it) and hold no NUL or other
/// control character and at most core::kMaxIdBytes / kMaxQueryValueBytes bytes (else
/// Error(kUnprocessable) naming it); so must the headers the api uses (Authorization,
/// X-Tenant-ID, Idempotency-Key, Content-Type).
void CheckRequestText(const Request& req);

/// Decodes the body as the route declares it (RouteSpec::body) into req.json or req.items.
/// Throws core::Error: 400 for a body that is malformed, ill-encoded or nested too deep; 415
/// for a Content-Type that is not JSON (or NDJSON on bulk routes); 422 for a document whose
/// values PostgreSQL cannot store (NUL, non-finite numbers) or a bulk body over max_items.
/// A bulk item that cannot be decoded is kept with its error, so the others still count.
void DecodeBody(const RouteSpec& route, Request& req);

/// The {index, line, field, detail} entry of a rejected bulk item.
nlohmann::json RejectedItem(const BulkItem& item, const core::Error& e);

}  // namespace recs::api
