#!/bin/bash
# The ONE prepared command run on the lent GPU machine (benchmarks/gpu/README.md). The session
# had under 5 minutes of device time left, so everything runs in one short call:
#   (c) RecBole SASRec on ML-100K (training budget --budget-s) in the background, from t=0;
#   (a) wgpu tests, (b) Burn wgpu and torch timings in the foreground, at the same time.
# Expects in the repo root: .gl/*.deb (Vulkan/GL loaders), .gpu/*.xz (stripped x86-64 binaries
# from benchmarks/gpu/pack.sh), .gpu/recbole_data (ML-100K leave-one-out atomic file),
# .whl/*.whl (recbole 1.2.1, colorlog, texttable). Writes everything under $OUT.
set -u
RB_BUDGET=${RB_BUDGET:-110}; REPS=${REPS:-6}
exec > >(tee -a "$OUT/log.txt") 2>&1
T0=$(date +%s)
stamp() { echo "=== [$(( $(date +%s) - T0 )) s] $*"; }
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export XDG_RUNTIME_DIR=/tmp PYTHONUNBUFFERED=1
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$ICD" ] && export VK_DRIVER_FILES=$ICD __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
stamp "recbole SASRec (c), background, training budget ${RB_BUDGET} s"
( PYTHONPATH=/tmp/site OMP_NUM_THREADS=4 python3 benchmarks/gpu/recbole_sasrec_gpu.py --device cuda \
    --budget-s "$RB_BUDGET" --threads 4 --data .gpu/recbole_data --out "$OUT/recbole_sasrec_gpu.jsonl" \
    > "$OUT/recbole.log" 2>&1; echo "recbole rc=$?" >> "$OUT/recbole.log" ) &
RB=$!
stamp "hardware"
nvidia-smi > "$OUT/nvidia-smi.txt"; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv >> "$OUT/nvidia-smi.txt"
cat "$OUT/nvidia-smi.txt"; nproc; lscpu | grep "Model name"
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.version.cuda)'
mkdir -p /tmp/bin && for f in .gpu/*.xz; do [ -f "$f" ] || continue; n=/tmp/bin/$(basename "$f" .xz); xz -dc "$f" > "$n"; chmod +x "$n"; done; ls -la /tmp/bin
B="$OUT/bench.jsonl"
if [ -x /tmp/bin/lm_wgpu ]; then
  stamp "wgpu tests (a)"
  QUADREC_LM_WGPU_CONFIG=smollm2 timeout 60 /tmp/bin/lm_wgpu --ignored --nocapture 2>&1 | tee "$OUT/test_lm.txt"; echo "lm smollm2 rc=${PIPESTATUS[0]}"
  timeout 40 /tmp/bin/lm_wgpu --ignored --nocapture 2>&1 | tee -a "$OUT/test_lm.txt"; echo "lm tiny rc=${PIPESTATUS[0]}"
fi
if [ -x /tmp/bin/registry ]; then
  timeout 60 /tmp/bin/registry --ignored wgpu_matches_flex_on_bpr --nocapture 2>&1 | tee "$OUT/test_registry.txt"; echo "registry rc=${PIPESTATUS[0]}"
fi
if [ -x /tmp/bin/gpu_bench ]; then
  for dt in f32 f16; do stamp "burn wgpu $dt (b)"; timeout 50 /tmp/bin/gpu_bench --device wgpu --dtype $dt --reps "$REPS" | tee -a "$B"; done
fi
stamp "torch (b)"
timeout 70 python3 benchmarks/gpu/torch_bench.py --dtype f32,f16,bf16 --reps "$REPS" 2>"$OUT/torch.err" | tee -a "$B"
stamp "waiting for recbole"
wait $RB; tail -c 1500 "$OUT/recbole.log"
stamp "summary"
python3 - "$B" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if not l.startswith("{"): continue
    r = json.loads(l)
    if r["task"] in ("prefill", "decode"):
        print(f'{r["tool"][:28]:28} {r["dtype"]:5} {r["task"]:8} b={r["batch"]:<3} {r["tokens_per_s"]:12.1f} tok/s')
PY
stamp "done"
