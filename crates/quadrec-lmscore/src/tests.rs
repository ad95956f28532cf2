//! Tests of the whole table on a tiny titled data set with the real SmolLM2 / MiniLM (shared
//! process-wide handles, so each model loads once per test binary).

use crate::SCORING_TABLE;
use crate::common::last_logits_after_prefix;
use crate::kshot::KShot;
use crate::tallrec::YesNoMethod;
use quadrec_core::Seed;
use quadrec_data::{Interaction, ItemTable, UserTable};
use quadrec_method::harness::{check_params, check_unique_ids};
use quadrec_method::{FitContext, Method, MethodEntry, UserQuery, find_entry};
use quadrec_split::TrainView;
use std::sync::Arc;

const TITLES: [(&str, i32, &str); 12] = [
    ("Toy Story", 1995, "Animation|Comedy"),
    ("Aladdin", 1992, "Animation|Musical"),
    ("The Lion King", 1994, "Animation|Musical"),
    ("Heat", 1995, "Action|Crime"),
    ("GoldenEye", 1995, "Action|Thriller"),
    ("Die Hard", 1988, "Action|Thriller"),
    ("Sense and Sensibility", 1995, "Drama|Romance"),
    ("Emma", 1996, "Comedy|Romance"),
    ("Alien", 1979, "Horror|Sci-Fi"),
    ("Star Wars", 1977, "Action|Sci-Fi"),
    ("Fargo", 1996, "Crime|Drama"),
    ("", 0, ""), // no title: prompts use the raw-id fallback
];

/// 4 users x 6 rated interactions over 12 items (item 11 has no title).
pub(crate) fn tiny() -> TrainView {
    let mut items = ItemTable::with_raw_ids((0..12).map(|i| format!("m{i}")).collect());
    for (i, (t, y, g)) in TITLES.iter().enumerate() {
        if !t.is_empty() {
            items.titles[i] = format!("{t} ({y})");
            items.years[i] = Some(*y);
            items.genres[i] = g.split('|').map(String::from).collect();
        }
    }
    let users = UserTable::with_raw_ids((0..4).map(|u| format!("u{u}")).collect());
    let seqs: [&[(u32, f32)]; 4] = [
        &[(0, 5.0), (1, 4.0), (2, 5.0), (4, 2.0), (7, 3.0), (11, 4.0)],
        &[(3, 5.0), (4, 4.0), (5, 5.0), (9, 4.0), (6, 1.0), (0, 2.0)],
        &[(6, 5.0), (7, 4.0), (10, 4.0), (2, 3.0), (8, 1.0), (5, 2.0)],
        &[(8, 5.0), (9, 5.0), (5, 4.0), (3, 4.0), (1, 2.0), (10, 3.0)],
    ];
    let mut rows = Vec::new();
    for (u, s) in seqs.iter().enumerate() {
        for (t, &(item, rating)) in s.iter().enumerate() {
            rows.push(Interaction { user: u as u32, item, rating, timestamp: 1000 + t as i64 });
        }
    }
    TrainView::from_interactions(4, 12, rows, Arc::new(items), Arc::new(users))
}

fn fit(e: &MethodEntry, train: &TrainView, seed: u64, extra: serde_json::Value) -> Box<dyn Method> {
    let smoke = (e.smoke_params)();
    let (_, mut m) = e.build_with(&[("smoke", &smoke), ("test", &extra)]).expect("builds");
    let mut probes = 0usize;
    let mut probe = |m: &dyn Method| -> f64 {
        probes += 1;
        // A real (if tiny) validation signal: the score of a liked item for user 0.
        let mut out = [0f32; 1];
        m.score_items(&UserQuery { user: 0, history: &[0, 1, 2] }, &[3], &mut out).unwrap();
        out[0] as f64
    };
    let mut ctx = FitContext::new(Seed::new(seed)).with_probe(&mut probe);
    m.fit(train, &mut ctx).unwrap_or_else(|err| panic!("{}: fit: {err}", e.id));
    drop(ctx);
    if e.trained {
        assert!(probes >= 1, "{}: trained method never probed", e.id);
    }
    m
}

