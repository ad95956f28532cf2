//! The Llama decoder on Burn's wgpu backend (f32 and f16) against the flex CPU backend (f32).
//!
//! Same seed, same host-generated random weights on every device; the logits of three inference
//! paths are compared: causal prefill with a KV cache, one cached decode step, and a left-padded
//! masked batch. Relative error is `||x - ref||_2 / ||ref||_2` over all logits.
//!
//! Tolerances (why):
//! - wgpu f32 vs flex f32: both accumulate in f32; only the summation order differs, which
//!   gives relative errors near 1e-6 (measured: benchmarks/gpu/README.md). We allow 1e-3 so that
//!   a driver that runs f32 matrix products on reduced-precision matrix units (TF32-like, about
//!   3e-4) still passes, while a wrong mask, RoPE position or cache layout (errors of order 1)
//!   cannot.
//! - wgpu f16 vs flex f32: every weight and activation is rounded to f16 (unit roundoff 4.9e-4)
//!   and errors compound over the layers; we allow 3e-2, and ask that the top-1 token agrees
//!   wherever the f32 top-2 margin exceeds 0.1 x the largest |logit| (random weights make near
//!   ties common, and a near tie may flip legitimately).
//!
//! Needs `--features wgpu` and a Vulkan device (a GPU, or Mesa lavapipe on a CPU-only machine:
//! benchmarks/gpu/README.md). `QUADREC_LM_WGPU_CONFIG=smollm2` uses SmolLM2-135M's real
//! configuration (random weights); the default is the tiny test config.
//! Run: `cargo test -p quadrec-lm --features wgpu --test wgpu -- --ignored --nocapture`.
#![cfg(feature = "wgpu")]

use burn::tensor::{Device, DeviceKind, DeviceType, FloatDType};
use quadrec_core::Seed;
use quadrec_lm::llama::{Llama, LlamaConfig, argmax};
use rand::RngExt;

/// SmolLM2-135M's configuration (GGUF metadata of the pinned asset), with the context capped
/// at 2048 positions to keep the host RoPE table small.
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

fn config() -> LlamaConfig {
    match std::env::var("QUADREC_LM_WGPU_CONFIG").as_deref() {
        Ok("smollm2") => smollm2_config(),
        Ok("tiny") | Err(_) => LlamaConfig::tiny(),
        Ok(other) => panic!("QUADREC_LM_WGPU_CONFIG={other:?}: expected `tiny` or `smollm2`"),
    }
}

/// All logits of the three paths, flattened: prefill `[T, V]`, one decode step `[V]`,
/// masked batch `[3, V]`.
fn logits(m: &Llama) -> Vec<Vec<f32>> {
    let v = m.config.vocab_size as u32;
    let mut rng = Seed(5).child("wgpu-test/ids").rng();
    let mut ids = |n: usize| -> Vec<u32> { (0..n).map(|_| rng.random_range(0..v)).collect() };
    let prompt = ids(12);
    let mut cache = m.new_cache();
    let prefill = m.forward(&prompt, &mut cache);
    let prefill = prefill.to_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let step = m.forward(&[prompt[3]], &mut cache);
    let step = step.to_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let batch = m.next_token_logits_batch(&[ids(9), ids(4), ids(7)]).unwrap().concat();
    vec![prefill, step, batch]
}

fn rel_err(x: &[f32], r: &[f32]) -> f64 {
    assert_eq!(x.len(), r.len());
    assert!(x.iter().all(|v| v.is_finite()), "non-finite logits");
    let num: f64 = x.iter().zip(r).map(|(a, b)| ((a - b) as f64).powi(2)).sum();
    let den: f64 = r.iter().map(|b| (*b as f64).powi(2)).sum();
    (num / den).sqrt()
}

/// Rows (of width `v`) whose top-1 differs although the reference's top-2 margin is large.
fn confident_top1_flips(x: &[f32], r: &[f32], v: usize) -> (usize, usize) {
    let scale = r.iter().fold(0f32, |a, b| a.max(b.abs()));
    let (mut checked, mut flips) = (0, 0);
    for (xr, rr) in x.chunks(v).zip(r.chunks(v)) {
        let mut s = rr.to_vec();
        s.sort_by(|a, b| b.total_cmp(a));
        if s[0] - s[1] > 0.1 * scale {
            checked += 1;
            flips += usize::from(argmax(xr) != argmax(rr));
        }
    }
    (checked, flips)
}

fn compare(name: &str, got: &[Vec<f32>], reference: &[Vec<f32>], tol: f64, v: usize) {
    for (path, (g, r)) in
        ["prefill", "decode-step", "masked-batch"].iter().zip(got.iter().zip(reference))
    {
        let e = rel_err(g, r);
        let (checked, flips) = confident_top1_flips(g, r, v);
        eprintln!(
            "{name} {path}: rel L2 err {e:.3e} (tol {tol:.0e}); top-1 flips {flips}/{checked} confident rows"
        );
        assert!(e <= tol, "{name} {path}: relative error {e:.3e} > {tol:.0e}");
        assert_eq!(flips, 0, "{name} {path}: top-1 differs on a confident row");
    }
}

#[test]
#[ignore = "needs a Vulkan device (GPU or Mesa lavapipe); see benchmarks/gpu/README.md"]
fn llama_wgpu_f32_and_f16_match_flex() {
    let cfg = config();
    let v = cfg.vocab_size;
    eprintln!("config: {cfg:?}");
    let reference = logits(&Llama::random(cfg.clone(), Seed(11), &Device::flex()));

    let wgpu = Device::wgpu(DeviceKind::DefaultDevice);
    let got = logits(&Llama::random(cfg.clone(), Seed(11), &wgpu));
    compare("wgpu-f32", &got, &reference, 1e-3, v);

    // Device settings (default float dtype) are fixed once per device key, and the
    // `DefaultDevice` alias above is already locked to f32; a concrete adapter key from
    // enumeration is a separate key on the same hardware, configured to f16 before any tensor.
    let mut f16 = Device::enumerate(DeviceType::Wgpu)
        .first()
        .cloned()
        .expect("a wgpu adapter should be enumerable");
    eprintln!("f16 device: {f16:?}");
    match f16.configure(FloatDType::F16) {
        Ok(()) => {}
        Err(e) => panic!("this adapter does not take f16 as the default float dtype: {e:?}"),
    }
    let got = logits(&Llama::random(cfg, Seed(11), &f16));
    compare("wgpu-f16", &got, &reference, 3e-2, v);
}
