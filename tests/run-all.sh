#!/usr/bin/env bash
# The one command that installs what is missing, builds recheck and runs the whole test suite:
# a -Werror build with every test, then an AddressSanitizer + UndefinedBehaviorSanitizer build with every
# test again. Run as root on Debian 12 (it installs packages only when one is missing).
#
#   usage: tests/run-all.sh [--no-asan] [--quick]
#     --no-asan   skip the sanitizer build (faster local runs)
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

# Build tools, libraries, and the real peers the integration tests start.
PKGS="gcc make cmake pkg-config libpcap-dev libcurl4-openssl-dev libyaml-dev libpcre2-dev libcmocka-dev
      python3 haproxy microsocks dante-server tinyproxy tcpdump clang"
missing=()
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "== installing: ${missing[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

JOBS=$(nproc)
run_suite() { # build-dir, cmake args...
	local dir=$1
	shift
	echo "== configure $dir: $*"
	cmake -S . -B "$dir" -DRECHECK_WERROR=ON "$@" >/dev/null
	echo "== build $dir"
	cmake --build "$dir" -j "$JOBS"
	echo "== test $dir"
	(cd "$dir" && ctest --output-on-failure --timeout 600 $LABELS)
}

run_suite build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "$ASAN" = 1 ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DRECHECK_SANITIZE=ON
fi
echo "== all tests passed"
