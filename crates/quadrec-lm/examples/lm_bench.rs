//! Throughput of the Burn language models (see `benchmarks/lm/README.md` for the protocol and
//! the peer script). Prints one JSON object per measurement on stdout.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p quadrec-lm --example lm_bench -- all
//! ```
//! Tasks: `minilm`, `prefill`, `continuations`, `gemm`, `all`. `LM_BENCH_MINILM_BATCH` sets the
//! MiniLM batch size (default 32, the peer's `batch_size`).

use std::time::Instant;

use burn::tensor::{Device, Tensor};
use quadrec_lm::llama::Llama;
use quadrec_lm::{assets, bpe::BpeTokenizer};

fn titles() -> Vec<String> {
    let dir = quadrec_assets::fetch(&quadrec_assets::ML_100K).expect("ML-100K should fetch");
    let path = dir.path("recbole/dataset_example/ml-100k/ml-100k.item");
    let text = std::fs::read_to_string(&path).expect("item file should read");
    // Column 2 (`movie_title:token_seq`) of the RecBole atomic file; same rule in peer_bench.py.
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).expect("movie_title column").to_string())
        .collect()
}

fn best_of<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// Matmul FLOPs of one decoder pass over `t` new tokens attending to `past + t` keys
/// (projections + attention scores/values; the LM head counted separately by the caller).
fn decoder_flops(m: &Llama, t: usize, past: usize) -> f64 {
    let c = &m.config;
    let (d, hd, ff) = (c.hidden as f64, c.head_dim() as f64, c.intermediate as f64);
    let (nh, nkv) = (c.n_head as f64, c.n_kv_head as f64);
    let t_f = t as f64;
    let proj = 2.0 * t_f * (d * nh * hd + 2.0 * d * nkv * hd + nh * hd * d + 3.0 * d * ff);
    // Causal attention: on average (past + t/2) keys per query, QK^T and PV.
    let attn = 2.0 * 2.0 * t_f * (past as f64 + t_f / 2.0) * nh * hd;
    c.n_layer as f64 * (proj + attn)
}

/// Attention-only FLOPs of [`decoder_flops`].
fn decoder_flops_attn(m: &Llama, t: usize, past: usize) -> f64 {
    let c = &m.config;
    let t_f = t as f64;
    c.n_layer as f64
        * 2.0
        * 2.0
        * t_f
        * (past as f64 + t_f / 2.0)
        * c.n_head as f64
        * c.head_dim() as f64
}

fn main() {
    let task = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into());
    let device = Device::flex();
    let all = task == "all";
    if all || task == "gemm" {
        for (m, k, n) in [(300usize, 576usize, 1536usize), (1024, 1024, 1024), (20, 576, 49152)] {
            let a = Tensor::<2>::ones([m, k], &device);
            let b = Tensor::<2>::ones([k, n], &device);
            let _ = a.clone().matmul(b.clone()).into_data();
            let s = best_of(5, || {
                let _ = a.clone().matmul(b.clone()).into_data();
            });
            let gf = 2.0 * (m * k * n) as f64 / s / 1e9;
            println!(
                "{{\"task\":\"gemm\",\"m\":{m},\"k\":{k},\"n\":{n},\"seconds\":{s:.6},\"gflops\":{gf:.2},\"threads\":\"{threads}\"}}"
            );
        }
    }
    if all || task == "minilm" {
        let enc = assets::load_minilm(&device).expect("MiniLM should load");
        let t = titles();
        let refs: Vec<&str> = t.iter().map(|s| s.as_str()).collect();
        // Sentences per batch (default 32, as the peer's default `batch_size`).
        let batch: usize = std::env::var("LM_BENCH_MINILM_BATCH")
            .map_or(32, |v| v.parse().expect("LM_BENCH_MINILM_BATCH should be an integer"));
        let _ = enc.encode(&refs[..64], batch).unwrap();
        let s = best_of(5, || {
            let _ = enc.encode(&refs, batch).unwrap();
        });
        println!(
            "{{\"task\":\"minilm_titles\",\"n\":{},\"batch\":{batch},\"seconds\":{s:.4},\"sentences_per_s\":{:.1},\"threads\":\"{threads}\"}}",
            refs.len(),
            refs.len() as f64 / s
        );
    }
    if all || task == "prefill" || task == "continuations" {
        let (m, tok): (Llama, BpeTokenizer) =
            assets::load_smollm2(&device).expect("SmolLM2 should load");
        let text = titles().join(", ");
        let ids = tok.encode(&text).unwrap();
        if all || task == "prefill" {
            for n in [128usize, 300] {
                let p = &ids[..n];
                let _ = m.next_token_logits(p);
                let s = best_of(5, || {
                    let _ = m.next_token_logits(p);
                });
                let fl =
                    decoder_flops(&m, n, 0) + 2.0 * (m.config.hidden * m.config.vocab_size) as f64;
                println!(
                    "{{\"task\":\"prefill\",\"tokens\":{n},\"seconds\":{s:.4},\"tokens_per_s\":{:.1},\"gflops\":{:.2},\"threads\":\"{threads}\"}}",
                    n as f64 / s,
                    fl / s / 1e9
                );
            }
        }
        if all || task == "continuations" {
            // Shared 300-token prefix; 20 candidates = consecutive ~13-token slices of the text.
            let prefix = &ids[..300];
            let cands: Vec<Vec<u32>> =
                (0..20).map(|i| ids[400 + i * 13..400 + i * 13 + 13 - (i % 3)].to_vec()).collect();
            let n_cand_tok: usize = cands.iter().map(|c| c.len()).sum();
            let _ = m.score_continuations(prefix, &cands, 20).unwrap();
            let s = best_of(5, || {
                let _ = m.score_continuations(prefix, &cands, 20).unwrap();
            });
            // Useful FLOPs: prefix pass, then each candidate token but the last (it is only
            // predicted) attending to the prefix and its own earlier tokens, and the LM head at
            // the prefix's last position and every fed candidate position.
            let fed: usize = cands.iter().map(|c| c.len() - 1).sum();
            let per_tok = decoder_flops(&m, 1, 0) - decoder_flops_attn(&m, 1, 0);
            let attn: f64 = cands
                .iter()
                .flat_map(|c| (0..c.len() - 1).map(|j| decoder_flops_attn(&m, 1, 300 + j)))
                .sum();
            let fl = decoder_flops(&m, 300, 0)
                + per_tok * fed as f64
                + attn
                + 2.0 * (m.config.hidden * m.config.vocab_size) as f64 * (1 + fed) as f64;
            println!(
                "{{\"task\":\"continuations_shared_prefix\",\"prefix\":300,\"candidates\":20,\"candidate_tokens\":{n_cand_tok},\"seconds\":{s:.4},\"gflops\":{:.2},\"threads\":\"{threads}\"}}",
                fl / s / 1e9
            );
            // Baseline inside Burn: 20 separate full prompts, no cache reuse.
            let s2 = best_of(1, || {
                for c in &cands {
                    let mut all = prefix.to_vec();
                    all.extend(c);
                    let _ = m.score_continuations(&all[..300], std::slice::from_ref(c), 1).unwrap();
                }
            });
            println!(
                "{{\"task\":\"continuations_separate_prompts\",\"prefix\":300,\"candidates\":20,\"seconds\":{s2:.4},\"threads\":\"{threads}\"}}"
            );
        }
    }
}
