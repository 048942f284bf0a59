# SPDX-License-Identifier: MIT
# Convenience entry points for a fresh Debian 13 or 12 machine (run as root):
#   make demo   boots an emulated node and shows detect, start, status, stop
#   make check  builds with -Werror and runs every test, the vm tests included,
#               then proves the other Debian suite (check-other-suite)
BUILD ?= build

.PHONY: all deps build demo check check-other-suite fuzz bench deb clean

all: build

deps:
	./tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DSCRATCHCRYPT_WERROR=ON -DSCRATCHCRYPT_CRASHPOINTS=ON
	cmake --build $(BUILD) -j2

demo: build
	python3 tests/vm/scenarios.py --build-dir $(BUILD) demo

# The Debian package (dpkg-buildpackage, debhelper), built from the tracked
# files in a clean tree for the suite this machine runs (VERSION+debNN, see
# tools/deb-suite.sh), and checked with that suite's lintian: errors fail.
deb: deps
	rm -rf $(BUILD)-deb && mkdir -p $(BUILD)-deb/scratchcrypt
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(BUILD)-deb/scratchcrypt
	./tools/deb-suite.sh $(BUILD)-deb/scratchcrypt
	cd $(BUILD)-deb/scratchcrypt && dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(BUILD)-deb/scratchcrypt_*.changes
	@ls $(BUILD)-deb/*.deb

# Time until mounted, side by side in one emulated node, for every pipeline
# and disk size; writes bench/results/ (BENCH_ARGS=--short: the CI's form).
BENCH_ARGS ?=
bench: build
	python3 tests/vm/bench.py --build-dir $(BUILD) --out bench/results $(BENCH_ARGS)
	python3 tests/keyservice/storm.py $(BUILD)/tests/kfstorm --nodes 1000 --out bench/results
	SC_BOOT_TIMES=bench/results/boot-time.csv python3 tests/vm/scenarios.py --build-dir $(BUILD) image_azure_first_boot_system

# ASan, UBSan and leak detection on every unit and integration test, the
# fuzz targets for FUZZ_SECONDS each, then every test on the plain build
# (the slow image suite where the machine runs Debian 13) and the other
# suite at once, then the bench's short form alone (tools/check-suites.sh).
# The other suite's root is made in the background meanwhile.
check: build fuzz deb
	mkdir -p $(BUILD)-$(OTHER_SUITE) && ./tools/suite-check.sh --prepare $(OTHER_SUITE) $(BUILD)-$(OTHER_SUITE) >$(BUILD)-$(OTHER_SUITE)/prepare.log 2>&1 &
	cmake -S . -B $(BUILD)-asan -DSCRATCHCRYPT_WERROR=ON -DSCRATCHCRYPT_CRASHPOINTS=ON -DSANITIZE=address,undefined
	cmake --build $(BUILD)-asan -j2
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -L 'unit|integration'
	./tools/check-suites.sh $(BUILD) $(OTHER_SUITE) $(HOST_CTEST_ARGS)

# The other supported Debian suite (trixie on bookworm, bookworm on trixie),
# in a debootstrap root of it: install-deps, the -Werror build, the unit
# tests, make deb with that suite's lintian, the package beside the real
# neighbour agents, and the vm tests in SUITE_VM_TESTS on that suite's
# cloud kernel (tools/suite-check.sh).
HOST_SUITE := $(shell . /etc/os-release; echo $$VERSION_CODENAME)
OTHER_SUITE := $(if $(filter trixie,$(HOST_SUITE)),bookworm,trixie)
# The slow image suite runs on Debian 13, the current stable: here on a
# Debian 13 machine, in check-other-suite's root on a Debian 12 one.
HOST_CTEST_ARGS := $(if $(filter trixie,$(HOST_SUITE)),,-LE slow)
check-other-suite:
	./tools/suite-check.sh $(OTHER_SUITE) $(BUILD)-$(OTHER_SUITE)

# libFuzzer: each target for FUZZ_SECONDS from its committed corpus
# (tests/fuzz/corpus/TARGET). For hours: make fuzz FUZZ_SECONDS=14400.
FUZZ_SECONDS ?= 10
fuzz: deps
	CC=clang cmake -S . -B $(BUILD)-fuzz -DSCRATCHCRYPT_FUZZ=ON -DSANITIZE=address,undefined -DBUILD_TESTING=OFF
	cmake --build $(BUILD)-fuzz -j2
	./tools/run-fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz $(BUILD)-deb
