#!/usr/bin/env bash
# The service's benchmark cases, run by bench/run.sh (`bench/run.sh mount daemon 100000`):
#
#   mount   the FUSE view against the cache folder directly, interleaved, REPS times:
#           read a 1 GiB cached file (`cat > /dev/null`), copy a 1 GiB file into it
#           (`cp`, then `rm`), and `find` over the whole tree.
#   daemon  `offline daemon` serving the cache: resident memory (VmRSS) and CPU while
#           idle after its startup sync, peak memory (VmHWM), and the time from an edit
#           in the cache folder to the share, REPS times; beside it, the peak memory of
#           a no-change `offline sync` of the same cache.
#
# Usage: bench/service.sh CASES N      (CASES: mount, daemon or mount,daemon)
# Env: OFFLINE_BIN (required), REPS=5, WORK=/tmp/offline-bench-service-N, OUT (raw TSV:
#      tool case rep value unit rc), SIZE_MIB=1024, IDLE_S=20, MAKE_TREE (make-tree.sh).
# The tree (N files of make-tree.sh as the share, synced into a cache) is removed at the
# end. Prints a markdown table of medians and ratios against the issue's goals.
set -uo pipefail
CASES="${1:?cases: mount, daemon or mount,daemon}"; N="${2:?file count}"
: "${OFFLINE_BIN:?OFFLINE_BIN must name the offline binary}"
REPS="${REPS:-5}"; SIZE_MIB="${SIZE_MIB:-1024}"; IDLE_S="${IDLE_S:-20}"
WORK="${WORK:-/tmp/offline-bench-service-$N}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MAKE_TREE="${MAKE_TREE:-$HERE/../../shared/bench/make-tree.sh}"
OUT="${OUT:-$WORK/results.tsv}"
SHARE="$WORK/share"; CACHE="$WORK/cache"; MNT="$WORK/mnt"; LOG="$WORK/log.txt"
mount_pid=""; daemon_pid=""

