#!/bin/sh
# tests/bench/run.sh [--quick] [bench.py options]: recheck side by side with HAProxy 2.6, nginx, tshark, tcpflow.
#
# Builds a Release recheck/recheckd in build-bench/ (its own build dir), compiles the C helpers of
# tests/bench/, installs the peers with apt-get only when missing, then runs tests/bench/bench.py, which
# writes tests/bench/results/latest.md and latest.json (git-ignored) and prints the table.
# Full run: about 7-9 minutes on 2 CPUs; --quick: a smoke run under a minute. Only 127.0.0.1 is used;
# the 500 MB capture goes to /tmp and is removed afterwards. Environment: BENCH_BUILD (build dir),
# BENCH_NO_INSTALL=1 (never call apt-get).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${BENCH_BUILD:-$src/build-bench}

need=""
command -v wrk >/dev/null 2>&1 || need="$need wrk"
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need="$need nginx-light"
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need="$need libnginx-mod-stream"
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || need="$need haproxy"
command -v tshark >/dev/null 2>&1 || need="$need tshark"
command -v tcpflow >/dev/null 2>&1 || need="$need tcpflow"
command -v microsocks >/dev/null 2>&1 || need="$need microsocks"
command -v curl >/dev/null 2>&1 || need="$need curl"
[ -e /usr/include/pcap/pcap.h ] || need="$need libpcap-dev"
[ -e /usr/include/openssl/ssl.h ] || need="$need libssl-dev"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
if [ -n "$need" ]; then
	if [ "${BENCH_NO_INSTALL:-0}" = 1 ]; then
		echo "run.sh: missing:$need (BENCH_NO_INSTALL=1)" >&2
		exit 5
	fi
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "run.sh: installing$need" >&2
	# tshark asks whether non-root users may capture: answer no, without a prompt.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >&2
fi

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target recheck recheckd >/dev/null
tools="$build/bench-tools"
mkdir -p "$tools"
for t in benchnet benchsocks benchpcapgen; do
	cc -O2 -Wall -Wextra -o "$tools/$t" "$here/$t.c"
done
cc -O2 -Wall -Wextra -o "$tools/benchpcapread" "$here/benchpcapread.c" -lpcap
cc -O2 -Wall -Wextra -o "$tools/benchtls" "$here/benchtls.c" -lssl -lcrypto
cc -O2 -Wall -Wextra -I"$src/src" -o "$tools/relay_peer" "$src/tests/fixtures/relay_peer.c" -lpthread

exec timeout -k 10 900 python3 "$here/bench.py" --build "$build" --tools "$tools" "$@"
