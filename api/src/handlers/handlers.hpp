#pragma once

#include "http/router.hpp"
#include "services.hpp"

namespace recs::api {

/// Each resource registers its routes; one file pair per resource.
void RegisterHealthRoutes(Router& router, Services& services);
void RegisterTenantRoutes(Router& router, Services& services);
void RegisterKeyRoutes(Router& router, Services& services);

}  // namespace recs::api
