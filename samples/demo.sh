#!/usr/bin/env bash
# The main job, end to end, on this machine only (127.0.0.1):
#   1. start a local HTTP origin that answers /generate_204, a SOCKS5 proxy (microsocks) and an HTTP
#      proxy (tinyproxy);
#   2. `recheck record` a real curl request through each proxy into a recipe;
#   3. print the recipe and its HAProxy tcp-check lines;
#   4. `recheck replay` each recipe against its proxy;
#   5. start recheckd with the recorded recipes and send traffic through it.
# Everything it starts is stopped by PID when it ends. Run as root on Debian 12 (it installs what is
# missing, and `record` needs root to capture; it drops to `nobody` before parsing a byte).
#
#   usage: samples/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

tests/deps.sh
echo "== build"
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DRECHECK_TESTS=OFF >/dev/null
cmake --build build/demo -j "$(nproc)" >/dev/null
RECHECK=$ROOT/build/demo/recheck
RECHECKD=$ROOT/build/demo/recheckd

WORK=$(mktemp -d /tmp/recheck-demo.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "nothing listens on 127.0.0.1:$1" >&2
	return 1
}

ORIGIN=$(free_port)
python3 tests/lib/origin.py "$ORIGIN" &
PIDS+=($!)
SOCKS=$(free_port)
microsocks -i 127.0.0.1 -p "$SOCKS" >/dev/null 2>&1 &
PIDS+=($!)
HTTPP=$(free_port)
printf 'Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 10\nLogLevel Warning\n' "$HTTPP" >"$WORK/tinyproxy.conf"
tinyproxy -d -c "$WORK/tinyproxy.conf" >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$ORIGIN"
wait_port "$SOCKS"
wait_port "$HTTPP"
URL="http://127.0.0.1:$ORIGIN/generate_204"
echo "== origin $URL, microsocks 127.0.0.1:$SOCKS, tinyproxy 127.0.0.1:$HTTPP"

echo
echo "== recheck record --proxy socks5h://127.0.0.1:$SOCKS --url $URL"
"$RECHECK" record --proxy "socks5h://127.0.0.1:$SOCKS" --url "$URL" --name demo-socks5 -o "$WORK/socks5.yaml"
echo
echo "== recheck record --proxy http://127.0.0.1:$HTTPP --url $URL"
"$RECHECK" record --proxy "http://127.0.0.1:$HTTPP" --url "$URL" --name demo-http -o "$WORK/http.yaml"

echo
echo "== the SOCKS5 recipe ($WORK/socks5.yaml)"
cat "$WORK/socks5.yaml"
echo
echo "== as HAProxy tcp-check lines (recheck export)"
"$RECHECK" export "$WORK/socks5.yaml" --listen ha-socks5 --bind 127.0.0.1:1080 \
	--server vps1="127.0.0.1:$SOCKS" --hash-type consistent

echo
echo "== recheck replay"
"$RECHECK" replay "$WORK/socks5.yaml" --server "127.0.0.1:$SOCKS"
"$RECHECK" replay "$WORK/http.yaml" --server "127.0.0.1:$HTTPP"

if [ -x "$RECHECKD" ]; then
	echo
	echo "== recheckd: one SOCKS5 listener balancing over microsocks, checked with the recorded recipe"
	LISTEN=$(free_port)
	STATS=$(free_port)
	cat >"$WORK/recheckd.yaml" <<EOF
threads: 2
user: nobody
stats: {bind: "127.0.0.1:$STATS"}
listeners:
  - name: ha-socks5
    bind: "127.0.0.1:$LISTEN"
    balance: source
    hash_type: consistent
    check: {recipe: socks5.yaml, inter: 500ms, rise: 1, fall: 2, timeout: 2s}
    servers:
      - {name: vps1, address: "127.0.0.1:$SOCKS"}
EOF
	"$RECHECKD" -f "$WORK/recheckd.yaml" &
	PIDS+=($!)
	wait_port "$LISTEN"
	wait_port "$STATS"
	for _ in $(seq 50); do
		curl -s "http://127.0.0.1:$STATS/stats.json" | grep -q '"status": *"UP"' && break
		sleep 0.1
	done
	echo "curl through recheckd: HTTP $(curl -s -o /dev/null -w '%{http_code}' -x "socks5h://127.0.0.1:$LISTEN" "$URL")"
	echo "stats: http://127.0.0.1:$STATS/  (JSON: /stats.json, Prometheus: /metrics)"
	curl -s "http://127.0.0.1:$STATS/metrics" | grep -E '^recheck_server_up' || true
fi
echo
echo "== demo done"
