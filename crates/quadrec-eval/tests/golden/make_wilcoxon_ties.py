"""Goldens of the exact Wilcoxon signed-rank test with TIES and ZERO differences (small n).

Command (from the repository root):
    /work/venv/bin/python crates/quadrec-eval/tests/golden/make_wilcoxon_ties.py

Writes crates/quadrec-eval/tests/golden/wilcoxon_ties.json, read by crates/quadrec-eval/tests/eval.rs.
Reference: scipy.stats.wilcoxon(a, b, zero_method="wilcox", method=PermutationMethod(n_resamples=inf)),
i.e. the exact two-sided sign-flip permutation test of the signed-rank statistic with mid-ranks,
zero differences dropped. Cross-checked here against a brute-force enumeration of all 2^n sign
patterns (p = min(1, 2 min(P(W+ <= w), P(W+ >= w)))). CI never runs this script.
"""

import itertools
import json
import pathlib
import platform

import numpy as np
import scipy
from scipy import stats

OUT = pathlib.Path(__file__).with_name("wilcoxon_ties.json")
rng = np.random.default_rng(20261128)


def brute_force(d):
    d = d[d != 0]
    n = len(d)
    r = stats.rankdata(np.abs(d))  # mid-ranks
    w = r[d > 0].sum()
    le = ge = 0
    for signs in itertools.product([0, 1], repeat=n):
        s = r[np.array(signs, dtype=bool)].sum()
        le += s <= w + 1e-9
        ge += s >= w - 1e-9
    return w, min(1.0, 2 * min(le, ge) / 2**n)


cases = []
for n, levels, zeros in [(6, 3, 1), (9, 4, 2), (12, 4, 2), (15, 5, 3), (18, 3, 0), (20, 6, 4)]:
    # Values on a coarse grid (multiples of 1/8: exact in binary) -> many tied |differences|.
    a = np.round(rng.random(n) * levels) / 8
    b = np.round(rng.random(n) * levels) / 8 + 1 / 8
    b[:zeros] = a[:zeros]  # zero differences, dropped by zero_method="wilcox"
    d = a - b
    assert len(np.unique(np.abs(d[d != 0]))) < (d != 0).sum(), "case must have ties"
    res = stats.wilcoxon(a, b, zero_method="wilcox",
                         method=stats.PermutationMethod(n_resamples=np.inf))
    w, p_bf = brute_force(d)
    assert abs(p_bf - res.pvalue) < 1e-12, (n, p_bf, res.pvalue)
    cases.append({"a": a.tolist(), "b": b.tolist(), "n_nonzero": int((d != 0).sum()),
                  "w_plus": float(w), "statistic": float(res.statistic), "pvalue": float(res.pvalue)})

OUT.write_text(json.dumps({
    "generated_by": "crates/quadrec-eval/tests/golden/make_wilcoxon_ties.py",
    "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__},
    "cases": cases,
}, indent=1) + "\n")
print(f"wrote {OUT} ({len(cases)} cases)")
