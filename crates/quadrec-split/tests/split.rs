//! Split invariants on hand-made datasets: no held-out row in train, chronological order,
//! determinism per seed, byte-identical regeneration, the leakage figure on a hand-made case,
//! and the views.

use quadrec_core::Seed;
use quadrec_data::raw::RawData;
use quadrec_data::{Dataset, ProcessSpec, process, store};
use quadrec_split::*;
use std::path::Path;

/// Build and store a dataset from (user, item, rating, time) rows (stored so the manifest has
/// its table hashes, as in real use).
fn dataset(rows: &[(&str, &str, f32, i64)], root: &Path) -> Dataset {
    let mut r = RawData::new("test");
    for (k, &(u, i, rt, t)) in rows.iter().enumerate() {
        r.push(Path::new("x"), k as u64 + 1, u, i, rt, t).unwrap();
    }
    store::save(process::process("t", r, &ProcessSpec::default()).unwrap(), root).unwrap()
}

/// 6 users x 8 items with distinct times, some ties.
fn medium(root: &Path) -> Dataset {
    let mut rows = Vec::new();
    let items = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
    let names: Vec<String> = (0..6).map(|u| format!("u{u}")).collect();
    for u in 0..6usize {
        for k in 0..8usize {
            let item = items[(u * 3 + k * 5) % items.len()];
            let t = 100 + (k as i64) * 10 + (u as i64 % 3) * 7 - if k == 7 { 3 } else { 0 };
            rows.push((names[u].as_str(), item, ((u + k) % 5 + 1) as f32, t));
        }
    }
    // Owned strings outlive the call through `names`.
    let rows: Vec<(&str, &str, f32, i64)> = rows;
    dataset(&rows, root)
}

#[test]
fn loo_holds_out_last_two_by_time_and_train_view_has_no_held_out_row() {
    let tmp = tempfile::tempdir().unwrap();
    let d = medium(tmp.path());
    let s = Split::make(&d, &SplitSpec::Loo).unwrap();
    assert_eq!(s.meta.n_test, 6);
    assert_eq!(s.meta.n_valid, 6);
    assert_eq!(s.meta.n_train, 36);
    let (train, held) = s.clone().into_parts(&d);
    assert_eq!(train.interactions().len(), 36);
    for u in 0..d.n_users() {
        let rows: Vec<_> = d.interactions.iter().filter(|r| r.user == u).collect();
        let test = held.targets(Stage::Test, u);
        let valid = held.targets(Stage::Valid, u);
        assert_eq!(test, &[*rows[7]]);
        assert_eq!(valid, &[*rows[6]]);
        // Chronological: every train row is no later than valid, which is no later than test.
        assert!(train.user_timestamps(u).iter().all(|&t| t <= valid[0].timestamp));
        assert!(valid[0].timestamp <= test[0].timestamp);
        // Train view holds exactly the first 6 rows; histories are train / train+valid.
        let want: Vec<u32> = rows[..6].iter().map(|r| r.item).collect();
        assert_eq!(train.user_items(u), &want[..]);
        assert_eq!(held.history(Stage::Valid, u), &want[..]);
        let want_t: Vec<u32> = rows[..7].iter().map(|r| r.item).collect();
        assert_eq!(held.history(Stage::Test, u), &want_t[..]);
    }
    // No (user, item, time) of a held-out row is in the train view.
    for r in train.interactions() {
        for st in [Stage::Valid, Stage::Test] {
            assert!(!held.targets(st, r.user).iter().any(|t| t == r));
        }
    }
}

#[test]
fn leakage_on_a_hand_made_case() {
    // u0: t=1,2,3 -> train 1, valid 2, test 3. u1: t=5,6,7 -> train 5, valid 6, test 7.
    // Train times {1, 5}. Test at 3: one of two train rows is later (5) -> 0.5. Test at 7: 0.
    let tmp = tempfile::tempdir().unwrap();
    let d = dataset(
        &[
            ("0", "a", 1.0, 1),
            ("0", "b", 1.0, 2),
            ("0", "c", 1.0, 3),
            ("1", "a", 1.0, 5),
            ("1", "b", 1.0, 6),
            ("1", "c", 1.0, 7),
        ],
        tmp.path(),
    );
    let s = Split::make(&d, &SplitSpec::Loo).unwrap();
    assert_eq!(s.meta.leakage.mean_share_train_after_test, 0.25);
    assert_eq!(s.meta.leakage.share_tests_with_leak, 0.5);
    // A global temporal split has no leakage by construction.
    let t = Split::make(&d, &SplitSpec::Temporal { valid: Some(Cut::Time(3)), test: Cut::Time(6) })
        .unwrap();
    assert_eq!(t.meta.leakage.mean_share_train_after_test, 0.0);
    assert_eq!((t.meta.n_train, t.meta.n_valid, t.meta.n_test), (2, 2, 2));
}

#[test]
fn temporal_split_respects_cuts() {
    let tmp = tempfile::tempdir().unwrap();
    let d = medium(tmp.path());
    let s = Split::make(
        &d,
        &SplitSpec::Temporal { valid: Some(Cut::Quantile(0.6)), test: Cut::Quantile(0.8) },
    )
    .unwrap();
    let (tv, tt) = s.meta.cut_times.unwrap();
    let tv = tv.unwrap();
    for (r, p) in d.interactions.iter().zip(&s.parts) {
        match p {
            Part::Train => assert!(r.timestamp < tv),
            Part::Valid => assert!(r.timestamp >= tv && r.timestamp < tt),
            Part::Test => assert!(r.timestamp >= tt),
        }
    }
    assert!(s.meta.n_test > 0 && s.meta.n_valid > 0);
    assert_eq!(s.meta.leakage.mean_share_train_after_test, 0.0);
    assert!(
        Split::make(&d, &SplitSpec::Temporal { valid: Some(Cut::Time(500)), test: Cut::Time(100) })
            .is_err()
    );
}

