"""Render the results table of README.md from results/*.jsonl (never written by hand).
Usage: python3 benchmarks/crm/render.py benchmarks/crm/results"""
import json, os, statistics, sys
d = sys.argv[1]
rows = []
for f in sorted(os.listdir(d)):
    if f.endswith(".jsonl"):
        rows += [json.loads(l) for l in open(os.path.join(d, f)) if l.strip()]
print("| tool | method | seed | epochs run (best) | mean train s/epoch | valid NDCG@10 | test NDCG@10 | test HR@10 |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    best = r.get("best_epoch")
    ep = f'{r["epochs_run"]}' + (f" ({best})" if best else "")
    v = r.get("valid_ndcg@10")
    print(f'| {r["tool"]} | {r["method"]} | {r["seed"]} | {ep} | {r["mean_epoch_train_s"]:.3f} | '
          f'{"" if v is None else f"{v:.4f}"} | {r["test_ndcg@10"]:.4f} | {r["test_hr@10"]:.4f} |')
by = {}
for r in rows:
    by.setdefault((r["tool"].split("-")[0], r["method"].lower()), []).append(r)
print()
print("| method | tool | runs | test NDCG@10 mean (min-max) | mean train s/epoch |")
print("|---|---|---|---|---|")
for (tool, m), rs in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    nd = [r["test_ndcg@10"] for r in rs]
    ep = [r["mean_epoch_train_s"] for r in rs if r["mean_epoch_train_s"] > 0]
    print(f"| {m} | {tool} | {len(rs)} | {statistics.mean(nd):.4f} ({min(nd):.4f}-{max(nd):.4f}) | "
          f"{statistics.mean(ep) if ep else 0:.3f} |")
