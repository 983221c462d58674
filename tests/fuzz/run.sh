#!/bin/sh
# run.sh [SECONDS_PER_TARGET] [TARGET...]: builds the libFuzzer targets with clang (build dir
# $FUZZ_BUILD_DIR, default build-fuzz at the top of the source tree) and runs each one for a bounded time
# on a copy of its committed seed corpus (the copy grows; the committed corpus does not change).
# Prints executions per target; exits 1 when any target crashed, leaked, timed out or ran out of memory
# (the reproducer is left as crash-*/leak-*/timeout-*/oom-* in $FUZZ_BUILD_DIR/artifacts/<target>/).
# FUZZ_JOBS=N runs N targets at once (default 1); FUZZ_KEEP=1 continues from the corpus a previous run
# grew in $FUZZ_BUILD_DIR/fuzz-work/<target>/ instead of starting again from the seeds.
set -eu

secs=${1:-60}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
jobs=${FUZZ_JOBS:-1}

command -v clang >/dev/null || { echo "run.sh: clang is required" >&2; exit 2; }
mkdir -p "$build"
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DRECHECK_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	>"$build/cmake-fuzz.log" 2>&1 || { cat "$build/cmake-fuzz.log" >&2; exit 2; }
targets=${*:-$(sed -n 's/^set(FUZZ_TARGETS \(.*\))$/\1/p' "$here/CMakeLists.txt") conf}
built=""
for t in $targets; do
	[ -f "$here/fuzz_$t.c" ] || continue
	case " $built " in *" $t "*) continue ;; esac
	built="$built $t"
done
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $(for t in $built; do printf 'fuzz_%s ' "$t"; done) >/dev/null \
	|| { echo "run.sh: build failed" >&2; exit 2; }

run_one() {
	t=$1
	work="$build/fuzz-work/$t"
	art="$build/artifacts/$t"
	[ "${FUZZ_KEEP:-0}" = 1 ] || rm -rf "$work"
	mkdir -p "$work" "$art"
	cp "$here/corpus/$t/"* "$work/" 2>/dev/null || true
	if [ -d "$here/regressions/$t" ]; then cp "$here/regressions/$t/"* "$work/" 2>/dev/null || true; fi
	dict=""
	[ -f "$here/dict/$t.dict" ] && dict="-dict=$here/dict/$t.dict"
	rc=0
	# shellcheck disable=SC2086
	"$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$art/" $dict "$work" >"$build/fuzz-$t.log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$t.log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$build/fuzz-$t.log" | tail -n 1)
	printf '%-16s %12s execs %6ss %-10s rc=%s\n' "$t" "${execs:-?}" "$secs" "${cov:-}" "$rc"
	return $rc
}

fail=0
pids=""
n=0
for t in $built; do
	if [ "$jobs" -gt 1 ]; then
		run_one "$t" &
		pids="$pids $!"
		n=$((n + 1))
		if [ "$n" -ge "$jobs" ]; then
			for p in $pids; do wait "$p" || fail=1; done
			pids=""
			n=0
		fi
	else
		run_one "$t" || fail=1
	fi
done
for p in $pids; do wait "$p" || fail=1; done
[ "$fail" -eq 0 ] || echo "run.sh: at least one target failed; see $build/fuzz-<target>.log and $build/artifacts/" >&2
exit "$fail"
