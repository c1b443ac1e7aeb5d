#!/usr/bin/env bash
# Bench case of issue 17: what an excluded folder costs a no-change sync.
#
# Usage: bench/exclusions.sh [NFILES] [NEXCLUDED]     (default 100000 100000)
#
# 1. A tree of NFILES files (../shared/bench/make-tree.sh) is the share; a cache of it
#    is made and synced once. A no-change sync is measured with no pattern at all,
#    with the built-in list, and with the team's .offlineignore (`node_modules/`,
#    synced once) added: what matching costs every name.
# 2. A node_modules/ of NEXCLUDED small files (folders of 100) is put on both sides,
#    as an npm install on each machine would. The same no-change sync is measured
#    again ("excluded"): the folder's own cost is the difference with the row above.
# 3. With CONTROL=1, the pattern is taken out, the 100k files are recorded by one
#    sync, and the no-change sync is measured a third time ("included"): what the
#    folder would cost without the exclusion.
#
# Each case reports instructions (valgrind --tool=callgrind, all threads; this VM has
# no hardware counters for `perf stat -e instructions`), the system calls that read
# folders (strace -f -c: getdents64, openat2), and the median wall time of REPS runs
# (the machine is shared, so wall time is the weakest of the three).
#
# env: REPS (3), CALLGRIND (1; 0 skips the slow instruction count), CONTROL (0),
#      OFFLINE_BIN (default: cargo build --release -p offline-cli, target/release/offline),
#      MAKE_TREE (../shared/bench/make-tree.sh), WORK (a temp folder, removed unless KEEP=1).
set -euo pipefail

NFILES=${1:-100000}
NEXCLUDED=${2:-$NFILES}
REPS=${REPS:-3}
CALLGRIND=${CALLGRIND:-1}
CONTROL=${CONTROL:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MAKE_TREE=${MAKE_TREE:-$ROOT/../shared/bench/make-tree.sh}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/offline-bench-exclusions.XXXXXX")}
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$WORK"' EXIT
fi

if [[ ! -f "$MAKE_TREE" ]]; then
  echo "bench/exclusions.sh: no $MAKE_TREE (the shared/ folder beside the repository); set MAKE_TREE=/path/to/make-tree.sh" >&2
  exit 2
fi
for tool in strace python3; do
  command -v "$tool" >/dev/null || { echo "bench/exclusions.sh needs $tool" >&2; exit 2; }
done
if [[ "$CALLGRIND" == 1 ]] && ! command -v valgrind >/dev/null; then
  echo "bench/exclusions.sh needs valgrind (or CALLGRIND=0)" >&2
  exit 2
fi
if [[ -z "${OFFLINE_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build --release --locked -p offline-cli >&2)
  OFFLINE_BIN=$ROOT/target/release/offline
fi

SHARE=$WORK/share
CACHE=$WORK/cache
offline() { "$OFFLINE_BIN" -C "$CACHE" "$@"; }

echo "# making $NFILES files in $SHARE" >&2
"$MAKE_TREE" "$SHARE" "$NFILES" >/dev/null
"$OFFLINE_BIN" init "$SHARE" "$CACHE" >/dev/null
offline sync >/dev/null
offline sync >/dev/null

# One no-change sync, measured three ways; prints a table row.
measure() {
  local label=$1 walls=() i start end
  for ((i = 0; i < REPS; i++)); do
    start=$(date +%s.%N)
    offline sync >/dev/null
    end=$(date +%s.%N)
    walls+=("$(python3 -c "print(f'{$end - $start:.3f}')")")
  done
  local median
  median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  strace -f -qq -c -o "$WORK/strace.txt" -e trace=getdents64,openat,openat2 \
    "$OFFLINE_BIN" -C "$CACHE" sync >/dev/null
  local getdents opens
  getdents=$(awk '$NF == "getdents64" {print $4}' "$WORK/strace.txt")
  opens=$(awk '$NF == "openat" || $NF == "openat2" {n += $4} END {print n + 0}' "$WORK/strace.txt")
  local instructions="-"
  if [[ "$CALLGRIND" == 1 ]]; then
    instructions=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$OFFLINE_BIN" -C "$CACHE" sync 2>&1 >/dev/null |
      awk '/Collected :/ {print $NF}')
  fi
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$instructions" "${getdents:-0}" "$opens" "$median"
}

echo "| case ($NFILES files) | instructions | getdents64 | openat/openat2 | median wall s ($REPS runs) |"
echo "|---|---:|---:|---:|---:|"
# What matching costs every name: no pattern at all, the built-in list, and the
# built-in list with the team's root .offlineignore (one matcher: they are merged).
offline config --no-default-excludes >/dev/null
measure "no pattern (built-in list off)"
offline config --default-excludes >/dev/null
measure "built-in list"
printf 'node_modules/\n' > "$CACHE/.offlineignore"
offline sync >/dev/null
measure "built-in list + .offlineignore, without the folder"

echo "# adding node_modules/ of $NEXCLUDED files on both sides" >&2
python3 - "$SHARE" "$CACHE" "$NEXCLUDED" <<'PY'
import os, sys
share, cache, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for root in (share, cache):
    for i in range(n):
        d = os.path.join(root, "node_modules", f"p{i // 100:05d}")
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i % 100:03d}.js"), "w") as f:
            f.write(f"module.exports = {i};\n")
PY
measure "with node_modules/ of $NEXCLUDED files, excluded"

if [[ "$CONTROL" == 1 ]]; then
  rm "$CACHE/.offlineignore"
  offline sync >/dev/null || true
  offline sync >/dev/null
  measure "with node_modules/ of $NEXCLUDED files, included"
fi
