"""Peer of crates/quadrec-lm/examples/gpu_bench.rs: transformers LlamaForCausalLM at
SmolLM2-135M's real configuration, random init, same shapes and protocol (benchmarks/gpu/README.md).

Usage: python3 benchmarks/gpu/torch_bench.py --dtype f32,f16,bf16 [--device cuda] [--reps 10]
(one process, dtypes in turn: one import and one CUDA context for all).
Prints one JSON object per measurement. Timing: warm-ups, then wall time around each run with
torch.cuda.synchronize() (the same host-side boundary as the Burn side, which copies the result
to the host). Prefill computes the logits of the last position only (logits_to_keep=1), as the
Burn side does; decode does argmax on the host each step (.tolist()), as the Burn side does.
"""
import argparse, json, statistics, time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--dtype", default="f32")
ap.add_argument("--device", default="cuda")
ap.add_argument("--reps", type=int, default=10)
args = ap.parse_args()
for dtype_name in args.dtype.split(","):
    dt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype_name]
    dev = torch.device(args.device)
    cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                      num_attention_heads=9, num_key_value_heads=3, rope_theta=100000.0, rms_norm_eps=1e-5,
                      max_position_embeddings=2048, tie_word_embeddings=True, hidden_act="silu")
    torch.manual_seed(7)
    model = None
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    t0 = time.perf_counter()
    model = LlamaForCausalLM(cfg).to(device=dev, dtype=dt).eval()
    load_s = time.perf_counter() - t0
    tag = {"tool": f"transformers-{transformers.__version__}/torch-{torch.__version__}", "device": args.device,
           "dtype": dtype_name, "attn": model.config._attn_implementation,
           "tf32_matmul": torch.backends.cuda.matmul.allow_tf32}
    print(json.dumps({**tag, "task": "load-random", "seconds": round(load_s, 3)}), flush=True)
    g = torch.Generator().manual_seed(7)
    def ids(b, t):
        return torch.randint(0, cfg.vocab_size, (b, t), generator=g).to(dev)
    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    @torch.inference_mode()
    def prefill(x):
        out = model(input_ids=x, use_cache=True, logits_to_keep=1)
        return out.logits.float().cpu()

    @torch.inference_mode()
    def decode(x, steps):
        out = model(input_ids=x, use_cache=True, logits_to_keep=1)
        past = out.past_key_values
        nxt = out.logits[:, -1].argmax(-1)
        toks = nxt.tolist()
        sync()
        t = time.perf_counter()
        for _ in range(steps):
            out = model(input_ids=nxt[:, None], past_key_values=past, use_cache=True)
            past = out.past_key_values
            nxt = out.logits[:, -1].argmax(-1)
            toks += nxt.tolist()  # host copy each step, as a generation loop does
        sync()
        return time.perf_counter() - t, toks

    for b, tl in [(1, 300), (16, 128)]:
        x = ids(b, tl)
        for _ in range(3):
            prefill(x)
        runs = []
        for _ in range(args.reps):
            sync(); t = time.perf_counter(); prefill(x); sync()
            runs.append(time.perf_counter() - t)
        med = statistics.median(runs)
        print(json.dumps({**tag, "task": "prefill", "batch": b, "tokens": tl, "median_s": med,
                          "tokens_per_s": b * tl / med, "runs_s": runs}), flush=True)
    for b in [1, 16]:
        t0, steps = 32, 64
        x = ids(b, t0)
        runs = []
        for r in range(2 + args.reps // 2):
            s, _ = decode(x, steps)
            if r >= 2:
                runs.append(s)
        med = statistics.median(runs)
        print(json.dumps({**tag, "task": "decode", "batch": b, "prompt": t0, "steps": steps, "median_s": med,
                          "tokens_per_s": b * steps / med, "runs_s": runs}), flush=True)
