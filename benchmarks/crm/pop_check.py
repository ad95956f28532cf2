"""Independent check of Pop's test NDCG@10 straight from the exported atomic files (no quadrec,
no RecBole code): train counts, train+valid items masked, expected NDCG over random tie order.
Usage: /work/venv/bin/python benchmarks/crm/pop_check.py benchmarks/crm/recbole_data"""
import collections, sys
import numpy as np
d = sys.argv[1] + "/ml100k-loo/ml100k-loo"
def read(p):
    return [(int(r[0]), int(r[1])) for r in (l.rstrip("\n").split("\t") for l in list(open(p))[1:])]
tr, va, te = read(d + ".train.inter"), read(d + ".valid.inter"), read(d + ".test.inter")
n = 1 + max(i for _, i in tr + va + te)
cnt = collections.Counter(i for _, i in tr)
score = np.array([cnt.get(i, 0) for i in range(n)], dtype=float)
hist = collections.defaultdict(set)
for u, i in tr + va:
    hist[u].add(i)
nd = []
for u, t in te:
    s = score.copy()
    s[list(hist[u] - {t})] = -np.inf
    higher, eq = (s > s[t]).sum(), (s == s[t]).sum() - 1
    nd.append(np.mean([1 / np.log2(r + 2) if r < 10 else 0 for r in range(higher, higher + eq + 1)]))
print(f"pop test ndcg@10 (expected over ties): {np.mean(nd):.6f}")
