"""TREC export round trip: ranx reads the run/qrels files written by quadrec
(`bench_full CASE T OUT_DIR --trec`) and must recompute quadrec's numbers.

Command (repository root):
    /work/venv/bin/python benchmarks/eval/ranx_trec_roundtrip.py OUT_DIR RESULT_JSON

Exits non-zero if any metric differs by more than 1e-12. ML-100K case: one target per user, so
MAP@K is identical under quadrec's min(R, K) and ranx's R denominators.
"""

import json
import pathlib
import sys

from ranx import Qrels, Run, evaluate

out_dir, result = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
ours = json.loads((out_dir / "quadrec.json").read_text())["summary"]
qrels = Qrels.from_file(str(out_dir / "qrels.trec"), kind="trec")
run = Run.from_file(str(out_dir / "run.trec"), kind="trec")
names = {}
for k in [5, 10, 20]:
    for q, r in [("hr", "hit_rate"), ("recall", "recall"), ("ndcg", "ndcg"), ("mrr", "mrr"),
                 ("precision", "precision"), ("map", "map")]:
        names[f"{q}@{k}"] = f"{r}@{k}"
vals = evaluate(qrels, run, list(names.values()))
rows = {q: {"quadrec": ours[q], "ranx": float(vals[r]), "abs_diff": abs(ours[q] - float(vals[r]))}
        for q, r in names.items()}
ok = all(v["abs_diff"] <= 1e-12 for v in rows.values())
result.write_text(json.dumps({"case": str(out_dir), "n_queries": len(qrels.qrels), "all_match_1e-12": ok,
                              "metrics": rows}, indent=1) + "\n")
print(json.dumps({"all_match_1e-12": ok, "max_abs_diff": max(v["abs_diff"] for v in rows.values())}))
sys.exit(0 if ok else 1)
