#!/usr/bin/env bash
# Side-by-side sync benchmark: offline-files against Unison, rclone bisync, rsync and find.
#
# Usage: bench/run.sh [NFILES...]      default: 10000 100000
#        bench/run.sh --smoke          N=1000, REPS=1, TOOLS="stat offline" (quick check, for CI)
#        bench/run.sh mount daemon [NFILES...]   the service's cases instead (default 100000):
#          mount: read/copy 1 GiB and `find` through `offline mount` against the cache
#          folder; daemon: `offline daemon`'s memory and CPU while idle, edit-to-share time
#          (bench/service.sh; REPS defaults to 5 there)
#
# Env (passed through to ../shared/bench/peers.sh):
#   REPS=3            runs per case (the report shows the median)
#   TIMEOUT=300       seconds per run; a tool that times out is skipped for the rest of that N
#   TOOLS="stat rsync unison rclone offline"
#   LARGE=0           number of 64 MiB files added to the tree
# Env (this script):
#   OFFLINE_BIN=path  use this binary instead of building `cargo build --release -p offline-cli`
#   OFFLINE_PROFILE=p cargo profile to build with (default release: no debug information;
#                     `profiling` keeps line tables for perf, callgrind and heaptrack)
#   OFFLINE_REV=rev   build that commit (e.g. HEAD) from a clean `git archive` snapshot in
#                     target/bench-src (own target dir target/bench-target) instead of the work tree
#   OFFLINE_LABEL=s   with OFFLINE_BIN: what to record as its commit (one word)
#   RESULTS=dir       where raw TSVs and the plot go (default bench/results; --smoke: a temp dir)
#   PEERS_SH=path     the peers script (default: ../shared/bench/peers.sh beside the repo)
#   NO_INSTALL=1      do not apt-get install missing tools, fail instead
#
# Writes RESULTS/<YYYY-MM-DD>-<N>.tsv per N (raw rows: tool case rep wall_s rss_KiB rc,
# after '#' header lines), then runs bench/report: a markdown table per N and
# RESULTS/sync-time.svg (sync time against file count); both kinds of run also draw
# RESULTS/issue16-goals.svg (issue 16's ratios, from the latest *-service-N.tsv and
# *-backends-N.tsv: `OFFLINE_BENCH_TSV=... cargo bench -p offline-cli --bench backends`).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

SMOKE=0; NS=(); CASES=()
for a in "$@"; do
  case "$a" in
    --smoke) SMOKE=1;;
    mount|daemon) CASES+=("$a");;
    -h|--help) usage; exit 0;;
    ''|*[!0-9]*) echo "run.sh: unknown argument '$a' (expected --smoke or file counts)" >&2; usage >&2; exit 2;;
    *) NS+=("$a");;
  esac
done

