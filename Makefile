# recsplane. `make run` and `make test` each do all the setup on a fresh Debian 12 machine.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: deps build run test stop bench lint format clean sanitize

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

# ASan + UBSan build of the unit and db labels (CI runs it too).
sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRECS_SANITIZE="address;undefined" -DRECS_BUILD_BENCH=OFF
	cmake --build build-asan -j$(JOBS) --target recsplane recs_core_test recs_engine_test recs_store_dbtest recs_api_unit_test
	RECS_TEST_LABELS="unit|db" bash scripts/test.sh build-asan

stop:
	bash scripts/stop.sh

bench: build
	bash bench/run.sh $(BUILD_DIR)

lint:
	bash scripts/lint_contract.sh

format:
	git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-asan
