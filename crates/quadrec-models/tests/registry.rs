//! Registry-wide tests: every entry of CRM_TABLE gets the quadrec-method harness checks.

use quadrec_method::harness;
use quadrec_models::CRM_TABLE;

#[test]
fn ids_are_unique() {
    harness::check_unique_ids(CRM_TABLE);
    assert!(
        quadrec_method::find_entry(CRM_TABLE, "sasrex")
            .unwrap_err()
            .to_string()
            .contains("did you mean `sasrec`")
            || !CRM_TABLE.iter().any(|e| e.id == "sasrec")
    );
}

#[test]
fn params_round_trip_and_unknown_keys_are_rejected() {
    for e in CRM_TABLE {
        harness::check_params(e);
    }
}

#[test]
fn fits_tiny_data_with_finite_consistent_scores() {
    for e in CRM_TABLE {
        harness::check_fit_and_scores(e);
    }
}

#[test]
fn same_seed_same_scores() {
    for e in CRM_TABLE {
        harness::check_deterministic(e);
    }
}

#[test]
fn beats_random_on_planted_data() {
    for e in CRM_TABLE.iter().filter(|e| e.id != "random") {
        let (hr, rnd) = harness::check_beats_random(e, 0.05);
        eprintln!("{:10} HR@10 {hr:.3} (random {rnd:.3})", e.id);
    }
}

/// The GPU path trains and scores like the CPU one: BPR-MF (smoke recipe, planted data, same
/// seed) fitted on flex and on wgpu gives the same HR@10 and nearly the same scores (the two
/// backends sum in different orders, so bitwise equality is not expected).
///
/// Needs `--features wgpu` and a Vulkan device: a GPU, or Mesa lavapipe on a CPU-only machine
/// (how to point the Vulkan loader at a user-extracted lavapipe: benchmarks/crm/README.md).
/// Run: `cargo test -p quadrec-models --features wgpu --test registry -- --ignored wgpu --nocapture`.
#[cfg(feature = "wgpu")]
#[test]
#[ignore = "needs a Vulkan device (GPU or Mesa lavapipe); see benchmarks/crm/README.md"]
fn wgpu_matches_flex_on_bpr() {
    use quadrec_core::Seed;
    use quadrec_method::harness::{fit_smoke, full_scores, hit_rate_at_10};
    use quadrec_method::synthetic::{Planted, PlantedConfig};
    use quadrec_models::device::{BackendKind, with_backend};
    let e = quadrec_method::find_entry(CRM_TABLE, "bpr").unwrap();
    let data = Planted::generate(&PlantedConfig::small(), Seed(13));
    let users: Vec<u32> = (0..data.train.n_users()).collect();
    let run = |kind| {
        with_backend(kind, || {
            let t = std::time::Instant::now();
            let m = fit_smoke(e, &data, Seed(3), true);
            let s = full_scores(e, m.as_ref(), &data);
            let hr = hit_rate_at_10(m.as_ref(), &data, &users, true);
            eprintln!("{kind:?}: fit+score {:.1} s, HR@10 {hr:.4}", t.elapsed().as_secs_f64());
            (s, hr)
        })
    };
    let (flex, hr_flex) = run(BackendKind::Flex);
    let (wgpu, hr_wgpu) = run(BackendKind::Wgpu);
    let scale = flex.iter().fold(0f32, |a, x| a.max(x.abs()));
    let max_diff = flex.iter().zip(&wgpu).fold(0f32, |a, (x, y)| a.max((x - y).abs()));
    eprintln!("max |flex - wgpu| = {max_diff:.3e} (max |score| {scale:.3})");
    // Tolerances: see benchmarks/crm/README.md (wgpu section).
    assert!(max_diff <= 1e-2 * scale.max(1.0), "scores differ by {max_diff} (scale {scale})");
    assert!((hr_flex - hr_wgpu).abs() <= 0.02, "HR@10 flex {hr_flex} vs wgpu {hr_wgpu}");
}
