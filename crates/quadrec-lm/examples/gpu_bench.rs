//! Prefill and greedy-decode throughput of the Llama decoder at SmolLM2-135M's real
//! configuration with random weights, on any Burn device (wgpu f32/f16 on a GPU, or flex).
//! Peer: `benchmarks/gpu/torch_bench.py` (transformers `LlamaForCausalLM`, same shapes).
//! Protocol and figures: `benchmarks/gpu/README.md`. Random weights: the arithmetic, shapes and
//! kernels are those of the real model, so the speed is the same (no data-dependent sparsity or
//! early exit in either implementation); greedy decoding runs a fixed number of steps.
//!
//! ```text
//! cargo run -p quadrec-lm --features wgpu --example gpu_bench -- --device wgpu --dtype f16
//! ```
//! Prints one JSON object per measurement on stdout.

use std::time::Instant;

use burn::tensor::{Device, FloatDType, Tensor};
use quadrec_core::Seed;
use quadrec_lm::llama::{Llama, LlamaConfig, argmax};
use rand::RngExt;

fn smollm2_config() -> LlamaConfig {
    LlamaConfig {
        vocab_size: 49152,
        hidden: 576,
        intermediate: 1536,
        n_layer: 30,
        n_head: 9,
        n_kv_head: 3,
        rope_theta: 100000.0,
        rms_eps: 1e-5,
        max_position: 2048,
    }
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.to_data().convert::<f32>().try_to_vec::<f32>().expect("float tensor data")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Warm-ups, then `reps` timed runs; returns (median, all timings). Every run ends with a copy
/// of the result to the host, which waits for the device.
fn time<F: FnMut()>(warm: usize, reps: usize, mut f: F) -> (f64, Vec<f64>) {
    for _ in 0..warm {
        f();
    }
    let v: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    (median(v.clone()), v)
}

/// Prefill `b` prompts of `t` tokens (fresh cache), logits of the last position only.
fn prefill(m: &Llama, ids: &[u32], b: usize, t: usize) -> Vec<f32> {
    let pos: Vec<Vec<usize>> = (0..b).map(|_| (0..t).collect()).collect();
    let mut cache = m.new_cache();
    let h = m.hidden_states(ids, b, &pos, None, Some(&mut cache)).narrow(1, t - 1, 1);
    host(m.head(h))
}

/// Greedy decoding of `b` rows: prefill `t0` tokens, then `steps` single-token steps with the KV
/// cache (argmax on the host each step, as a generation loop does). Returns the decode-phase
/// seconds and the generated ids.
fn decode(m: &Llama, ids: &[u32], b: usize, t0: usize, steps: usize) -> (f64, Vec<u32>) {
    let v = m.config.vocab_size;
    let pos: Vec<Vec<usize>> = (0..b).map(|_| (0..t0).collect()).collect();
    let mut cache = m.new_cache();
    let h = m.hidden_states(ids, b, &pos, None, Some(&mut cache)).narrow(1, t0 - 1, 1);
    let mut next: Vec<u32> = host(m.head(h)).chunks(v).map(|r| argmax(r) as u32).collect();
    let start = Instant::now();
    let mut out = next.clone();
    for s in 0..steps {
        let pos: Vec<Vec<usize>> = (0..b).map(|_| vec![t0 + s]).collect();
        let h = m.hidden_states(&next, b, &pos, None, Some(&mut cache));
        next = host(m.head(h)).chunks(v).map(|r| argmax(r) as u32).collect();
        out.extend_from_slice(&next);
    }
    (start.elapsed().as_secs_f64(), out)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |k: &str, d: &str| -> String {
        args.iter().position(|a| a == k).map_or(d.to_string(), |i| args[i + 1].clone())
    };
    let (dev_name, dtype) = (opt("--device", "wgpu"), opt("--dtype", "f32"));
    let reps: usize = opt("--reps", "10").parse().expect("--reps");
    let mut device = match dev_name.as_str() {
        "flex" => Device::flex(),
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        other => panic!("--device {other}: expected flex or wgpu (wgpu needs --features wgpu)"),
    };
    match dtype.as_str() {
        "f32" => {}
        "f16" => device.configure(FloatDType::F16).expect("device should accept f16"),
        "bf16" => device.configure(FloatDType::BF16).expect("device should accept bf16"),
        other => panic!("--dtype {other}: expected f32, f16 or bf16"),
    }
    let cfg = smollm2_config();
    let t = Instant::now();
    let m = Llama::random(cfg.clone(), Seed(7), &device);
    let load_s = t.elapsed().as_secs_f64();
    let mut rng = Seed(7).child("gpu-bench/ids").rng();
    let mut ids = |n: usize| -> Vec<u32> {
        (0..n).map(|_| rng.random_range(0..cfg.vocab_size as u32)).collect()
    };
    let tag =
        format!("\"tool\":\"quadrec-burn-0.22.1\",\"device\":\"{dev_name}\",\"dtype\":\"{dtype}\"");
    println!("{{{tag},\"task\":\"load-random\",\"seconds\":{load_s:.3}}}");
    for (b, tl) in [(1usize, 300usize), (16, 128)] {
        let x = ids(b * tl);
        let (med, all) = time(3, reps, || {
            prefill(&m, &x, b, tl);
        });
        println!(
            "{{{tag},\"task\":\"prefill\",\"batch\":{b},\"tokens\":{tl},\"median_s\":{med:.6},\"tokens_per_s\":{:.1},\"runs_s\":{all:?}}}",
            (b * tl) as f64 / med
        );
    }
    for b in [1usize, 16] {
        let (t0, steps) = (32, 64);
        let x = ids(b * t0);
        let mut runs = Vec::new();
        let mut first = Vec::new();
        for r in 0..(2 + reps / 2) {
            let (s, out) = decode(&m, &x, b, t0, steps);
            if r == 0 {
                first = out[..b.min(out.len())].to_vec();
            }
            if r >= 2 {
                runs.push(s);
            }
        }
        let med = median(runs.clone());
        println!(
            "{{{tag},\"task\":\"decode\",\"batch\":{b},\"prompt\":{t0},\"steps\":{steps},\"median_s\":{med:.6},\"tokens_per_s\":{:.1},\"first_ids\":{first:?},\"runs_s\":{runs:?}}}",
            (b * steps) as f64 / med
        );
    }
}