/// Finite scores of the right shape, `score_items` = `score_full` on the same items, wrong
/// buffers rejected.
fn check_scores(e: &MethodEntry, m: &dyn Method, train: &TrainView) -> Vec<f32> {
    let n = train.n_items() as usize;
    let histories: [&[u32]; 2] = [train.user_items(0), train.user_items(2)];
    let queries: Vec<UserQuery> =
        [0u32, 2].iter().zip(histories).map(|(&u, h)| UserQuery { user: u, history: h }).collect();
    let mut full = vec![f32::NAN; 2 * n];
    m.score_full(&queries, &mut full).unwrap_or_else(|err| panic!("{}: {err}", e.id));
    assert!(full.iter().all(|s| s.is_finite()), "{}: non-finite scores {full:?}", e.id);
    let items = [11u32, 3, 0, 8];
    let mut out = vec![f32::NAN; items.len()];
    m.score_items(&queries[1], &items, &mut out).unwrap();
    for (k, &i) in items.iter().enumerate() {
        let f = full[n + i as usize];
        assert!(
            (out[k] - f).abs() <= 1e-4 * (1.0 + f.abs()),
            "{}: item {i}: {} vs {f}",
            e.id,
            out[k]
        );
    }
    assert!(m.score_items(&queries[0], &items, &mut [0f32; 3]).is_err(), "{}: short buffer", e.id);
    assert!(m.score_items(&queries[0], &[12], &mut [0f32; 1]).is_err(), "{}: bad item", e.id);
    assert!(m.score_full(&queries, &mut vec![0f32; n]).is_err(), "{}: short full buffer", e.id);
    assert!(
        m.lm_tokens() > 0
            || e.family != quadrec_method::Family::LanguageModel
            || e.id.contains("tower"),
        "{}: no LM tokens counted",
        e.id
    );
    full
}

/// Two fits with the same seed give bit-identical scores for the same call.
fn check_same_seed_same_scores(e: &MethodEntry, a: &dyn Method, train: &TrainView, seed: u64) {
    let b = fit(e, train, seed, serde_json::json!({}));
    let q = UserQuery { user: 0, history: train.user_items(0) };
    let (mut x, mut y) = ([0f32; 3], [0f32; 3]);
    a.score_items(&q, &[1, 5, 11], &mut x).unwrap();
    b.score_items(&q, &[1, 5, 11], &mut y).unwrap();
    assert_eq!(x, y, "{}: same seed, different scores", e.id);
}

#[test]
fn registry_ids_and_params() {
    check_unique_ids(SCORING_TABLE);
    for e in SCORING_TABLE {
        check_params(e);
        // Provenance is available before fit and names the pinned weights.
        let (_, m) = e.build_with(&[]).unwrap();
        let p = m.provenance();
        if e.family == quadrec_method::Family::LanguageModel {
            assert!(!p.weight_hashes.is_empty(), "{}: no weight hashes", e.id);
            assert!(p.weight_hashes.values().all(|h| h.len() == 64), "{}", e.id);
        }
    }
}

#[test]
fn kshot_subset_is_a_seeded_subset_of_train() {
    let train = tiny();
    let all = train.interactions();
    let k = KShot { k: 7, fraction: 0.0, subset_seed: 3 };
    let a = k.rows(&train);
    assert_eq!(a.len(), 7);
    assert!(a.iter().all(|r| all.contains(r)), "drawn rows must be train rows");
    assert_eq!(a, k.rows(&train), "same subset_seed, same rows");
    let other = KShot { subset_seed: 4, ..k.clone() }.rows(&train);
    assert_ne!(a, other, "another subset_seed draws other rows");
    assert_eq!(KShot { k: 0, fraction: 0.0, subset_seed: 0 }.rows(&train), all.to_vec());
    assert_eq!(KShot { k: 0, fraction: 0.25, subset_seed: 0 }.rows(&train).len(), 6);
    assert!(KShot { k: 3, fraction: 0.1, subset_seed: 0 }.validate().is_err());
    let v = k.view(&train);
    assert_eq!(v.interactions(), a.as_slice());
    assert_eq!(v.n_items(), train.n_items());
}

#[test]
fn packed_suffix_logits_equal_separate_full_prompts() {
    let lm = quadrec_lmrec::smollm2().unwrap();
    let tok = &lm.tokenizer;
    let prefix = tok.encode("<|im_start|>user\nThe user liked Toy Story (1995).\n").unwrap();
    let suffixes: Vec<Vec<u32>> = ["Target: Heat (1995)?", "Target: Emma (1996), a comedy?"]
        .iter()
        .map(|s| tok.encode(s).unwrap())
        .collect();
    let got = last_logits_after_prefix(&lm.model, &prefix, &suffixes, 2, |r| r.to_vec()).unwrap();
    for (s, g) in suffixes.iter().zip(&got) {
        let mut all = prefix.clone();
        all.extend(s);
        let want = lm.model.next_token_logits(&all);
        let max = want.iter().zip(g).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(max < 1e-3, "packed logits differ by {max}");
    }
}

