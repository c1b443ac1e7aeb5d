#!/usr/bin/env bash
# The rename case of the benchmark (issue 13): a synced pair, then the first top-level
# folder of the tree renamed on A (the share for offline), and the sync timed; each
# rep renames it again (d00 -> d00-r1 -> d00-r2 ...). Run for offline, Unison and
# rclone bisync in the same run, on the tree of ../shared/bench/make-tree.sh.
#
# Usage: bench/renames.sh [NFILES...]     default: 10000
# Env:   REPS=3  TIMEOUT=300  TOOLS="unison rclone offline"
#        OFFLINE_BIN=path   (default: target/release/offline, built when missing)
#        WORK=dir           (default: a temp folder, removed at the end)
#        RESULTS=dir        (default: bench/results) gets <date>-<N>-rename.tsv
# Rows: tool case rep wall_s rss_KiB rc (case `rename`), as peers.sh writes them; the
# median table is printed at the end with the share of files the folder holds.
# Unison finds some moves by content (a new file whose content it knows is copied
# locally); rclone bisync 1.60 has no --track-renames, so it copies and deletes.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
MK="${MAKE_TREE:-$REPO/../shared/bench/make-tree.sh}"
[[ -x "$MK" || -f "$MK" ]] || { echo "renames.sh: no make-tree.sh at $MK" >&2; exit 2; }
NS=("$@"); [[ ${#NS[@]} -gt 0 ]] || NS=(10000)
REPS="${REPS:-3}"; TIMEOUT="${TIMEOUT:-300}"; TOOLS="${TOOLS:-unison rclone offline}"
RESULTS="${RESULTS:-$HERE/results}"
OFFLINE_BIN="${OFFLINE_BIN:-$REPO/target/release/offline}"
if [[ " $TOOLS " == *" offline "* && ! -x "$OFFLINE_BIN" ]]; then
  (cd "$REPO" && cargo build --release -p offline-cli) || exit 1
fi
mkdir -p "$RESULTS"
OWN_WORK=0
if [[ -z "${WORK:-}" ]]; then WORK="$(mktemp -d "${TMPDIR:-/tmp}/offline-bench-rename.XXXXXX")"; OWN_WORK=1; fi
trap '[[ $OWN_WORK -eq 1 ]] && rm -rf "$WORK"' EXIT

for N in "${NS[@]}"; do
  OUT="$RESULTS/$(date +%F)-$N-rename.tsv"
  {
    echo "# rename case, N=$N, reps=$REPS, $(date -u +%FT%TZ)"
    echo "# offline $(cd "$REPO" && git rev-parse --short HEAD)$(cd "$REPO" && git diff --quiet || echo -dirty)"
    echo "# $(unison -version 2>/dev/null | head -1); $(rclone version 2>/dev/null | head -1)"
    echo "# columns: tool case rep wall_s rss_KiB rc"
  } > "$OUT"
  A="$WORK/A"; B="$WORK/B"; S="$WORK/state"; LOG="$WORK/log.txt"; : > "$LOG"
  for tool in $TOOLS; do
    rm -rf "$A" "$B" "$S"; mkdir -p "$B" "$S"
    "$MK" "$A" "$N" >/dev/null
    total=$(find "$A" -type f | wc -l)
    moved=$(find "$A/d00" -type f | wc -l)
    case "$tool" in
      unison)
        mkdir -p "$S/unison"
        sync=(env UNISON="$S/unison" unison "$A" "$B" -batch -auto -silent -times)
        init=("${sync[@]}");;
      rclone)
        mkdir -p "$S/rclone"
        base=(rclone bisync "$A" "$B" --workdir "$S/rclone" --config "$S/rclone.conf" -q)
        init=("${base[@]}" --resync); sync=("${base[@]}");;
      offline)
        rmdir "$B"
        init=(sh -c '"$0" init "$1" "$2" >/dev/null && cd "$2" && exec "$0" sync' "$OFFLINE_BIN" "$A" "$B")
        sync=(sh -c 'cd "$1" && exec "$0" sync' "$OFFLINE_BIN" "$B");;
      *) echo "renames.sh: unknown tool $tool" >&2; exit 2;;
    esac
    "${init[@]}" >>"$LOG" 2>&1 || { echo "renames.sh: $tool: the initial sync failed (see $LOG)" >&2; continue; }
    name=d00
    for r in $(seq 1 "$REPS"); do
      mv "$A/$name" "$A/d00-r$r"; name="d00-r$r"
      tf="$WORK/time.out"; rm -f "$tf"
      timeout "$TIMEOUT" /usr/bin/time -f '%e %M' -o "$tf" "${sync[@]}" >>"$LOG" 2>&1
      rc=$?
      read -r wall rss < <(tail -n1 "$tf" 2>/dev/null || echo "NA NA")
      [[ $rc -eq 124 || $rc -eq 137 ]] && wall="TIMEOUT>$TIMEOUT"
      printf '%s\trename\t%s\t%s\t%s\t%s\n' "$tool" "$r" "$wall" "$rss" "$rc" | tee -a "$OUT" >&2
      # Files only: rclone bisync leaves the old folders behind, empty.
      prev="$B/d00"; [[ $r -gt 1 ]] && prev="$B/d00-r$((r - 1))"
      left=0; [[ -d "$prev" ]] && left=$(find "$prev" -type f | wc -l)
      if [[ -d "$B/$name" && $left -eq 0 ]] &&
         [[ $(find "$B/$name" -type f | wc -l) -eq $moved ]]; then
        echo "# $tool rep $r: B holds $name with its $moved files, none under the old name" >> "$OUT"
      else
        echo "# $tool rep $r: B DIFFERS (the renamed folder is not there as renamed)" | tee -a "$OUT" >&2
      fi
    done
  done
  rm -rf "$A" "$B" "$S"
  echo
  echo "N=$N: renaming d00 ($moved of $total files) on A, median of $REPS (wall s, peak RSS MiB)"
  awk -F'\t' '!/^#/ {w[$1]=w[$1]" "$4; m[$1]=m[$1]" "$5; if(!($1 in o)){o[$1]=++n; t[n]=$1}}
    END{for(i=1;i<=n;i++){k=t[i]; c=split(substr(w[k],2),W," "); split(substr(m[k],2),M," ");
      for(a=1;a<=c;a++)for(b=a+1;b<=c;b++){if(W[b]+0<W[a]+0){x=W[a];W[a]=W[b];W[b]=x} if(M[b]+0<M[a]+0){x=M[a];M[a]=M[b];M[b]=x}}
      printf "%-8s %8s s %8.1f MiB\n", k, W[int((c+1)/2)], M[int((c+1)/2)]/1024}}' "$OUT"
done
