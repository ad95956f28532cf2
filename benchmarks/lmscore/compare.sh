#!/usr/bin/env bash
# The quadrant comparisons quoted in README.md, as paired tests on the per-user NDCG@10 of the
# closed-set view (`quadrec compare`: paired bootstrap, 10,000 resamples, seed 0; Wilcoxon
# signed-rank). Usage: benchmarks/lmscore/compare.sh RUN_DIR [QUADREC_BIN] > benchmarks/lmscore/compare.txt
set -euo pipefail
RUN="${1:?run folder}"
Q="${2:-quadrec}"
pairs=(
  "collm tallrec:k64"                 # Q1 vs Q4 on the same 64 tuned rows
  "collm kshot-crm:din-k64"           # Q1 vs a CRM trained on the same 64 rows
  "collm bpr"                         # Q1 vs the CRM whose factors it reads, trained on all rows
  "tallrec:k64 tallrec-zs"            # Q4 (k = 64) vs Q3, same prompt
  "tallrec:k256 tallrec-zs"           # Q4 (k = 256) vs Q3
  "tallrec:p05 tallrec-zs"            # Q4 (0.5% sample) vs Q3 (pointwise only: AUC, global)
  "twotower-ft twotower-zs"           # Q4 vs Q3, two-tower MiniLM
  "onetower-lora onetower-frozen"     # Q4 vs Q2, one-tower MiniLM
  "likelihood tallrec-zs"             # two Q3 scorers on SmolLM2
  "likelihood pop"                    # best Q3 row vs popularity
  "twotower-zs kshot-crm:din-k256"    # zero-shot MiniLM vs a CRM on 256 rows
)
for p in "${pairs[@]}"; do
  # shellcheck disable=SC2086
  "$Q" compare "$RUN" $p
  echo
done
