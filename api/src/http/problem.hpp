#pragma once

#include <string>

#include "http/route.hpp"
#include "recs/core/error.hpp"

namespace recs::api {

/// HTTP status of an error code.
int StatusOf(core::ErrorCode code);

/// The one mapper from an error to an RFC 9457 application/problem+json response.
Response ProblemResponse(const core::Error& e, const std::string& instance);

/// Problem for a status without an Error (router 404/405, generic 500).
Response ProblemResponse(int status, const std::string& detail, const std::string& instance);

}  // namespace recs::api