if [[ ${#CASES[@]} -gt 0 ]]; then
  [[ $SMOKE -eq 0 ]] || { echo "run.sh: --smoke runs the sync cases only" >&2; exit 2; }
  [[ ${#NS[@]} -gt 0 ]] || NS=(100000)
  export TOOLS="offline"; export TIMEOUT="${TIMEOUT:-300}"
  RESULTS="${RESULTS:-$HERE/results}"
elif [[ $SMOKE -eq 1 ]]; then
  [[ ${#NS[@]} -eq 0 ]] || { echo "run.sh: --smoke takes no file counts" >&2; exit 2; }
  NS=(1000); export REPS="${REPS:-1}"; export TOOLS="${TOOLS:-stat offline}"
  export TIMEOUT="${TIMEOUT:-60}"
  RESULTS="${RESULTS:-$(mktemp -d "${TMPDIR:-/tmp}/offline-bench-smoke.XXXXXX")}"
else
  [[ ${#NS[@]} -gt 0 ]] || NS=(10000 100000)
  export REPS="${REPS:-3}"; export TOOLS="${TOOLS:-stat rsync unison rclone offline}"
  export TIMEOUT="${TIMEOUT:-300}"
  RESULTS="${RESULTS:-$HERE/results}"
fi
export LARGE="${LARGE:-0}"

# --- the shared peers script (not copied into the repo) -------------------------------
PEERS_SH="${PEERS_SH:-$REPO/../shared/bench/peers.sh}"
if [[ ! -f "$PEERS_SH" || ! -f "$(dirname "$PEERS_SH")/make-tree.sh" ]]; then
  cat >&2 <<EOF
run.sh: cannot find the shared benchmark scripts at
  $PEERS_SH (and make-tree.sh beside it).
They live in the shared/ folder that sits next to the repository (../shared/bench/).
Check out or copy shared/ beside this repo, or set PEERS_SH=/path/to/peers.sh.
EOF
  exit 1
fi
PEERS_SH="$(cd "$(dirname "$PEERS_SH")" && pwd)/$(basename "$PEERS_SH")"

# --- tools: install only what is missing ------------------------------------------------
need=()
have() { command -v "$1" >/dev/null 2>&1; }
[[ -x /usr/bin/time ]] || need+=(time)
have python3 || need+=(python3)     # make-tree.sh
have bc || need+=(bc)               # peers.sh
have find || need+=(findutils)
for t in $TOOLS; do
  case "$t" in
    unison) have unison || need+=(unison);;
    rclone) have rclone || need+=(rclone);;
    rsync)  have rsync  || need+=(rsync);;
  esac
done
if [[ ${#need[@]} -gt 0 ]]; then
  if [[ "${NO_INSTALL:-0}" == 1 ]]; then
    echo "run.sh: missing: ${need[*]} (NO_INSTALL=1; install them: apt-get install -y ${need[*]})" >&2; exit 1
  fi
  SUDO=(); [[ $(id -u) -eq 0 ]] || { have sudo && SUDO=(sudo) || { echo "run.sh: missing ${need[*]} and not root; install them with apt-get" >&2; exit 1; }; }
  echo "== installing: ${need[*]}" >&2
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${need[@]}" >&2
fi

# --- the binary under test --------------------------------------------------------------
case " $TOOLS " in *" offline "*) want_offline=1;; *) want_offline=0;; esac
COMMIT="$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
SRC="$REPO"
if [[ $want_offline -eq 1 && -z "${OFFLINE_BIN:-}" && -n "${OFFLINE_REV:-}" ]]; then
  sha="$(git -C "$REPO" rev-parse --verify "$OFFLINE_REV^{commit}")"
  COMMIT="$(git -C "$REPO" describe --always "$sha")"
  SRC="$REPO/target/bench-src"
  echo "== snapshot of $OFFLINE_REV ($COMMIT) in $SRC" >&2
  rm -rf "$SRC"; mkdir -p "$SRC"
  git -C "$REPO" archive "$sha" | tar -x -C "$SRC"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target/bench-target}"
fi
if [[ $want_offline -eq 1 && -z "${OFFLINE_BIN:-}" ]]; then
  PROFILE="${OFFLINE_PROFILE:-release}"
  echo "== cargo build --profile $PROFILE -p offline-cli (in $SRC)" >&2
  # the executable's path comes from cargo itself, so CARGO_TARGET_DIR is honoured
  OFFLINE_BIN="$(cd "$SRC" && cargo build --profile "$PROFILE" -p offline-cli --message-format=json-render-diagnostics \
    | python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "offline":
        print(m["executable"])')"
  [[ -x "$OFFLINE_BIN" ]] || { echo "run.sh: build did not produce the offline binary" >&2; exit 1; }
elif [[ $want_offline -eq 1 ]]; then
  COMMIT="${OFFLINE_LABEL:-given-OFFLINE_BIN}"
fi
if [[ $want_offline -eq 1 ]]; then
  OFFLINE_BIN="$(cd "$(dirname "$OFFLINE_BIN")" && pwd)/$(basename "$OFFLINE_BIN")"
  export OFFLINE_BIN
else
  unset OFFLINE_BIN
fi

# --- the report tool (its own Cargo project, outside the workspace) -----------------------
echo "== building bench/report" >&2
REPORT_BIN="$(cd "$HERE/report" && cargo build --release --message-format=json-render-diagnostics \
  | python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])')"
[[ -x "$REPORT_BIN" ]] || { echo "run.sh: could not build bench/report" >&2; exit 1; }

# --- the service's cases: their own script, their own table ------------------------------
if [[ ${#CASES[@]} -gt 0 ]]; then
  mkdir -p "$RESULTS"
  cases="$(IFS=,; echo "${CASES[*]}")"
  for N in "${NS[@]}"; do
    out="$RESULTS/$(date +%Y-%m-%d)-service-$N.tsv"
    {
      echo "# offline-files service bench: N=$N cases=$cases commit=$COMMIT date=$(date -Iseconds) cores=$(nproc)"
      echo "# load before: $(uptime)"
      echo "# columns: tool case rep value unit rc"
    } > "$out"
    OUT="$out" MAKE_TREE="$(dirname "$PEERS_SH")/make-tree.sh" bash "$HERE/service.sh" "$cases" "$N"
    echo "# load after: $(uptime)" >> "$out"
  done
  # issue 16's goals chart, with the latest backends run (cargo bench --bench backends)
  "$REPORT_BIN" --goals-svg "$RESULTS/issue16-goals.svg" --plot-dir "$RESULTS" "$out"
  exit 0
fi

# --- run ----------------------------------------------------------------------------------
mkdir -p "$RESULTS"
DAY="$(date +%Y-%m-%d)"
VERSIONS="$( (have unison && unison -version 2>/dev/null | head -1) || true); $( (have rclone && rclone version 2>/dev/null | head -1) || true); $( (have rsync && rsync --version 2>/dev/null | head -1) || true)"

# assemble OUT RAW [NOTE]: header lines + the raw rows peers.sh wrote so far
assemble() {
  {
    echo "# offline-files bench: N=$N reps=$REPS timeout=$TIMEOUT large=$LARGE tools=$TOOLS"
    echo "# date=$(date -Iseconds) commit=$COMMIT host=$(hostname) cores=$(nproc)"
    echo "# versions: $VERSIONS"
    grep -E '^# ' "$2.log" 2>/dev/null | sed 's/^# /# log: /' || true   # tree-gen time, convergence checks, skips
    [[ -z "${3:-}" ]] || echo "# log: $3"
    echo "# columns: tool case rep wall_s rss_KiB rc"
    cat "$2" 2>/dev/null || true
  } > "$1"
  rm -f "$2" "$2.log"
}

# Ctrl-C / kill: stop peers.sh and the tool it is timing, keep what was measured
peers_pid=""; out=""; raw=""
on_signal() {
  trap - INT TERM
  if [[ -n "$peers_pid" ]]; then
    pkill -TERM -P "$peers_pid" 2>/dev/null || true   # its `timeout`, which stops the tool
    kill -TERM "$peers_pid" 2>/dev/null || true
  fi
  [[ -z "$out" ]] || { assemble "$out" "$raw" "stopped at $(date -Iseconds) (signal): partial results"; echo "run.sh: stopped; partial results in $out" >&2; }
  exit 130
}
trap on_signal INT TERM

files=()
for N in "${NS[@]}"; do
  out="$RESULTS/$DAY-$N.tsv"; raw="$out.partial"
  echo "== N=$N REPS=$REPS TIMEOUT=$TIMEOUT TOOLS=\"$TOOLS\" -> $out" >&2
  : > "$raw.log"
  OUT="$raw" bash "$PEERS_SH" "$N" > "$raw.log" 2>&1 &
  peers_pid=$!
  tail -n +1 -f --pid="$peers_pid" "$raw.log" &
  rc=0; wait "$peers_pid" || rc=$?
  wait $! 2>/dev/null || true    # the tail, which ends with peers.sh
  peers_pid=""
  assemble "$out" "$raw"
  [[ $rc -eq 0 ]] || echo "run.sh: peers.sh exited $rc for N=$N (partial results kept in $out)" >&2
  files+=("$out")
done
out=""

echo >&2
if [[ $SMOKE -eq 1 ]]; then
  "$REPORT_BIN" --svg "$RESULTS/sync-time.svg" "${files[@]}"
  # the smoke run fails if offline failed or did not converge
  if awk -F'\t' '!/^#/ && $1=="offline" && $6!=0 {bad=1} END{exit !bad}' "${files[@]}"; then
    echo "run.sh --smoke: offline exited non-zero (see ${WORK:-/tmp/synbench-1000}/log.txt)" >&2; exit 1
  fi
  if grep -q '^# log: offline: A and B DIFFER' "${files[@]}"; then
    echo "run.sh --smoke: after offline sync, A and B differ" >&2; exit 1
  fi
  awk -F'\t' '!/^#/ && $1=="offline"' "${files[@]}" | grep -q . || { echo "run.sh --smoke: no offline rows" >&2; exit 1; }
  echo "smoke results in $RESULTS" >&2
else
  # table for the counts just run; the plot uses the latest file of every count in RESULTS
  "$REPORT_BIN" --svg "$RESULTS/sync-time.svg" --goals-svg "$RESULTS/issue16-goals.svg" --plot-dir "$RESULTS" "${files[@]}"
fi
