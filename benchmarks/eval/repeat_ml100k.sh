#!/usr/bin/env bash
# Repeated back-to-back ML-100K pairs (quadrec then RecBole, best of 9 each), to show the spread
# of the ratios on a shared machine. Needs the case file and binary that run.sh made.
# Usage (repository root): benchmarks/eval/repeat_ml100k.sh [ROUNDS=3] [THREADS...=1 2]
# Appends one JSON line per pair to benchmarks/eval/results/ml100k_repeats.jsonl.
set -euo pipefail
ROUNDS=${1:-3}; shift || true
THREADS=("$@"); [ ${#THREADS[@]} -eq 0 ] && THREADS=(1 2)
WORK=${WORK:-/tmp/quadrec-eval-bench}
PY=/work/venv/bin/python
BIN=target/release/examples/bench_full
OUT=benchmarks/eval/results/ml100k_repeats.jsonl
for r in $(seq 1 "$ROUNDS"); do
  for T in "${THREADS[@]}"; do
    export OMP_NUM_THREADS=$T MKL_NUM_THREADS=$T OMP_WAIT_POLICY=PASSIVE
    O="$WORK/rep_t$T"; mkdir -p "$O"
    REPEATS=9 $BIN "$WORK/cases/ml100k.qevb" "$T" "$O" > /dev/null
    REPEATS=9 $PY benchmarks/eval/recbole_bench.py "$WORK/cases/ml100k.qevb" "$T" "$O" > /dev/null
    $PY - "$O" "$T" "$r" >> "$OUT" <<'PYEOF'
import json, sys, time
o, t, r = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
q = json.load(open(f"{o}/quadrec.json")); b = json.load(open(f"{o}/recbole.json"))
load = open("/proc/loadavg").read().split()[0]
print(json.dumps({"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "round": r, "threads": t,
                  "loadavg1": float(load), "recbole_s": b["eval_seconds"], "quadrec_acc_s": q["eval_seconds"],
                  "quadrec_top20_s": q["eval_seconds_with_top20_lists"],
                  "ratio_acc": b["eval_seconds"] / q["eval_seconds"],
                  "ratio_top20": b["eval_seconds"] / q["eval_seconds_with_top20_lists"],
                  "identical_per_user": b.get("identical_per_user")}))
PYEOF
    tail -1 "$OUT"
  done
done