#[test]
fn tallrec_zero_shot_uses_the_tokenizers_yes_no_and_scores_probabilities() {
    let train = tiny();
    let e = find_entry(SCORING_TABLE, "tallrec-zs").unwrap();
    let m = fit(e, &train, 1, serde_json::json!({}));
    let lm = quadrec_lmrec::smollm2().unwrap();
    let yn = (lm.tokenizer.token_to_id("Yes").unwrap(), lm.tokenizer.token_to_id("No").unwrap());
    // The method's ids must be the tokenizer's, and decode back to the words.
    let full = check_scores(e, m.as_ref(), &train);
    assert!(full.iter().all(|&s| (0.0..=1.0).contains(&s)), "P(Yes) outside [0, 1]");
    assert!(full.iter().any(|&s| s != full[0]), "constant scores");
    check_same_seed_same_scores(e, m.as_ref(), &train, 1);
    let q = [UserQuery { user: 0, history: train.user_items(0) }];
    // The concrete type exposes ids and the mass outside Yes/No.
    let mut yes_no = YesNoMethod::new(crate::tallrec::YesNoConfig {
        id: "tallrec-zs",
        history_len: 3,
        selection: crate::tallrec::Selection::Recent,
        chunk: 8,
        tuning: None,
    });
    yes_no.fit(&train, &mut FitContext::new(Seed::new(1))).unwrap();
    assert_eq!(yes_no.yes_no_ids(), Some(yn));
    assert_eq!(lm.tokenizer.decode(&[yn.0], false).unwrap(), "Yes");
    assert_eq!(lm.tokenizer.decode(&[yn.1], false).unwrap(), "No");
    let mut out = [0f32; 2];
    yes_no.score_items(&q[0], &[3, 9], &mut out).unwrap();
    let (mass, n) = yes_no.outside_mass().unwrap();
    assert_eq!(n, 2);
    assert!((0.0..1.0).contains(&mass), "outside mass {mass}");
}

#[test]
fn tallrec_lora_changes_only_adapters() {
    let train = tiny();
    let e = find_entry(SCORING_TABLE, "tallrec").unwrap();
    let mut m = YesNoMethod::new(crate::tallrec::YesNoConfig {
        id: "tallrec",
        history_len: 3,
        selection: crate::tallrec::Selection::Recent,
        chunk: 8,
        tuning: Some(crate::tallrec::TuneParams {
            kshot: KShot { k: 4, fraction: 0.0, subset_seed: 0 },
            lora_rank: 2,
            epochs: 1,
            batch_size: 2,
            learning_rate: 1e-2,
            ..Default::default()
        }),
    });
    m.fit(&train, &mut FitContext::new(Seed::new(2))).unwrap();
    let lm = quadrec_lmrec::smollm2().unwrap();
    let tuned = m.tuned_model().expect("tuned copy");
    assert_eq!(m.n_parameters(), tuned.n_lora_parameters() as u64);
    assert!(m.n_parameters() > 0);
    let base: std::collections::BTreeMap<String, _> =
        lm.model.named_tensors().into_iter().collect();
    let mut moved_b = 0;
    for (name, t) in tuned.named_tensors() {
        let v = crate::common::to_vec(&t);
        if name.contains(".lora_") {
            if name.ends_with(".lora_b") && v.iter().any(|&x| x != 0.0) {
                moved_b += 1;
            }
        } else {
            assert_eq!(v, crate::common::to_vec(&base[&name]), "base tensor {name} changed");
        }
    }
    assert_eq!(moved_b, 2 * lm.model.blocks.len(), "every q/v lora_b should move off zero");
    check_scores(e, &m, &train);
}

#[test]
fn likelihood_and_two_tower_score_every_item() {
    let train = tiny();
    for id in
        ["rella-zs", "likelihood", "twotower-zs", "twotower-ft", "onetower-frozen", "onetower-lora"]
    {
        let e = find_entry(SCORING_TABLE, id).unwrap();
        let m = fit(e, &train, 4, serde_json::json!({}));
        let a = check_scores(e, m.as_ref(), &train);
        assert!(a.iter().any(|&s| s != a[0]), "{id}: constant scores");
        // Determinism of the trained encoders' shared loop is covered by twotower-ft; a second
        // one-tower fit would double the test time.
        if !id.starts_with("onetower") {
            check_same_seed_same_scores(e, m.as_ref(), &train, 4);
        }
    }
}

#[test]
fn kshot_crm_trains_the_crm_on_the_same_rows() {
    let train = tiny();
    let e = find_entry(SCORING_TABLE, "kshot-crm").unwrap();
    let m = fit(e, &train, 6, serde_json::json!({}));
    check_scores(e, m.as_ref(), &train);
    check_same_seed_same_scores(e, m.as_ref(), &train, 6);
    // An unknown CRM id fails at build time, listing the valid ones.
    let bad = serde_json::json!({"crm": "dinn"});
    let err = e.build_with(&[("test", &bad)]).err().expect("unknown crm rejected").to_string();
    assert!(err.contains("did you mean `din`"), "{err}");
}
