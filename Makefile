# SPDX-License-Identifier: MIT
# Convenience entry points for a fresh Debian 12 machine (run as root):
#   make demo   boots an emulated node and shows detect, start, status, stop
#   make check  builds with -Werror and runs every test, the vm tests included
BUILD ?= build

.PHONY: all deps build demo check bench clean

all: build

deps:
	./tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DSCRATCHCRYPT_WERROR=ON -DSCRATCHCRYPT_CRASHPOINTS=ON
	cmake --build $(BUILD) -j2

demo: build
	python3 tests/vm/scenarios.py --build-dir $(BUILD) demo

# Time until mounted for small and 32x larger disks, as a ratio (TCG is emulated).
bench: build
	python3 tests/vm/scenarios.py --build-dir $(BUILD) bench

check: build
	cmake -S . -B $(BUILD)-asan -DSCRATCHCRYPT_WERROR=ON -DSCRATCHCRYPT_CRASHPOINTS=ON -DSANITIZE=address,undefined
	cmake --build $(BUILD)-asan -j2
	cd $(BUILD)-asan && ctest --output-on-failure -L unit
	cd $(BUILD) && ctest --output-on-failure

clean:
	rm -rf $(BUILD) $(BUILD)-asan
