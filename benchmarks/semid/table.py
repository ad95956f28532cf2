"""Render the TIGER vs SASRec table of benchmarks/semid/README.md from a run's records.jsonl.

    python3 benchmarks/semid/table.py /tmp/semid-run/records.jsonl

Reads only the runner's structured records (no numbers are typed by hand).
"""
import json
import sys


def ci(m):
    if m is None:
        return "n/a"
    return f"{m['mean']:.4f} [{m['ci_low']:.4f}, {m['ci_high']:.4f}]"


def mean(m):
    return "n/a" if m is None else f"{m['mean']:.4f}"


def main(path):
    rows = [json.loads(line) for line in open(path)]
    print("| Method | Variant | NDCG@10 [95% CI] | HR@10 [95% CI] | MRR [95% CI] | valid-item rate | "
          "invalid rate | duplicate rate | Train s | Eval s | p50 ms | p99 ms | Params | Peak RSS MiB | Status |")
    print("|" + "---|" * 15)
    for r in rows:
        t = r.get("test") or {}
        c = r.get("cost") or {}
        m = r["method"]
        print(f"| {m['display']} | {m.get('variant', '')} | {ci(t.get('ndcg@10'))} | {ci(t.get('hr@10'))} | "
              f"{ci(t.get('mrr'))} | {mean(t.get('valid_rate'))} | {mean(t.get('hallucination_rate'))} | "
              f"{mean(t.get('duplicate_rate'))} | {c.get('train_seconds', 0):.1f} | {c.get('eval_seconds', 0):.1f} | "
              f"{c.get('latency_p50_ms', 0):.2f} | {c.get('latency_p99_ms', 0):.2f} | "
              f"{c.get('n_parameters', 0)} | {c.get('peak_rss_bytes', 0) / 2**20:.0f} | {r['status']} |")
    print()
    print(f"Protocol: {rows[0]['protocol']}; valid (selection) values: " +
          ", ".join(f"{r['method']['display']} {r['method'].get('variant', '')}: {r.get('valid')}" for r in rows))


if __name__ == "__main__":
    main(sys.argv[1])
