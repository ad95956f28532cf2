#!/usr/bin/env bash
# Full-ranking evaluation benchmark: quadrec-eval vs RecBole 1.2.1's Collector+Evaluator, fed
# the same scores, targets and seen items, back to back in one session, same thread count.
# Usage (repository root): benchmarks/eval/run.sh [THREADS...]   (default: 1 2)
# Needs /work/venv (recbole 1.2.1, torch, ranx) and the ML-100K atomic file of the recbole wheel.
set -euo pipefail
INTER=${INTER:-/work/wheels/x/recbole/dataset_example/ml-100k/ml-100k.inter}
WORK=${WORK:-/tmp/quadrec-eval-bench}
RES=benchmarks/eval/results
PY=/work/venv/bin/python
THREADS=("$@")
[ ${#THREADS[@]} -eq 0 ] && THREADS=(1 2)
mkdir -p "$WORK" "$RES"
$PY benchmarks/eval/make_cases.py "$INTER" "$WORK/cases"
cargo build --release -p quadrec-eval --example bench_full
BIN=target/release/examples/bench_full
{ date -u; uname -a; grep -m1 "model name" /proc/cpuinfo; nproc; uptime; } > "$RES/hardware.txt"
for T in "${THREADS[@]}"; do
  export OMP_NUM_THREADS=$T MKL_NUM_THREADS=$T OMP_WAIT_POLICY=PASSIVE
  # ML-100K, best of 9 runs each side
  O="$WORK/ml100k_t$T"; mkdir -p "$O"
  REPEATS=9 $BIN "$WORK/cases/ml100k.qevb" "$T" "$O" --trec > /dev/null
  REPEATS=9 $PY benchmarks/eval/recbole_bench.py "$WORK/cases/ml100k.qevb" "$T" "$O" > /dev/null
  cp "$O/quadrec.json" "$RES/ml100k_t${T}_quadrec.json"; cp "$O/recbole.json" "$RES/ml100k_t${T}_recbole.json"
  $PY benchmarks/eval/ranx_trec_roundtrip.py "$O" "$RES/ml100k_ranx_trec_roundtrip.json" 2>/dev/null
  # 100K users x 20K items, best of 3 (quadrec) / 1 (RecBole, ~1-2 min per run)
  O="$WORK/synth100k_t$T"; mkdir -p "$O"
  REPEATS=3 $BIN "$WORK/cases/synth100k.qevb" "$T" "$O" > /dev/null
  REPEATS=1 $PY benchmarks/eval/recbole_bench.py "$WORK/cases/synth100k.qevb" "$T" "$O" > /dev/null
  cp "$O/quadrec.json" "$RES/synth100k_t${T}_quadrec.json"; cp "$O/recbole.json" "$RES/synth100k_t${T}_recbole.json"
done
# Memory bound: 100K users x 50K items, quadrec only (peak RSS recorded in the JSON).
O="$WORK/synth100k_50k"; mkdir -p "$O"
REPEATS=1 $BIN "$WORK/cases/synth100k_50k.qevb" "${THREADS[-1]}" "$O" > /dev/null
cp "$O/quadrec.json" "$RES/synth100k_50k_quadrec.json"
uptime >> "$RES/hardware.txt"
$PY benchmarks/eval/summarize.py
