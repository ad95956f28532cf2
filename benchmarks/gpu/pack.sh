#!/bin/bash
# Build the wgpu test/bench binaries on the dev machine (x86-64, same as the GPU machine), strip
# and xz them into .gpu/ (ignored via .git/info/exclude; carried to the device run).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/wgpu-target}
mkdir -p .gpu
exe() { # cargo args... -> path of the test executable it built
  cargo "$@" --message-format=json 2>/dev/null | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable"): print(m["executable"])' | tail -1
}
REG=$(exe test -p quadrec-models --features wgpu --test registry --no-run)
LM=$(exe test -p quadrec-lm --features wgpu --test wgpu --no-run)
BENCH=$(exe build -p quadrec-lm --features wgpu --example gpu_bench)
for pair in "registry:$REG" "lm_wgpu:$LM" "gpu_bench:$BENCH"; do
  name=${pair%%:*}; path=${pair#*:}
  strip -o "/tmp/$name" "$path"
  xz -T2 -6 -c "/tmp/$name" > ".gpu/$name.xz"
  ls -la "$path" "/tmp/$name" ".gpu/$name.xz"
done
