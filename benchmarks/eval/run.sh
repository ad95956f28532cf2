#!/usr/bin/env bash
# Full-ranking evaluation benchmark: quadrec-eval vs RecBole 1.2.1's Collector+Evaluator, fed
# the same scores, targets and seen items, in one session, same thread count, contenders
# INTERLEAVED (quadrec run, RecBole run, quadrec run, ...) so that both see the same machine load.
# Usage (repository root): benchmarks/eval/run.sh [THREADS...]   (default: 1 2)
# Env: ROUNDS (ML-100K interleaved rounds, default 5; each round = REPEATS_ML runs per variant
# on each side, default 9), SKIP_SYNTH=1 (ML-100K only).
# Needs /work/venv (recbole 1.2.1, torch, ranx) and the ML-100K atomic file of the recbole wheel.
set -euo pipefail
INTER=${INTER:-/work/wheels/x/recbole/dataset_example/ml-100k/ml-100k.inter}
WORK=${WORK:-/tmp/quadrec-eval-bench}
RES=benchmarks/eval/results
PY=/work/venv/bin/python
ROUNDS=${ROUNDS:-5}
REPEATS_ML=${REPEATS_ML:-9}
THREADS=("$@")
[ ${#THREADS[@]} -eq 0 ] && THREADS=(1 2)
mkdir -p "$WORK" "$RES"
[ -f "$WORK/cases/synth100k_50k.qevb" ] || $PY benchmarks/eval/make_cases.py "$INTER" "$WORK/cases"
cargo build --release -p quadrec-eval --example bench_full
BIN=target/release/examples/bench_full
{ date -u; uname -a; grep -m1 "model name" /proc/cpuinfo; nproc; free -g | head -2; rustc -V;
  echo "load at start: $(cat /proc/loadavg)"; } > "$RES/hardware.txt"
rm -f "$RES"/rounds_*.jsonl
# One round = quadrec (3 variants x N runs) then RecBole (2 variants x N runs, interleaved).
record() { # case threads round outdir
  $PY - "$@" >> "$RES/rounds_$1_t$2.jsonl" <<'PYEOF'
import json, sys
case, t, r, o = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
q = json.load(open(f"{o}/quadrec.json")); b = json.load(open(f"{o}/recbole.json"))
print(json.dumps({"case": case, "threads": t, "round": r,
  "loadavg_quadrec": q["loadavg"], "loadavg_recbole": b["loadavg"],
  "quadrec_runs": {k: v["runs_s"] for k, v in q["timing"].items()},
  "recbole_runs": {"acc": b["eval_seconds_all_runs"], "full": b["eval_seconds_with_exposure_all_runs"]},
  "identical_per_user": b.get("identical_per_user"),
  "max_abs_exposure_diff": b.get("max_abs_exposure_diff_vs_quadrec"),
  "quadrec_ci_seconds_untimed": q.get("bootstrap_ci_seconds_untimed"),
  "quadrec_summary": q["summary"], "recbole_summary": b["summary"]}))
PYEOF
}
for T in "${THREADS[@]}"; do
  export OMP_NUM_THREADS=$T MKL_NUM_THREADS=$T OMP_WAIT_POLICY=PASSIVE
  O="$WORK/ml100k_t$T"; mkdir -p "$O"
  for r in $(seq 1 "$ROUNDS"); do
    REPEATS=$REPEATS_ML $BIN "$WORK/cases/ml100k.qevb" "$T" "$O" --trec > /dev/null
    REPEATS=$REPEATS_ML $PY benchmarks/eval/recbole_bench.py "$WORK/cases/ml100k.qevb" "$T" "$O" > /dev/null
    record ml100k "$T" "$r" "$O"
  done
  $PY benchmarks/eval/ranx_trec_roundtrip.py "$O" "$RES/ml100k_ranx_trec_roundtrip.json" 2>/dev/null
done
if [ "${SKIP_SYNTH:-0}" != 1 ]; then
  for T in "${THREADS[@]}"; do
    export OMP_NUM_THREADS=$T MKL_NUM_THREADS=$T OMP_WAIT_POLICY=PASSIVE
    # 100K users x 20K items: 3 runs per variant (quadrec) / 1 per variant (RecBole, minutes).
    O="$WORK/synth100k_t$T"; mkdir -p "$O"
    REPEATS=3 $BIN "$WORK/cases/synth100k.qevb" "$T" "$O" > /dev/null
    REPEATS=1 $PY benchmarks/eval/recbole_bench.py "$WORK/cases/synth100k.qevb" "$T" "$O" > /dev/null
    record synth100k "$T" 1 "$O"
  done
  # Memory bound: 100K users x 50K items, quadrec only (peak RSS recorded in the JSON).
  O="$WORK/synth100k_50k"; mkdir -p "$O"
  REPEATS=1 $BIN "$WORK/cases/synth100k_50k.qevb" "${THREADS[-1]}" "$O" > /dev/null
  cp "$O/quadrec.json" "$RES/synth100k_50k_quadrec.json"
fi
echo "load at end: $(cat /proc/loadavg)" >> "$RES/hardware.txt"; date -u >> "$RES/hardware.txt"
$PY benchmarks/eval/summarize.py
