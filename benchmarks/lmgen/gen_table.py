"""Summary table of a run folder's records (ranking quality with CIs, generation rates, cost):

    python3 benchmarks/lmgen/gen_table.py benchmarks/lmgen/results/records.jsonl
"""
import json, sys

def ci(t, k, nd=3):
    m = t.get(k)
    if not m:
        return "—"
    return f"{m['mean']:.{nd}f} [{m['ci_low']:.{nd}f}, {m['ci_high']:.{nd}f}]"

def rate(t, k):
    m = t.get(k)
    return "—" if not m else f"{m['mean']:.2f}"

rows = [json.loads(l) for l in open(sys.argv[1])]
print("| view | method | quadrant | NDCG@10 [95% CI] | HR@10 [95% CI] | AUC [95% CI] | valid | halluc. | dup. | train s | eval s | p50 ms/user | LM tokens | params |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in sorted(rows, key=lambda r: (r["view"], -(r["test"].get("ndcg@10") or r["test"].get("auc") or {"mean": 0})["mean"])):
    m, t, c = r["method"], r["test"], r["cost"]
    key = m["id"] + (f":{m['variant']}" if m.get("variant") else "")
    if r["status"] != "ok":
        print(f"| {r['view']} | {key} | {m['quadrant']} | failed: {r['error']} |||||||||||")
        continue
    print(f"| {r['view']} | {key} | {m['quadrant']} | {ci(t, 'ndcg@10')} | {ci(t, 'hr@10')} | {ci(t, 'auc')} | "
          f"{rate(t, 'valid_rate')} | {rate(t, 'hallucination_rate')} | {rate(t, 'duplicate_rate')} | "
          f"{c['train_seconds']:.0f} | {c['eval_seconds']:.0f} | {c['latency_p50_ms']:.0f} | {c['lm_tokens']} | {c['n_parameters']} |")