cleanup() {
  [[ -z "$mount_pid" ]] || { kill -TERM "$mount_pid" 2>/dev/null; wait "$mount_pid" 2>/dev/null; }
  [[ -z "$daemon_pid" ]] || { kill -TERM "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; }
  mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u -z "$MNT" 2>/dev/null
  rm -rf "$SHARE" "$CACHE" "$MNT" "$WORK/src.bin"
}
trap cleanup EXIT

row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" | tee -a "$OUT" >&2; }

# timed TOOL CASE REP CMD...: wall seconds of CMD (rc kept)
timed() {
  local tool="$1" case="$2" rep="$3"; shift 3
  local t0 t1 rc
  t0=$(date +%s.%N); "$@" >>"$LOG" 2>&1; rc=$?; t1=$(date +%s.%N)
  row "$tool" "$case" "$rep" "$(echo "$t1 - $t0" | bc -l | awk '{printf "%.3f", $1}')" s "$rc"
}

setup() {
  mkdir -p "$WORK"; : > "$LOG"; [[ -f "$OUT" ]] || : > "$OUT"
  rm -rf "$SHARE" "$CACHE"; mkdir -p "$MNT"
  echo "== tree: $N files (make-tree.sh) and a synced cache" >&2
  "$MAKE_TREE" "$SHARE" "$N" >>"$LOG" 2>&1 || { echo "make-tree.sh failed (see $LOG)" >&2; exit 1; }
  "$OFFLINE_BIN" init "$SHARE" "$CACHE" >>"$LOG" 2>&1 && "$OFFLINE_BIN" -C "$CACHE" sync >>"$LOG" 2>&1 \
    || { echo "the first sync failed (see $LOG)" >&2; exit 1; }
}

wait_for() { # SECONDS CMD...: true once CMD succeeds
  local until=$(( $(date +%s) + $1 )); shift
  while ! "$@" 2>/dev/null; do [[ $(date +%s) -lt $until ]] || return 1; sleep 0.05; done
}

case_mount() {
  echo "== mount: $SIZE_MIB MiB read and copy, find over $N files, $REPS reps" >&2
  head -c "$((SIZE_MIB << 20))" /dev/urandom > "$CACHE/big.bin"
  cp "$CACHE/big.bin" "$WORK/src.bin"
  "$OFFLINE_BIN" mount "$CACHE" "$MNT" >>"$LOG" 2>&1 &
  mount_pid=$!
  wait_for 30 mountpoint -q "$MNT" || { echo "the view did not mount (see $LOG)" >&2; exit 1; }
  sleep 0.5
  "$OFFLINE_BIN" -C "$CACHE" status | grep '^mount:' | tee -a "$LOG" >&2
  cat "$CACHE/big.bin" "$MNT/big.bin" > /dev/null      # both warm
  find "$CACHE" > /dev/null; find "$MNT" > /dev/null
  for rep in $(seq 1 "$REPS"); do
    timed direct read "$rep" sh -c "cat '$CACHE/big.bin' > /dev/null"
    timed view read "$rep" sh -c "cat '$MNT/big.bin' > /dev/null"
    timed direct write "$rep" cp "$WORK/src.bin" "$CACHE/copy.bin"
    rm -f "$CACHE/copy.bin"
    timed view write "$rep" cp "$WORK/src.bin" "$MNT/copy.bin"
    rm -f "$MNT/copy.bin"
    timed direct find "$rep" sh -c "find '$CACHE' > /dev/null"
    timed view find "$rep" sh -c "find '$MNT' > /dev/null"
  done
  kill -TERM "$mount_pid"; wait "$mount_pid" 2>/dev/null; mount_pid=""
  rm -f "$CACHE/big.bin" "$WORK/src.bin"
}

proc_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

case_daemon() {
  echo "== daemon: idle memory and CPU ($IDLE_S s), edit-to-share time, $REPS reps" >&2
  for rep in $(seq 1 "$REPS"); do
    /usr/bin/time -f '%M' -o "$WORK/time.out" "$OFFLINE_BIN" -C "$CACHE" sync >>"$LOG" 2>&1
    row sync nochange-peak "$rep" "$(tail -1 "$WORK/time.out")" KiB 0
  done
  HOME="$WORK" OFFLINE_EVENTS_SOCKET="$WORK/events.sock" "$OFFLINE_BIN" daemon "$CACHE" >>"$LOG" 2>&1 &
  daemon_pid=$!
  idle() { "$OFFLINE_BIN" -C "$CACHE" status --json | grep -q '"activity":"idle"'; }
  wait_for 300 idle || { echo "the daemon did not become idle (see $LOG)" >&2; exit 1; }
  sleep 2
  local hz t0 t1; hz=$(getconf CLK_TCK)
  t0=$(proc_ticks "$daemon_pid"); sleep "$IDLE_S"; t1=$(proc_ticks "$daemon_pid")
  row daemon idle-rss 1 "$(proc_kib "$daemon_pid" VmRSS)" KiB 0
  row daemon idle-cpu 1 "$(echo "($t1 - $t0) * 100 / $hz / $IDLE_S" | bc -l | awk '{printf "%.3f", $1}')" % 0
  for rep in $(seq 1 "$REPS"); do
    local rel="d00/d00/d00/edit-$rep.txt" t0 t1 rc=0
    t0=$(date +%s.%N)
    echo "edited $rep" > "$CACHE/$rel"
    wait_for 60 grep -q "edited $rep" "$SHARE/$rel" || rc=1
    t1=$(date +%s.%N)
    row daemon edit-to-share "$rep" "$(echo "$t1 - $t0" | bc -l | awk '{printf "%.3f", $1}')" s "$rc"
    wait_for 30 idle || true
  done
  row daemon peak-rss 1 "$(proc_kib "$daemon_pid" VmHWM)" KiB 0
  row daemon after-rss 1 "$(proc_kib "$daemon_pid" VmRSS)" KiB 0
  kill -TERM "$daemon_pid"; wait "$daemon_pid" 2>/dev/null; daemon_pid=""
}

median() { # TOOL CASE: the median value in OUT
  awk -F'\t' -v t="$1" -v c="$2" '$1==t && $2==c && $6==0 {print $4}' "$OUT" | sort -g \
    | awk '{v[NR]=$1} END {if (NR==0) print "NA"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

verdict() { # RATIO LIMIT
  awk -v r="$1" -v l="$2" 'BEGIN { if (r == "NA") print "not measured";
    else if (r <= l) printf "met (%.2f× of the limit)\n", r / l;
    else printf "**missed**: %.2f× over the limit\n", r / l }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }'; }

report() {
  echo
  echo "#### Service at $N files — $(date +%F), $(uptime | sed 's/.*load average/load average/'), median of $REPS"
  echo
  echo "| goal | offline | reference | ratio | verdict |"
  echo "|---|---:|---:|---:|---|"
  if [[ ",$CASES," == *",mount,"* ]]; then
    local r
    for c in read write find; do
      local v d; v=$(median view "$c"); d=$(median direct "$c"); r=$(ratio "$v" "$d")
      case "$c" in
        read) echo "| read ${SIZE_MIB} MiB through the view ≥ 90% of direct (time ≤ 1.11×) | $v s | $d s (cache folder) | ${r}× | $(verdict "$r" 1.111) |";;
        write) echo "| \`cp\` ${SIZE_MIB} MiB into the view ≤ 2× direct | $v s | $d s (cache folder) | ${r}× | $(verdict "$r" 2) |";;
        find) echo "| \`find\` over $N files ≤ 2× direct | $v s | $d s (cache folder) | ${r}× | $(verdict "$r" 2) |";;
      esac
    done
  fi
  if [[ ",$CASES," == *",daemon,"* ]]; then
    local rss sync
    rss=$(median daemon idle-rss); sync=$(median sync nochange-peak)
    echo "| daemon idle resident memory ≤ 25 MB | $(awk -v k="$rss" 'BEGIN{printf "%.1f MiB", k/1024}') | $(awk -v k="$sync" 'BEGIN{printf "%.1f MiB", k/1024}') (no-change \`offline sync\` peak) | $(ratio "$rss" "$sync")× | $(verdict "$(awk -v k="$rss" 'BEGIN{printf "%.3f", k*1024/25e6}')" 1) |"
    echo "| daemon peak resident memory (its syncs included) | $(awk -v k="$(median daemon peak-rss)" 'BEGIN{printf "%.1f MiB", k/1024}') | | | |"
    echo "| daemon CPU while idle | $(median daemon idle-cpu) % of a core | | | |"
    echo "| edit in the cache → on the share | $(median daemon edit-to-share) s | push delay 1 s | | |"
  fi
}

setup
for c in ${CASES//,/ }; do
  case "$c" in
    mount) case_mount;;
    daemon) case_daemon;;
    *) echo "service.sh: unknown case '$c' (mount, daemon)" >&2; exit 2;;
  esac
done
report
