"""Render the quality-vs-LM-calls table of the lm-pipeline suite from its run records.

    python3 benchmarks/lmconv/curve.py benchmarks/lmconv/lm-pipeline/records.jsonl

The LM-call cap of a controller cell is ceil(budget * users scored), users counted over the
validation pass (50 users) and the test pass (50 users) of closed@u50, i.e. ceil(budget * 100);
lm_tokens is the cell's total (validation + test).
"""
import json
import math
import sys

BUDGET = {"ease": None, "controller:b0": 0.0, "controller:b10": 0.1, "controller:b25": 0.25,
          "controller:b50": 0.5, "pipeline:b100": 1.0}

rows = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = r["method"]["id"] + (":" + r["method"]["variant"] if r["method"]["variant"] else "")
    t = r["test"]
    b = BUDGET.get(key)
    rows.append((-1 if b is None else b, key, t, r))
rows.sort(key=lambda x: (x[0], x[1]))
print("| row | LM budget | LM-call cap (valid+test users) | LM tokens | NDCG@10 [95% CI] | MRR [95% CI] | valid NDCG@10 | fit+valid s | test s |")
print("|---|---|---|---|---|---|---|---|---|")
for b, key, t, r in rows:
    cap = "-" if b < 0 else str(math.ceil(b * 100))
    bud = "retriever alone" if b < 0 else f"{b:.0%}"
    n, m = t["ndcg@10"], t["mrr"]
    v = list(r["valid"].values())[0]
    c = r["cost"]
    print(f"| {key} | {bud} | {cap} | {c['lm_tokens']} | {n['mean']:.4f} [{n['ci_low']:.4f}, {n['ci_high']:.4f}] "
          f"| {m['mean']:.4f} [{m['ci_low']:.4f}, {m['ci_high']:.4f}] | {v:.4f} | {c['tuning_seconds']:.1f} | {c['eval_seconds']:.1f} |")
