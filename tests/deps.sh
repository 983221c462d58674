#!/usr/bin/env bash
# Installs, on Debian 12 as root, the packages recheck's build, tests and demo need — only the missing
# ones, and only then runs apt-get update. Sourced or run by tests/run-all.sh and samples/demo.sh.
set -euo pipefail
PKGS="gcc make cmake pkg-config libpcap-dev libcurl4-openssl-dev libyaml-dev libpcre2-dev libssl-dev libcmocka-dev
      python3 curl haproxy microsocks dante-server tinyproxy tcpdump clang valgrind openssl libcap2-bin
      iproute2 chromium lintian dpkg-dev fakeroot systemd util-linux man-db strace procps dnsmasq-base ${RECHECK_EXTRA_PKGS:-}"
missing=()
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "== installing: ${missing[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
