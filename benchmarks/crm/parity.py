"""BPR-MF NDCG@10 parity, quadrec vs RecBole, over seeds (benchmarks/crm/README.md).

Usage: python3 benchmarks/crm/parity.py benchmarks/crm/results/recbole.jsonl \
           benchmarks/crm/results/bpr_parity/quadrec_adam_eps1e-8.jsonl [more quadrec files]
Prints mean/std/min/max of test and valid NDCG@10 per file, the relative gap of the means
(goal: within +-5%) and Welch's t statistic of the difference (seeds are not paired: the two
tools draw different random numbers from the same seed)."""
import json, math, statistics as st, sys

def load(path, method):
    return [r for r in (json.loads(l) for l in open(path) if l.strip()) if r["method"].lower() == method]

def summary(rs, key):
    v = [r[key] for r in rs]
    return st.mean(v), st.stdev(v), min(v), max(v), len(v)

ref = load(sys.argv[1], "bpr")
for path in sys.argv[2:]:
    q = load(path, "bpr")
    print(f"## {path} vs {sys.argv[1]}")
    for key in ["test_ndcg@10", "valid_ndcg@10"]:
        mq, sq, lq, hq, nq = summary(q, key)
        mr, sr, lr, hr, nr = summary(ref, key)
        t = (mq - mr) / math.sqrt(sq**2 / nq + sr**2 / nr)
        print(f"{key}: quadrec {mq:.4f} +- {sq:.4f} ({lq:.4f}-{hq:.4f}, n={nq}) | "
              f"recbole {mr:.4f} +- {sr:.4f} ({lr:.4f}-{hr:.4f}, n={nr}) | "
              f"gap {100 * (mq / mr - 1):+.1f}% | Welch t {t:+.2f}")
    bq = sorted(r["best_epoch"] for r in q)
    print(f"quadrec best epochs: median {st.median(bq)}; recbole epochs run (best + 11): "
          f"median {st.median(sorted(r['epochs_run'] for r in ref))}")
