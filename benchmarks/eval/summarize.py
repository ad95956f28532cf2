"""Render benchmarks/eval/results/summary.md from the JSON results written by run.sh.

Command (repository root): /work/venv/bin/python benchmarks/eval/summarize.py
"""

import json
import pathlib

res = pathlib.Path(__file__).with_name("results")
lines = [
    "| case | users x items | threads | RecBole 1.2.1 eval s | quadrec eval s (accuracy metrics) | ratio | quadrec eval s (+ top-20 lists) | ratio | per-user values identical (18 metrics) |",
    "|---|---|---|---|---|---|---|---|---|",
]
for f in sorted(res.glob("*_recbole.json")):
    r = json.loads(f.read_text())
    q = json.loads(f.with_name(f.name.replace("_recbole", "_quadrec")).read_text())
    rb, qa, qt = r["eval_seconds"], q["eval_seconds"], q["eval_seconds_with_top20_lists"]
    lines.append(
        f"| {f.name.split('_t')[0]} | {r['n_users']:,} x {r['n_items']:,} | {r['threads']} | {rb:.4f} | {qa:.4f} | "
        f"{rb / qa:.1f}x | {qt:.4f} | {rb / qt:.1f}x | {r.get('identical_per_user')} |"
    )
mem = res / "synth100k_50k_quadrec.json"
if mem.exists():
    m = json.loads(mem.read_text())
    lines += ["", f"quadrec alone, {m['n_users']:,} users x {m['n_items']:,} items, {m['threads']} threads: "
              f"eval {m['eval_seconds']:.2f} s (accuracy metrics), {m['eval_seconds_with_top20_lists']:.2f} s "
              f"(+ top-20 lists), block {m['block_users']} users, peak RSS {m['peak_rss_mib']:.0f} MiB."]
rt = res / "ml100k_ranx_trec_roundtrip.json"
if rt.exists():
    t = json.loads(rt.read_text())
    mx = max(v["abs_diff"] for v in t["metrics"].values())
    lines += ["", f"TREC round trip (ML-100K, {t['n_queries']} queries, 18 metrics through ranx): "
              f"all match to 1e-12: {t['all_match_1e-12']} (max abs diff {mx:.1e})."]
(res / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
