# recsplane. `make run` and `make test` each do all the setup on a fresh Debian 12 machine.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: deps build run test stop bench lint format clean sanitize tsan

deps:
	@bash scripts/deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS) --target recsplane
	bash scripts/run.sh

test: build
	bash scripts/test.sh $(BUILD_DIR)

# ASan + UBSan build (optimised, so that training in the api tests stays quick) of the unit,
# db, redis and api labels; leaks are reported too (CI runs it).
sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECS_SANITIZE="address;undefined" -DRECS_BUILD_BENCH=OFF
	cmake --build build-asan -j$(JOBS) --target recsplane recs_core_test recs_engine_test recs_store_dbtest recs_store_redistest recs_store_contract_test recs_api_unit_test recs_workers_test recs_api_apitest recs_gb_assign
	LSAN_OPTIONS="suppressions=$(CURDIR)/scripts/lsan.supp" GTEST_FILTER="$(ASAN_TESTS)" \
	RECS_TEST_LABELS="unit|db|redis|api" bash scripts/test.sh build-asan

# Under ASan: everything but the tests that mostly re-run training, wait on outages or measure
# throughput across processes (the normal build runs them; the engine's own tests run under
# ASan above).
ASAN_TESTS ?= *:-Outage.*:Quality.*:WorkerCrash.*:TenantPlatformTest.RateLimitHoldsAcrossTwoApiProcesses

# ThreadSanitizer build of the threaded parts: workers (pool, jobs), the api's ingestion, ordering
# and handlers, the scheduler, through their unit tests and the api tests that run them
# together (CI runs it). Suppressions of uninstrumented libraries: scripts/tsan.supp.
tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECS_SANITIZE="thread" -DRECS_BUILD_BENCH=OFF
	cmake --build build-tsan -j$(JOBS) --target recsplane recs_api_unit_test recs_workers_test recs_api_apitest
	TSAN_OPTIONS="suppressions=$(CURDIR)/scripts/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
	GTEST_FILTER="$(TSAN_TESTS)" RECS_TEST_LABELS="unit|api" \
	RECS_TEST_ONLY="recs_api_unit_test|recs_workers_test|recs_api_apitest" bash scripts/test.sh build-tsan

TSAN_TESTS ?= Ingestion.*:ConnectionOrder.*:PoolTest.*:Router*:HostileApiTest.*:TrainDeployPredictTest.*:PlatformApiTest.*:ExperimentsApiTest.*:TenantPlatformTest.DeliveriesAreSigned*:TenantPlatformTest.Monthly*:TenantPlatformTest.RateLimitHeaders*:-HostileApiTest.HeartbeatsHoldUnderASaturatedPool

stop:
	bash scripts/stop.sh

bench: build
	bash bench/run.sh $(BUILD_DIR)

lint:
	bash scripts/lint_contract.sh

format:
	git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan
