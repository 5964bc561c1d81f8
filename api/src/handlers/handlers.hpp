#pragma once

#include "http/router.hpp"
#include "services.hpp"

namespace recs::api {

/// Each resource registers its routes; one file pair per resource.
void RegisterHealthRoutes(Router& router, Services& services);
void RegisterTenantRoutes(Router& router, Services& services);
void RegisterKeyRoutes(Router& router, Services& services);
void RegisterEventRoutes(Router& router, Services& services);
void RegisterFeatureRoutes(Router& router, Services& services);
void RegisterModelRoutes(Router& router, Services& services);
void RegisterJobRoutes(Router& router, Services& services);
void RegisterPredictRoutes(Router& router, Services& services);
void RegisterExperimentRoutes(Router& router, Services& services);
void RegisterPlatformRoutes(Router& router, Services& services);

}  // namespace recs::api
