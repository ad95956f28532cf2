"""RecBole 1.2.1 side of the full-ranking evaluation benchmark, fed the SAME scores, targets and
seen items as quadrec (case files from make_cases.py), then compared per user with quadrec's
output (examples/bench_full.rs) written to the same OUT_DIR.

Command (repository root; run quadrec first, same thread count):
    OMP_NUM_THREADS=T OMP_WAIT_POLICY=PASSIVE MKL_NUM_THREADS=T \
        /work/venv/bin/python benchmarks/eval/recbole_bench.py CASE T OUT_DIR [BLOCK]

Two variants, interleaved run by run (REPEATS each; median and best recorded):
- acc: RecBole's accuracy metrics Hit, Recall, NDCG, MRR, Precision, MAP @ 5, 10, 20;
- full: the same plus RecBole's own exposure metrics ItemCoverage, AveragePopularity and
  GiniIndex @ 5, 10, 20 (like-for-like with quadrec's "full" variant). Item popularity = item
  occurrences in the seen lists (as in bench_full.rs), set as `data.count_items`; `data.num_items`
  = n_items. These two are what `Collector.data_collect(train_data)` would set; set by hand
  on the struct returned by `get_data_struct` (there is no RecBole dataset object here, and
  1.2.1's get_data_struct calls .cpu() on every entry, which fails for an int / Counter).

What is timed is what RecBole's trainer does per evaluation batch after the model produced
scores: mask history items with -inf (Trainer._full_sort_batch_eval), Collector.eval_batch_collect
(torch.topk + positive gather), then Evaluator.evaluate over all users (numpy metric code).
Building each score tensor (a copy from the case file, or the affine permutation) is excluded,
as on the quadrec side. RecBole's usual padding column (item 0) does not exist here: items are
0-based dense ids on both sides.

Compatibility patches (do not change what is computed): numpy>=1.24 removed the `np.float`
alias that recbole.evaluator.metrics uses; it is restored as the builtin float (float64),
which is exactly what the alias meant.
"""

import json
import pathlib
import sys
import time

import numpy as np

if not hasattr(np, "float"):
    np.float = float  # compat patch, see module docstring
import torch  # noqa: E402
from recbole.evaluator import Collector, Evaluator  # noqa: E402
from recbole.evaluator.metrics import (  # noqa: E402
    MAP,
    MRR,
    NDCG,
    AveragePopularity,
    Hit,
    Precision,
    Recall,
)

case, threads, out_dir = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
block = int(sys.argv[4]) if len(sys.argv) > 4 else 0
torch.set_num_threads(threads)

raw = np.fromfile(case, dtype="<u4", count=5)
assert raw[0] == int.from_bytes(b"QEVB", "little"), case
_, version, n_users, n_items, kind = (int(x) for x in raw)
off = 20
def take(n, dtype="<u4"):
    global off
    a = np.fromfile(case, dtype=dtype, count=n, offset=off)
    off += 4 * n
    return a
targets = take(n_users).astype(np.int64)
seen_len = take(n_users).astype(np.int64)
seen = take(int(seen_len.sum())).astype(np.int64)
seen_off = np.concatenate([[0], np.cumsum(seen_len)])
if kind == 0:
    scores_all = take(n_users * n_items, "<f4").reshape(n_users, n_items)
else:
    a_all = take(n_users).astype(np.int64)
    c_all = take(n_users).astype(np.int64)

TOPK = [5, 10, 20]
ACC = ["Hit", "Recall", "NDCG", "MRR", "Precision", "MAP"]
EXPO = ["ItemCoverage", "AveragePopularity", "GiniIndex"]
def make_config(metrics):
    return {
        "metrics": metrics,
        "topk": TOPK,
        "eval_args": {"mode": "full"},
        "device": torch.device("cpu"),
        "metric_decimal_place": 17,
    }
