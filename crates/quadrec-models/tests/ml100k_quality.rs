//! Quality on ML-100K, leave-one-out by time, full ranking (seen items masked), NDCG@10 from
//! quadrec-eval: every trained model beats Pop, and SASRec beats BPR-MF.
//!
//! Ignored (with a reason): it needs the ML-100K asset (network, or `QUADREC_WHEEL_DIR` pointing at the
//! pinned recbole wheel) and tens of minutes of CPU. Run with
//! `QUADREC_WHEEL_DIR=/work/wheels cargo test -p quadrec-models --test ml100k_quality -- --ignored --nocapture`.
//! `QUADREC_QUALITY_ONLY=lr,fm` restricts the trained methods checked (Pop is always fitted;
//! the SASRec-vs-BPR check runs when both are selected); `QUADREC_QUALITY_SEED` changes the
//! seed (default 2026). Figures, the runs made and the seed sweep are in
//! benchmarks/crm/README.md.
//! The cheap CI counterpart is `tests/registry.rs` (beats random on planted data).

use quadrec_core::Seed;
use quadrec_method::{FitContext, Method, find_entry, parse_override};
use quadrec_models::CRM_TABLE;
use quadrec_models::experiment::{Loo, load_ml100k};

/// Epoch caps for the test (a budget, not the leaderboard recipe; early stopping on the
/// validation probe still picks the state).
const CAPS: &[(&str, &str)] = &[
    ("bpr", "train.epochs=300"),
    ("lightgcn", "train.epochs=60"),
    ("gru4rec", "train.epochs=10"),
    ("sasrec", "train.epochs=5"),
    ("bert4rec", "train.epochs=30"),
    ("lr", "train.epochs=40"),
    ("fm", "train.epochs=100"),
    ("deepfm", "train.epochs=20"),
    ("dcnv2", "train.epochs=10"),
    ("din", "train.epochs=10"),
];

/// Margin by which a trained model must beat Pop's test NDCG@10 (absolute). The test runs ONE
/// fixed seed, so it is deterministic on a machine and the margin only has to absorb float
/// differences across machines and thread counts (~1e-4 on NDCG@10; identical per-epoch losses
/// were observed across loads). Seed-to-seed noise is larger: BPR-MF over 17 seeds has a test
/// NDCG@10 std of ~0.004 (benchmarks/crm/README.md), so a method that beats Pop by less than
/// ~0.008 here is recorded there as "beats Pop on this seed", not as established.
const MARGIN_OVER_POP: f64 = 0.0005;

fn fit_eval(loo: &Loo, id: &str, seed: u64) -> f64 {
    let entry = find_entry(CRM_TABLE, id).unwrap();
    let caps: Vec<serde_json::Value> =
        CAPS.iter().filter(|(m, _)| *m == id).map(|(_, kv)| parse_override(kv).unwrap()).collect();
    let layers: Vec<(&str, &serde_json::Value)> = caps.iter().map(|v| ("test cap", v)).collect();
    let (_, mut m) = entry.build_with(&layers).unwrap();
    let mut probe = |m: &dyn Method| loo.evaluate(m, false).0;
    let mut ctx = FitContext::new(Seed(seed).child(id));
    ctx.probe = Some(&mut probe);
    let rep = m.fit(&loo.train, &mut ctx).unwrap();
    let (ndcg, _) = loo.evaluate(m.as_ref(), true);
    eprintln!(
        "{id:9} seed {seed}: test NDCG@10 {ndcg:.4} (best epoch {} of {})",
        rep.best_epoch, rep.epochs_run
    );
    ndcg
}

#[test]
#[ignore = "needs the ML-100K asset and minutes of CPU; figures in benchmarks/crm/README.md"]
fn trained_models_beat_pop_and_sasrec_beats_bpr() {
    let ds = load_ml100k().expect("ML-100K (set QUADREC_WHEEL_DIR or allow the download)");
    let loo = Loo::split(&ds);
    let seed = std::env::var("QUADREC_QUALITY_SEED").map_or(2026, |s| s.parse().unwrap());
    let only: Option<Vec<String>> = std::env::var("QUADREC_QUALITY_ONLY")
        .ok()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let selected = |id: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == id));
    let pop = fit_eval(&loo, "pop", seed);
    let mut got = Vec::new();
    for e in CRM_TABLE.iter().filter(|e| e.trained && selected(e.id)) {
        let v = fit_eval(&loo, e.id, seed);
        got.push((e.id, v));
    }
    for (id, v) in &got {
        assert!(
            *v > pop + MARGIN_OVER_POP,
            "{id}: NDCG@10 {v:.4} does not beat Pop {pop:.4} + {MARGIN_OVER_POP}"
        );
    }
    let get = |id: &str| got.iter().find(|(m, _)| *m == id).map(|g| g.1);
    if let (Some(sas), Some(bpr)) = (get("sasrec"), get("bpr")) {
        assert!(sas > bpr, "SASRec {sas:.4} <= BPR-MF {bpr:.4}");
    }
    assert!(!got.is_empty(), "QUADREC_QUALITY_ONLY selected no trained method");
}