#[test]
fn random_split_is_deterministic_per_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = medium(tmp.path());
    let spec = |seed| SplitSpec::Random { valid: 0.125, test: 0.25, seed };
    let a = Split::make(&d, &spec(1)).unwrap();
    let b = Split::make(&d, &spec(1)).unwrap();
    let c = Split::make(&d, &spec(2)).unwrap();
    assert_eq!(a.parts, b.parts);
    assert_eq!(a.meta, b.meta);
    assert_ne!(a.parts, c.parts);
    assert_ne!(a.meta.fingerprint, c.meta.fingerprint);
    // 8 rows per user: 2 test, 1 valid each.
    assert_eq!((a.meta.n_train, a.meta.n_valid, a.meta.n_test), (30, 6, 12));
}

#[test]
fn regeneration_is_byte_identical_and_loads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let d = medium(tmp.path());
    for spec in [SplitSpec::Loo, SplitSpec::Random { valid: 0.1, test: 0.2, seed: 9 }] {
        let a = Split::make(&d, &spec).unwrap().save(&d, &tmp.path().join("r1")).unwrap();
        let b = Split::make(&d, &spec).unwrap().save(&d, &tmp.path().join("r2")).unwrap();
        for f in [SPLIT_FILE, SPLIT_META_FILE] {
            assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap());
        }
        let loaded = Split::load(&a, &d).unwrap();
        assert_eq!(loaded.parts, Split::make(&d, &spec).unwrap().parts);
        // A tampered table is refused.
        let p = b.join(SPLIT_FILE);
        let mut bytes = std::fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 1;
        std::fs::write(&p, bytes).unwrap();
        assert!(Split::load(&b, &d).unwrap_err().to_string().contains("sha256 mismatch"));
    }
}

#[test]
fn views_are_drawn_once_and_follow_their_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let d = medium(tmp.path());
    let (_, held) = Split::make(&d, &SplitSpec::Loo).unwrap().into_parts(&d);
    let full = FullRankingView::new(&held, Stage::Test, true);
    assert!(full.mask_seen && full.protocol_id.ends_with("/test/full-mask"));
    assert_eq!(held.seen(Stage::Valid, 0).len(), {
        let mut h = held.history(Stage::Valid, 0).to_vec();
        h.sort();
        h.dedup();
        h.len()
    });

    let s1 = SampledView::draw(&held, Stage::Test, 3, Seed::new(5)).unwrap();
    let s2 = SampledView::draw(&held, Stage::Test, 3, Seed::new(5)).unwrap();
    let s3 = SampledView::draw(&held, Stage::Test, 3, Seed::new(6)).unwrap();
    assert_eq!(s1, s2);
    assert_ne!(s1.meta.rows_sha256, s3.meta.rows_sha256);
    assert_eq!(s1.rows.len(), 6);
    for r in &s1.rows {
        assert_eq!(r.candidates[0], r.target);
        assert_eq!(r.candidates.len(), 4);
        for neg in &r.candidates[1..] {
            assert!(!held.all_positives(r.user).contains(neg), "negative is a positive");
        }
        let mut c = r.candidates.clone();
        c.sort();
        c.dedup();
        assert_eq!(c.len(), 4);
    }
    let p = views::save_list_view(tmp.path(), &s1.meta, &s1.rows).unwrap();
    assert_eq!(quadrec_core::hash::sha256_file(&p).unwrap(), s1.meta.rows_sha256);
    // Too many negatives for a 12-item catalogue is an error, not a silent short list.
    assert!(SampledView::draw(&held, Stage::Test, 10, Seed::new(5)).is_err());

    let c =
        CandidateView::build(&held, Stage::Test, 4, CandidateSource::Random, true, Seed::new(1))
            .unwrap();
    assert!(c.rows.iter().all(|r| r.candidates.len() == 4 && r.candidates.contains(&r.target)));
    let positions: std::collections::BTreeSet<usize> =
        c.rows.iter().map(|r| r.candidates.iter().position(|&x| x == r.target).unwrap()).collect();
    assert!(positions.len() > 1, "target position must vary (shuffled)");
    assert_eq!(c.meta.source, "random");

    struct Pop;
    impl Retriever for Pop {
        fn name(&self) -> &str {
            "first-items"
        }
        fn retrieve(&self, _u: u32, _h: &[u32], k: usize, exclude: &[u32]) -> Vec<u32> {
            (0..12).filter(|i| exclude.binary_search(i).is_err()).take(k).collect()
        }
    }
    let r = CandidateView::build(
        &held,
        Stage::Test,
        3,
        CandidateSource::Retriever(&Pop),
        true,
        Seed::new(1),
    )
    .unwrap();
    assert_eq!(r.meta.source, "first-items");
    assert!(r.rows.iter().all(|x| x.candidates.contains(&x.target) && x.candidates.len() == 3));

    let pw = PointwiseView::build(&held, Stage::Test, LabelRule::RatingAbove(3.0), 2).unwrap();
    assert_eq!(pw.rows.len(), 6);
    assert!(pw.rows.iter().all(|x| x.label == (x.rating > 3.0)));
    assert_eq!(pw.history(&held, 0).len(), 2);
    assert_eq!(pw.history(&held, 0), &held.history(Stage::Test, 0)[5..]);
}