config = make_config(ACC)
configs = {"acc": make_config(ACC), "full": make_config(ACC + EXPO)}
import collections  # noqa: E402
pop = np.bincount(seen, minlength=n_items)
count_items = collections.Counter({i: int(c) for i, c in enumerate(pop) if c > 0})
if block == 0:
    block = max(1, min(4096, (64 << 20) // n_items))  # same rule as quadrec's auto block
REPEATS = int(__import__("os").environ.get("REPEATS", "3"))
runs = {"acc": [], "full": []}  # (eval s, build s) per run; variants interleaved
results = {}
for _rep in range(REPEATS + 1):  # the first round is an untimed warm-up (as in bench_full.rs)
    for variant, cfg in configs.items():
        collector = Collector(cfg)
        evaluator = Evaluator(cfg)
        eval_secs = 0.0
        build_secs = 0.0
        for start in range(0, n_users, block):
            end = min(n_users, start + block)
            tb = time.perf_counter()
            if kind == 0:
                scores = torch.from_numpy(np.array(scores_all[start:end], dtype=np.float32))
            else:
                i = np.arange(n_items, dtype=np.int64)[None, :]
                t = targets[start:end, None]
                s = ((i + n_items - t) * a_all[start:end, None] + c_all[start:end, None]) % n_items
                scores = torch.from_numpy(s.astype(np.float32))
            rows = np.repeat(np.arange(end - start), seen_len[start:end])
            hist_i = torch.from_numpy(seen[seen_off[start]:seen_off[end]])
            hist_u = torch.from_numpy(rows)
            pos_u = torch.arange(end - start)
            pos_i = torch.from_numpy(targets[start:end])
            build_secs += time.perf_counter() - tb
            te = time.perf_counter()
            scores[hist_u, hist_i] = -np.inf  # Trainer._full_sort_batch_eval
            collector.eval_batch_collect(scores, None, pos_u, pos_i)
            eval_secs += time.perf_counter() - te
        te = time.perf_counter()
        struct = collector.get_data_struct()
        if variant == "full":
            # Set on the returned struct: get_data_struct calls .cpu() on every entry, which
            # fails for these non-tensor entries (int, Counter).
            struct.set("data.num_items", n_items)
            struct.set("data.count_items", count_items)
        result = evaluator.evaluate(struct)
        eval_secs += time.perf_counter() - te
        if _rep > 0:
            runs[variant].append((eval_secs, build_secs))
        results[variant] = (struct, result)
med = lambda v: float(np.median([r[0] for r in v]))  # noqa: E731
eval_secs, build_secs = med(runs["acc"]), min(runs["acc"])[1]
struct, result = results["acc"]
full_struct, full_result = results["full"]

# ---- per-user values (not timed) and comparison with quadrec
topk = struct.get("rec.topk")
pos_index, pos_len = torch.split(topk, [max(TOPK), 1], dim=1)
pos_index, pos_len = pos_index.to(torch.bool).numpy(), pos_len.squeeze(-1).numpy()
ours_names, recbole_cols = [], []
name_map = {"hr": Hit, "recall": Recall, "ndcg": NDCG, "mrr": MRR, "precision": Precision, "map": MAP}
for k in TOPK:
    for m, cls in name_map.items():
        metric = cls(config)
        # Hit, MRR and Precision take only pos_index; the others also pos_len.
        info = metric.metric_info(pos_index) if cls in (Hit, MRR, Precision) else metric.metric_info(pos_index, pos_len)
        ours_names.append(f"{m}@{k}")
        recbole_cols.append(np.asarray(info[:, k - 1], dtype=np.float64))
report = {
    "tool": "recbole-1.2.1 Collector+Evaluator",
    "case": case,
    "n_users": n_users,
    "n_items": n_items,
    "threads": threads,
    "torch_threads": torch.get_num_threads(),
    "block_users": block,
    "eval_seconds": eval_secs,
    "eval_seconds_best": min(r[0] for r in runs["acc"]),
    "eval_seconds_all_runs": [r[0] for r in runs["acc"]],
    "eval_seconds_with_exposure": med(runs["full"]),
    "eval_seconds_with_exposure_best": min(r[0] for r in runs["full"]),
    "eval_seconds_with_exposure_all_runs": [r[0] for r in runs["full"]],
    "loadavg": open("/proc/loadavg").read().split()[:3],
    "score_build_seconds": build_secs,
    "summary": {k: float(v) for k, v in full_result.items()},
}
qfile = out_dir / "quadrec_per_user.f64"
if qfile.exists():
    q = np.fromfile(qfile, dtype="<f8").reshape(len(ours_names), n_users)
    diffs = {n: float(np.max(np.abs(q[j] - recbole_cols[j]))) for j, n in enumerate(ours_names)}
    report["max_abs_per_user_diff_vs_quadrec"] = diffs
    report["identical_per_user"] = all(d == 0.0 for d in diffs.values())
    qj = json.loads((out_dir / "quadrec.json").read_text())
    report["speedup_quadrec_vs_recbole"] = eval_secs / qj["eval_seconds"]
    # Exposure metrics: per-user average popularity and the list-level values.
    qp = np.fromfile(out_dir / "quadrec_avg_pop.f64", dtype="<f8").reshape(len(TOPK), n_users)
    rb_items = full_struct.get("rec.items").numpy()
    ap = AveragePopularity(configs["full"]).metric_info(
        AveragePopularity(configs["full"]).get_pop(rb_items, dict(count_items)))
    expo = {f"avg_pop@{k} per user": float(np.max(np.abs(qp[j] - ap[:, k - 1]))) for j, k in enumerate(TOPK)}
    qs = qj["summary"]
    for k in TOPK:
        expo[f"coverage@{k}"] = abs(qs[f"coverage@{k}"] - float(full_result[f"itemcoverage@{k}"]))
        expo[f"gini@{k}"] = abs(qs[f"gini@{k}"] - float(full_result[f"giniindex@{k}"]))
    report["max_abs_exposure_diff_vs_quadrec"] = expo
out_dir.mkdir(parents=True, exist_ok=True)
(out_dir / "recbole.json").write_text(json.dumps(report, indent=1) + "\n")
print(json.dumps({k: v for k, v in report.items() if k != "summary"}, indent=1))
