"""Lifts of the LM-enhanced models over their parents, from quadrec run folders.

Reads records.jsonl and the per-user Parquet files of one or more run folders of
benchmarks/suites/lm-stages.toml, pairs each LM model with its parent on the same protocol
(same users, same targets, same candidate lists), and prints Markdown tables:

- per pair and view: parent and child mean NDCG@10 / HR@10, the paired difference with a 95%
  paired-bootstrap CI (10,000 resamples of users, numpy seed 0), the paired-bootstrap p-value and
  the Wilcoxon signed-rank p-value, both Holm-corrected across the comparisons of the table;
- the cold-start breakdown: the same paired difference restricted to the users whose test target
  item has few TRAIN interactions (buckets from TARGETS_CSV, written by
  `cargo run -p quadrec-lmstages --example lmstages_tool -- targets TARGETS_CSV`);
- pointwise AUC/LogLoss of the CTR rows and the cost columns (from the records).

Usage:
  /work/venv/bin/python benchmarks/lmstages/lift.py TARGETS_CSV RUN_DIR [RUN_DIR ...]
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

warnings.filterwarnings("ignore")

PAIRS = [
    ("sasrec-text:ids", "sasrec"),
    ("sasrec-text:text-only", "sasrec"),
    ("deepfm-text", "deepfm"),
    ("din-text", "din"),
    ("kar", "deepfm"),
    ("kar", "deepfm-text"),
    ("kar:b700", "deepfm"),
    ("kar:b700", "kar"),
    ("distill", "bpr"),
    ("distill", "text-profile"),
]
BUCKETS = [(0, 5), (6, 20), (0, 20), (21, 50), (51, 10**9)]
METRICS = ["ndcg@10", "hr@10"]


def key(rec):
    v = rec["method"].get("variant") or ""
    return rec["method"]["id"] + (":" + v if v else "")


def load(run_dirs):
    cells = {}
    for d in run_dirs:
        for line in Path(d, "records.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r["status"] != "ok":
                continue
            r["_dir"] = d
            cells[(key(r), r["view"])] = r
    return cells


def per_user(r):
    return pd.read_parquet(Path(r["_dir"], r["per_user"]), engine="fastparquet").set_index("user")


def paired(a, b, rng, n=10000):
    d = np.asarray(a) - np.asarray(b)
    idx = rng.integers(0, len(d), size=(n, len(d)))
    boot = d[idx].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    # Two-sided paired-bootstrap p: shift the bootstrap distribution to mean 0.
    p_boot = min(1.0, float(np.mean(np.abs(boot - d.mean()) >= abs(d.mean()))))
    p_w = float(wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return d.mean(), lo, hi, p_boot, p_w


def holm(ps):
    order = np.argsort(ps)
    m = len(ps)
    out = [0.0] * m
    run = 0.0
    for k, i in enumerate(order):
        run = max(run, min(1.0, (m - k) * ps[i]))
        out[i] = run
    return out


def fmt(x):
    return f"{x:.4f}"


def fmtp(p):
    # 10,000 bootstrap resamples cannot resolve p below 1e-4.
    return "<1e-4" if p == 0 else (f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}")


def main():
    targets = pd.read_csv(sys.argv[1]).set_index("user")
    cells = load(sys.argv[2:])
    views = sorted({v for (_, v) in cells if not v.startswith("pointwise")})
    rng = np.random.default_rng(0)
    for metric in METRICS:
        rows = []
        for view in views:
            for child, parent in PAIRS:
                if (child, view) not in cells or (parent, view) not in cells:
                    continue
                c = per_user(cells[(child, view)])[metric]
                p = per_user(cells[(parent, view)])[metric]
                users = c.index.intersection(p.index)
                assert len(users) == len(c) == len(p), "pairs must cover the same users"
                mean, lo, hi, pb, pw = paired(c[users], p[users], rng)
                rows.append([view, child, parent, p[users].mean(), c[users].mean(), mean, lo, hi, pb, pw, len(users)])
        if not rows:
            continue
        hb = holm([r[8] for r in rows])
        hw = holm([r[9] for r in rows])
        print(f"\n### Lift in {metric} (child - parent, paired over users)\n")
        print("| View | Model | Parent | Parent | Model | Lift [95% CI] | p boot (Holm) | p Wilcoxon (Holm) | Users |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r, b, w in zip(rows, hb, hw):
            print(f"| {r[0]} | {r[1]} | {r[2]} | {fmt(r[3])} | {fmt(r[4])} | {r[5]:+.4f} [{r[6]:+.4f}, {r[7]:+.4f}] | {fmtp(b)} | {fmtp(w)} | {r[10]} |")

    print("\n### Cold start: lift in ndcg@10 by the test target's number of TRAIN interactions\n")
    print("| View | Model | Parent | Target train interactions | Users | Parent | Model | Lift [95% CI] |")
    print("|---|---|---|---|---|---|---|---|")
    for view in views:
        for child, parent in PAIRS:
            if (child, view) not in cells or (parent, view) not in cells:
                continue
            c = per_user(cells[(child, view)])["ndcg@10"]
            p = per_user(cells[(parent, view)])["ndcg@10"]
            pop = targets["target_train_interactions"]
            for lo_b, hi_b in BUCKETS:
                users = [u for u in c.index if lo_b <= pop.get(u, -1) <= hi_b]
                if len(users) < 2:
                    continue
                mean, lo, hi, _, _ = paired(c[users], p[users], rng)
                lab = f"{lo_b}-{hi_b}" if hi_b < 10**9 else f">{lo_b - 1}"
                print(f"| {view} | {child} | {parent} | {lab} | {len(users)} | {fmt(p[users].mean())} | {fmt(c[users].mean())} | {mean:+.4f} [{lo:+.4f}, {hi:+.4f}] |")

    print("\n### Pointwise (all users' held-out interaction, label rating > 3)\n")
    print("| Model | AUC | LogLoss |")
    print("|---|---|---|")
    for (k, view), r in sorted(cells.items()):
        if view.startswith("pointwise"):
            t = r["test"]
            def mv(name):
                v = t.get(name)
                if v is None:
                    return "-"
                return f"{fmt(v['mean'])} [{fmt(v['ci_low'])}, {fmt(v['ci_high'])}]"
            print(f"| {k} | {mv('auc')} | {mv('logloss')} |")

    print("\n### Cost (full-ranking cell of each model)\n")
    print("| Model | Quadrant | Stage | Train s | p50 ms/user | p99 ms/user | Params | LM tokens |")
    print("|---|---|---|---|---|---|---|---|")
    for (k, view), r in sorted(cells.items()):
        if view == "full":
            c = r["cost"]
            print(f"| {k} | {r['method']['quadrant']} | {r['method']['stage']} | {c['train_seconds']:.1f} | {c['latency_p50_ms']:.3f} | {c['latency_p99_ms']:.3f} | {c['n_parameters']} | {c['lm_tokens']} |")


if __name__ == "__main__":
    main()
