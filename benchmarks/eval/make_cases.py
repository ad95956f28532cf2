"""Write the benchmark case files read by BOTH quadrec (examples/bench_full.rs) and RecBole
(recbole_bench.py). Format: see crates/quadrec-eval/examples/bench_full.rs.

Command (repository root):
    /work/venv/bin/python benchmarks/eval/make_cases.py ML100K_INTER OUT_DIR

- ml100k.qevb: the real ML-100K interactions (943 users x 1682 items; dense ids by numeric raw
  id). Leave-one-out by time: target = each user's last interaction (ties in timestamp broken by
  file row), seen = all the user's other items (train + valid), masked. Scores are synthetic but
  realistic (popularity + noise, seed 7), converted to per-row ranks so that no row has tied
  scores (stored as exact integer-valued float32).
- synth100k.qevb: 100,000 users x 20,000 items, seed 11. Target uniform; its 0-based rank
  before masking is floor(n * u^3) (skewed towards the top so that metrics are not ~0);
  20-200 seen items per user (uniform, never the target). Scores are an affine permutation per
  user, generated on the fly by both tools (no 8 GB score file).
- synth100k_50k.qevb: same recipe with 50,000 items (memory check of quadrec alone).
"""

import pathlib
import sys

import numpy as np

inter, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)


def write(path, n_users, n_items, kind, targets, seen_lists, tail):
    seen_len = np.array([len(s) for s in seen_lists], dtype="<u4")
    seen = np.concatenate([np.asarray(s, dtype="<u4") for s in seen_lists]) if len(seen_lists) else np.zeros(0, "<u4")
    with open(path, "wb") as f:
        f.write(b"QEVB")
        f.write(np.array([1, n_users, n_items, kind], dtype="<u4").tobytes())
        f.write(np.asarray(targets, dtype="<u4").tobytes())
        f.write(seen_len.tobytes())
        f.write(seen.astype("<u4").tobytes())
        for t in tail:
            f.write(t.tobytes())
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")


# ---- ML-100K
rows = []
with open(inter, encoding="utf-8") as fh:
    header = fh.readline().rstrip("\n").split("\t")
    assert header[:4] == ["user_id:token", "item_id:token", "rating:float", "timestamp:float"], header
    for line in fh:
        u, i, r, t = line.rstrip("\n").split("\t")
        rows.append((u, i, float(t)))
users = sorted({r[0] for r in rows}, key=int)
items = sorted({r[1] for r in rows}, key=int)
uid = {u: k for k, u in enumerate(users)}
iid = {i: k for k, i in enumerate(items)}
per_user = [[] for _ in users]
for row_no, (u, i, t) in enumerate(rows):
    per_user[uid[u]].append((t, row_no, iid[i]))
targets, seen = [], []
for lst in per_user:
    lst.sort()
    targets.append(lst[-1][2])
    seen.append([x[2] for x in lst[:-1]])
n_u, n_i = len(users), len(items)
pop = np.zeros(n_i)
for u, i, t in rows:
    pop[iid[i]] += 1
rng = np.random.default_rng(7)
raw = np.log1p(pop)[None, :] + rng.normal(0.0, 1.5, size=(n_u, n_i))
ranks = np.argsort(np.argsort(raw, axis=1), axis=1).astype("<f4")  # 0..n-1, distinct per row
write(out / "ml100k.qevb", n_u, n_i, 0, targets, seen, [ranks.astype("<f4")])


# ---- synthetic
def synth(name, n_u, n_i, seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, n_i, n_u)
    rank0 = np.floor(n_i * rng.random(n_u) ** 3).astype(np.int64)
    c = (n_i - 1 - rank0).astype(np.int64)
    # a coprime with n_i (n_i = 2^a 5^b here): odd and not a multiple of 5
    a = rng.integers(1, n_i, n_u)
    a = a | 1
    a = np.where(a % 5 == 0, (a + 2) % n_i, a)
    assert np.all(np.gcd(a, n_i) == 1)
    counts = rng.integers(20, 201, n_u)
    seen_lists = []
    for u in range(n_u):
        s = rng.integers(0, n_i, counts[u])
        s[s == t[u]] = (t[u] + 1) % n_i
        seen_lists.append(s)
    write(out / name, n_u, n_i, 1, t, seen_lists, [a.astype("<u4"), c.astype("<u4")])


synth("synth100k.qevb", 100_000, 20_000, 11)
synth("synth100k_50k.qevb", 100_000, 50_000, 13)
