#!/usr/bin/env bash
# The one command that installs what is missing, builds recheck and runs the whole test suite:
# a -Werror build with every test, then an AddressSanitizer + UndefinedBehaviorSanitizer build with every
# test again. Run as root on Debian 12 (it installs packages only when one is missing).
#
# Last, each libFuzzer target runs for a bounded time from its committed corpus (tests/fuzz/run.sh).
#
#   usage: tests/run-all.sh [--no-asan] [--quick]
#     --no-asan   skip the sanitizer build and the fuzz run (faster local runs)
#     --quick     unit tests only
set -euo pipefail
cd "$(dirname "$0")/.."

ASAN=1
LABELS=""
for a in "$@"; do
	case "$a" in
	--no-asan) ASAN=0 ;;
	--quick) LABELS="-L unit" ;;
	*) echo "usage: tests/run-all.sh [--no-asan] [--quick]" >&2; exit 2 ;;
	esac
done

tests/deps.sh

JOBS=$(nproc)
run_suite() { # build-dir, cmake args...
	local dir=$1
	shift
	echo "== configure $dir: $*"
	cmake -S . -B "$dir" -DRECHECK_WERROR=ON "$@" >/dev/null
	echo "== build $dir"
	cmake --build "$dir" -j "$JOBS"
	echo "== test $dir"
	(cd "$dir" && ctest --output-on-failure --timeout 600 $LABELS ${CTEST_EXCLUDE:+-E "$CTEST_EXCLUDE"})
}

run_suite build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "$ASAN" = 1 ]; then
	# The sanitizer pass runs every test again but two, to keep CI near 15 minutes: test_package_deb builds
	# and installs its own Release package (nothing sanitized in it; the first pass ran it), and test_stress
	# keeps its faults and load but runs 30 s instead of 60.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		RECHECK_STRESS_SECONDS=30 CTEST_EXCLUDE=package_deb \
		run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DRECHECK_SANITIZE=ON
	echo "== fuzz: every target for ${RECHECK_FUZZ_SECONDS:-15}s"
	FUZZ_BUILD_DIR=build/fuzz FUZZ_JOBS=$JOBS tests/fuzz/run.sh "${RECHECK_FUZZ_SECONDS:-15}"
fi
echo "== all tests passed"
