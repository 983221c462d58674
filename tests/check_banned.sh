#!/bin/sh
# check_banned.sh: fails when C sources call a function we do not allow (issue 6, Security).
#   strcpy strcat sprintf vsprintf gets: no bound on the destination (use snprintf, buf.h, memcpy
#                                        with a checked length)
#   strtok: hidden static state, not thread-safe (use strtok_r or explicit scanning)
#   atoi atol: no error reporting, undefined on overflow (use strtol/strtoul with checks)
# usage: tests/check_banned.sh [SOURCE_DIR]   (default: the directory above this script)
# Comments and string literals are stripped before matching, so a comment that names a banned
# function is fine; a call through a macro or a function pointer is not seen.
set -eu
root=${1:-$(dirname "$0")/..}
status=0
for dir in src recorder runner; do
	[ -d "$root/$dir" ] || continue
	for f in "$root/$dir"/*.c "$root/$dir"/*.h; do
		[ -f "$f" ] || continue
		# strip /* */ and // comments and "..." literals, keep line numbers
		hits=$(sed -e 's://.*$::' -e 's:"\([^"\\]\|\\.\)*":"":g' "$f" |
			awk 'BEGIN { c = 0 }
			{
				line = $0; out = ""
				while (length(line) > 0) {
					if (c) { i = index(line, "*/"); if (!i) { line = ""; break } line = substr(line, i + 2); c = 0 }
					else { i = index(line, "/*"); if (!i) { out = out line; line = ""; break }
					       out = out substr(line, 1, i - 1); line = substr(line, i + 2); c = 1 }
				}
				print NR ": " out
			}' |
			grep -E '(^|[^A-Za-z0-9_.>])(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol)[[:space:]]*\(' || true)
		if [ -n "$hits" ]; then
			echo "$hits" | sed "s|^|$f:|"
			status=1
		fi
	done
done
if [ "$status" -ne 0 ]; then
	echo "check_banned: banned functions found (see tests/check_banned.sh for why and what to use)" >&2
fi
exit $status
