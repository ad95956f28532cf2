#!/usr/bin/env bash
# Data benchmark: ML-100K fetch-from-cache + import + split, and synthetic 20M interactions
# import + 5-core + LOO split. Usage: benchmarks/data/run.sh [path/to/quadrec] (default: the
# dev build target/debug/quadrec). Writes raw /usr/bin/time -v outputs to $OUT (default
# /tmp/quadrec-bench-data) and prints a summary. Not run by CI.
set -euo pipefail
BIN=${1:-target/debug/quadrec}
OUT=${OUT:-/tmp/quadrec-bench-data}
rm -rf "$OUT"; mkdir -p "$OUT"
export QUADREC_CACHE="$OUT/cache"
t() { local name=$1; shift; /usr/bin/time -v "$@" > "$OUT/$name.out" 2> "$OUT/$name.time"; \
      printf '%-28s %8s s  %8s MB peak RSS\n' "$name" \
      "$(grep 'Elapsed (wall' "$OUT/$name.time" | awk '{print $NF}')" \
      "$(( $(grep 'Maximum resident' "$OUT/$name.time" | awk '{print $NF}') / 1024 ))"; }
# ML-100K: first call fills the asset cache (network or $QUADREC_WHEEL_DIR), not timed as "from cache".
"$BIN" data fetch ml-100k > /dev/null 2>&1
rm -rf "$QUADREC_CACHE/datasets"
t ml100k-fetch-import "$BIN" data fetch ml-100k
t ml100k-split-loo "$BIN" split -d ml-100k -p loo --sampled 100 --candidates 20
t synth20m-generate "$BIN" data synth "$OUT/src" --users 100000 --items 40000 --interactions 20000000 --factors 16 --seed 1
t synth20m-import-5core "$BIN" data import -f recbole "$OUT/src" --name synth20m --user-core 5 --item-core 5
t synth20m-split-loo "$BIN" split -d synth20m -p loo
grep -E '^\| (users|items|interactions|dropped)' "$OUT/synth20m-import-5core.out" || true
