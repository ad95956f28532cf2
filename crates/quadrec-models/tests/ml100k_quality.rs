//! Quality on ML-100K, leave-one-out by time, full ranking (seen items masked), NDCG@10 from
//! quadrec-eval: every trained model beats Pop, and SASRec beats BPR-MF.
//!
//! `#[ignore]`: it needs the ML-100K asset (network, or `QUADREC_WHEEL_DIR` pointing at the
//! pinned recbole wheel) and minutes of CPU. Run with
//! `QUADREC_WHEEL_DIR=/work/wheels cargo test -p quadrec-models --test ml100k_quality -- --ignored --nocapture`.
//! Figures and the seed sweep behind the margins are in benchmarks/crm/README.md.
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
    ("gru4rec", "train.epochs=20"),
    ("sasrec", "train.epochs=30"),
    ("bert4rec", "train.epochs=30"),
    ("lr", "train.epochs=10"),
    ("fm", "train.epochs=10"),
    ("deepfm", "train.epochs=10"),
    ("dcnv2", "train.epochs=10"),
    ("din", "train.epochs=5"),
];

/// Margin by which a trained model must beat Pop's test NDCG@10 (absolute). Strict (0.0): the
/// only seed sweep done so far (BPR-MF, 4 seeds, benchmarks/crm/README.md) shows a max-min spread
/// of 0.007, so a seed-derived tolerance would make the check weaker, not stronger; raising it
/// needs the per-method sweep that is still to do.
const MARGIN_OVER_POP: f64 = 0.0;

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
    let seed = 2026;
    let pop = fit_eval(&loo, "pop", seed);
    let mut got = Vec::new();
    for e in CRM_TABLE.iter().filter(|e| e.trained) {
        let v = fit_eval(&loo, e.id, seed);
        got.push((e.id, v));
    }
    for (id, v) in &got {
        assert!(
            *v > pop + MARGIN_OVER_POP,
            "{id}: NDCG@10 {v:.4} does not beat Pop {pop:.4} + {MARGIN_OVER_POP}"
        );
    }
    let get = |id: &str| got.iter().find(|(m, _)| *m == id).unwrap().1;
    assert!(get("sasrec") > get("bpr"), "SASRec {:.4} <= BPR-MF {:.4}", get("sasrec"), get("bpr"));
}
