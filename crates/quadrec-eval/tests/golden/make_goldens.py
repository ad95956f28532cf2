"""Golden values for quadrec-eval from independent reference implementations.

Command (from the repository root):
    /work/venv/bin/python crates/quadrec-eval/tests/golden/make_goldens.py

Writes crates/quadrec-eval/tests/golden/goldens.json, read by crates/quadrec-eval/tests/eval.rs.
References: ranx (ranking metrics), scikit-learn (AUC, LogLoss, accuracy),
scipy (Wilcoxon signed-rank, exact sign-flip permutation test). CI never runs this script.

All scores are multiples of 1/1024 in a small range, so they are exact in float32 (the Rust side
reads f32) and exact in float64 (the references). Ranking cases have no ties: with ties,
references break them by document order while quadrec reports the expectation over random
tie order (tested separately in Rust by formulas and properties).
"""

import json
import pathlib
import platform

import numpy as np
import ranx
import scipy
import sklearn
from importlib.metadata import version
from scipy import stats
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

OUT = pathlib.Path(__file__).with_name("goldens.json")
rng = np.random.default_rng(20260428)
EPS = 1e-7  # quadrec's LogLoss clipping constant (LOGLOSS_EPS)

# ---------------------------------------------------------------- ranking (ranx)
KS = [1, 3, 5, 10, 20]
ranking = []
for case in range(120):
    n = int(rng.integers(5, 60))
    # distinct scores: a random permutation of 0..n-1, scaled by 1/1024 (exact in f32)
    scores = rng.permutation(n).astype(np.float64) / 1024.0
    r = int(rng.integers(1, min(n, 12) + 1))
    # make some cases planted-good: relevant items drawn from the top with prob 0.5
    if case % 2 == 0:
        order = np.argsort(-scores)
        pool = order[: min(n, 2 * r + 3)]
        relevant = rng.choice(pool, size=r, replace=False)
    else:
        relevant = rng.choice(n, size=r, replace=False)
    relevant = sorted(int(x) for x in relevant)
    qrels = {"q": {f"d{i}": 1 for i in relevant}}
    run = {"q": {f"d{i}": float(scores[i]) for i in range(n)}}
    metrics = ["mrr"]
    for k in KS:
        metrics += [f"hit_rate@{k}", f"recall@{k}", f"precision@{k}", f"ndcg@{k}", f"mrr@{k}", f"map@{k}"]
    vals = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), metrics)
    ranking.append({
        "scores": [float(s) for s in scores],
        "relevant": relevant,
        "ranx": {m: float(v) for m, v in vals.items()},
    })

# ---------------------------------------------------------------- pointwise (scikit-learn)
rows = []
n_users = 40
for u in range(n_users):
    m = int(rng.integers(1, 15))
    for _ in range(m):
        label = int(rng.random() < 0.4)
        # coarse grid (1/32) so that ties occur; positives shifted up a little
        p = np.clip(np.round((rng.random() * 0.8 + 0.15 * label) * 32) / 32, 0.0, 1.0)
        rows.append((u, int(rng.integers(0, 500)), label, float(p)))
# a few extreme probabilities to exercise clipping
rows += [(n_users, 1, 1, 0.0), (n_users, 2, 0, 1.0), (n_users, 3, 0, 0.0)]
y = np.array([r[2] for r in rows])
p = np.array([r[3] for r in rows], dtype=np.float64)
pc = np.clip(p, EPS, 1 - EPS)
gauc_num = gauc_den = 0.0
users = sorted({r[0] for r in rows})
for u in users:
    idx = [i for i, r in enumerate(rows) if r[0] == u]
    yu = y[idx]
    if yu.min() != yu.max():
        gauc_num += roc_auc_score(yu, p[idx]) * len(idx)
        gauc_den += len(idx)
pointwise = {
    "rows": rows,
    "auc": float(roc_auc_score(y, p)),
    "logloss": float(log_loss(y, pc)),
    "accuracy": float(accuracy_score(y, (p >= 0.5).astype(int))),
    "gauc": gauc_num / gauc_den,
}

# ---------------------------------------------------------------- statistics (scipy)
wilcoxon = []
for n, ties, method in [(12, False, "exact"), (25, False, "exact"), (40, False, "exact"),
                        (80, True, "asymptotic"), (300, True, "asymptotic"), (30, False, "asymptotic")]:
    a = rng.random(n)
    b = rng.random(n) + 0.1
    if ties:
        a = np.round(a * 8) / 8
        b = np.round(b * 8) / 8
        b[:3] = a[:3]  # zero differences, dropped by zero_method="wilcox"
    res = stats.wilcoxon(a, b, zero_method="wilcox", correction=False, method=method)
    wilcoxon.append({"a": a.tolist(), "b": b.tolist(), "method": method,
                     "statistic": float(res.statistic), "pvalue": float(res.pvalue)})

permutation = []
for n in [6, 10, 14]:
    d_a = rng.random(n)
    d_b = rng.random(n) * 0.9
    res = stats.permutation_test((d_a - d_b,), np.mean, permutation_type="samples",
                                 alternative="two-sided", n_resamples=np.inf)
    permutation.append({"a": d_a.tolist(), "b": d_b.tolist(), "pvalue": float(res.pvalue)})

out = {
    "generated_by": "crates/quadrec-eval/tests/golden/make_goldens.py",
    "versions": {"python": platform.python_version(), "numpy": np.__version__, "ranx": version("ranx"),
                 "scikit-learn": sklearn.__version__, "scipy": scipy.__version__},
    "ks": KS,
    "ranking": ranking,
    "pointwise": pointwise,
    "wilcoxon": wilcoxon,
    "permutation": permutation,
}
OUT.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {OUT} ({len(ranking)} ranking cases, {len(rows)} pointwise rows)")
