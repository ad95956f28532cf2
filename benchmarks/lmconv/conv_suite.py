"""Conversational (`conv`) cells of a quadrec run folder: each request reader's hit@10 (= HR@10),
NDCG@10 and hard-condition rate of the top 10 with the runner's 95% bootstrap CIs, and the paired
differences between methods (same users, same requests): mean difference with a 95%
paired-bootstrap CI (10,000 resamples of users, numpy seed 0) and the two-sided bootstrap p.

Usage: /work/venv/bin/python benchmarks/lmconv/conv_suite.py RUN_DIR
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

METRICS = ["hr@10", "ndcg@10", "hard_rate@10"]


def main():
    run = Path(sys.argv[1])
    cells = []
    for line in (run / "records.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["status"] == "ok" and r["view"].startswith("conv"):
            cells.append(r)
    cells.sort(key=lambda r: r["method"]["id"])
    print(f"Protocol: `{cells[0]['protocol']}`\n")
    print("| Method | Stage / quadrant | hit@10 [95% CI] | NDCG@10 [95% CI] | hard_rate@10 [95% CI] | Users | valid | fit s | test s | p50 / p99 ms per request | LM tokens |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in cells:
        t, c = r["test"], r["cost"]
        f = lambda m: f"{t[m]['mean']:.4f} [{t[m]['ci_low']:.4f}, {t[m]['ci_high']:.4f}]"
        valid = ", ".join(f"{k} {v:.4f}" for k, v in r["valid"].items()) or "-"
        print(f"| {r['method']['id']} | {r['method']['stage']} / {r['method']['quadrant']} | {f('hr@10')} | {f('ndcg@10')} | {f('hard_rate@10')} | {t['hr@10']['n']} | {valid} | {c['train_seconds']:.1f} | {c['eval_seconds']:.1f} | {c['latency_p50_ms']:.0f} / {c['latency_p99_ms']:.0f} | {c['lm_tokens']} |")
    pu = {r["method"]["id"]: pd.read_parquet(run / r["per_user"], engine="fastparquet").set_index("user") for r in cells}
    rng = np.random.default_rng(0)
    print("\n| a - b | metric | mean difference [95% CI] | p (paired bootstrap) |")
    print("|---|---|---|---|")
    ids = [r["method"]["id"] for r in cells]
    for i, a in enumerate(ids):
        for b in ids[:i]:
            for m in ["hr@10", "hard_rate@10"]:
                users = pu[a].index.intersection(pu[b].index)
                d = pu[a].loc[users, m].to_numpy() - pu[b].loc[users, m].to_numpy()
                boot = d[rng.integers(0, len(d), size=(10000, len(d)))].mean(axis=1)
                lo, hi = np.percentile(boot, [2.5, 97.5])
                p = min(1.0, float(np.mean(np.abs(boot - d.mean()) >= abs(d.mean()))))
                print(f"| {a} - {b} | {m} | {d.mean():+.4f} [{lo:+.4f}, {hi:+.4f}] | {p:.4f} |")


if __name__ == "__main__":
    main()
