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
    // The same mass reaches the cell record through `Method::diagnostics`.
    let d: &dyn Method = &yes_no;
    assert_eq!(
        d.diagnostics(),
        vec![("yes_no_outside_mass".to_string(), mass), ("yes_no_prompts".to_string(), 2.0)]
    );
    // After a reset (the runner's start of a view) only the next view's prompts count.
    d.reset_diagnostics();
    assert!(d.diagnostics().is_empty(), "diagnostics survive a reset");
    let mut out3 = [0f32; 3];
    d.score_items(&q[0], &[4, 5, 6], &mut out3).unwrap();
    let view = d.diagnostics();
    assert_eq!(view.len(), 2);
    assert_eq!(view[0].0, "yes_no_outside_mass");
    assert!((0.0..1.0).contains(&view[0].1), "outside mass {}", view[0].1);
    assert_ne!(view[0].1, mass, "the mean still includes the previous view's prompts");
    assert_eq!(view[1], ("yes_no_prompts".to_string(), 3.0));
    // The registry-built method reports it too (its scoring above went through check_scores).
    assert!(
        m.diagnostics().iter().any(|(k, v)| k == "yes_no_outside_mass" && (0.0..1.0).contains(v))
    );
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

/// The frozen scorers read the seed nowhere (fixed prompts, no sampled inputs): fits with
/// different seeds give bit-identical scores, which is what lets full.toml run them on one
/// seed (`seeds = [0]`) instead of three identical times.
#[test]
fn frozen_scorers_do_not_depend_on_the_seed() {
    let train = tiny();
    let q = UserQuery { user: 0, history: train.user_items(0) };
    for id in ["tallrec-zs", "rella-zs", "likelihood", "twotower-zs"] {
        let e = find_entry(SCORING_TABLE, id).unwrap();
        let scores = |seed: u64| {
            let m = fit(e, &train, seed, serde_json::json!({}));
            let mut out = [0f32; 4];
            m.score_items(&q, &[1, 5, 9, 11], &mut out).unwrap();
            out.map(f32::to_bits)
        };
        assert_eq!(scores(1), scores(2), "{id}: scores depend on the seed");
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

#[test]
fn collm_soft_token_splice_equals_the_id_path() {
    use crate::collm::{ITEM_SLOT_BASE, splice};
    use crate::common::last_logits_after_prefix_with;
    use burn::tensor::Tensor;
    let lm = quadrec_lmrec::smollm2().unwrap();
    let (model, tok) = (&lm.model, &lm.tokenizer);
    let prefix = tok.encode("<|im_start|>user\nThe user liked Toy Story (1995).\n").unwrap();
    let suffixes: Vec<Vec<u32>> = ["Target: Heat (1995)?", "Target: Emma (1996), a comedy?"]
        .iter()
        .map(|s| tok.encode(s).unwrap())
        .collect();
    // Replace some real tokens by slot markers; the embedding hook puts the token embeddings of
    // the replaced tokens back through `splice`: the logits must equal the id path.
    let mut orig = Vec::new();
    let mut mark = |ids: &[u32], at: &[usize]| -> Vec<u32> {
        let mut v = ids.to_vec();
        for &p in at {
            v[p] = ITEM_SLOT_BASE + orig.len() as u32;
            orig.push(ids[p]);
        }
        v
    };
    let m_prefix = mark(&prefix, &[3, 5]);
    let m_suffixes: Vec<Vec<u32>> = suffixes.iter().map(|s| mark(s, &[0, 2])).collect();
    let d = model.config.hidden;
    let embed = |ids: &[u32]| -> Result<Tensor<3>, String> {
        let (mut clean, mut slots, mut soft_ids) = (Vec::new(), Vec::new(), Vec::new());
        for (p, &id) in ids.iter().enumerate() {
            if id >= ITEM_SLOT_BASE {
                clean.push(0);
                slots.push(p);
                soft_ids.push(orig[(id - ITEM_SLOT_BASE) as usize]);
            } else {
                clean.push(id);
            }
        }
        let soft = model.embed_tokens(&soft_ids, 1).reshape([soft_ids.len(), d]);
        Ok(splice(model.embed_tokens(&clean, 1), &slots, soft))
    };
    let want = last_logits_after_prefix(model, &prefix, &suffixes, 2, |r| r.to_vec()).unwrap();
    let got =
        last_logits_after_prefix_with(model, &m_prefix, &m_suffixes, 2, embed, |r| r.to_vec())
            .unwrap();
    for (w, g) in want.iter().zip(&got) {
        let max = w.iter().zip(g).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(max < 1e-4, "spliced logits differ by {max}");
    }
    // The batched training path: [2, T] rows, slots at flat positions b * T + t.
    let t = 6;
    let ids: Vec<u32> = prefix[..t].iter().chain(&suffixes[1][..t]).copied().collect();
    let slots = [1usize, t + 4];
    let soft = model.embed_tokens(&[ids[1], ids[t + 4]], 1).reshape([2, d]);
    let mut clean = ids.clone();
    clean[1] = 0;
    clean[t + 4] = 0;
    let pos: Vec<Vec<usize>> = (0..2).map(|_| (0..t).collect()).collect();
    let a = model.hidden_states(&ids, 2, &pos, None, None);
    let b = model.hidden_states_from_embeddings(
        splice(model.embed_tokens(&clean, 2), &slots, soft),
        &pos,
        None,
        None,
    );
    let max = crate::common::to_vec(&(a - b).abs().max()).into_iter().fold(0f32, f32::max);
    assert!(max < 1e-5, "batched splice differs by {max}");
}

#[test]
fn collm_trains_only_projection_and_lora_on_frozen_crm_factors() {
    use crate::collm::{Collm, CollmParams, Projector};
    use quadrec_models::methods::bpr::Bpr;
    let train = tiny();
    let e = find_entry(SCORING_TABLE, "collm").unwrap();
    let smoke = (e.smoke_params)();
    let (merged, _) = e.build_with(&[("smoke", &smoke)]).unwrap();
    let p: CollmParams = quadrec_method::parse_params("collm", &merged).unwrap();
    let mut m = Collm::new(p.clone());
    let mut probes = 0usize;
    let mut probe = |m: &dyn Method| -> f64 {
        probes += 1;
        let mut out = [0f32; 1];
        m.score_items(&UserQuery { user: 0, history: &[0, 1, 2] }, &[3], &mut out).unwrap();
        out[0] as f64
    };
    let seed = Seed::new(7);
    m.fit(&train, &mut FitContext::new(seed).with_probe(&mut probe)).unwrap();
    assert_eq!(probes, 1, "one probe per epoch");

    // Scores: probabilities, finite, not constant, equal between score_items and score_full.
    let full = check_scores(e, &m, &train);
    assert!(full.iter().all(|&s| (0.0..=1.0).contains(&s)), "P(Yes) outside [0, 1]");
    assert!(full.iter().any(|&s| s != full[0]), "constant scores");
    let (mass, _) = m.outside_mass().unwrap();
    assert!((0.0..1.0).contains(&mass), "outside mass {mass}");
    m.reset_diagnostics();
    let mut out2 = [0f32; 2];
    m.score_items(&UserQuery { user: 1, history: &[0, 1] }, &[2, 3], &mut out2).unwrap();
    let d = m.diagnostics();
    assert_eq!(d[0].0, "yes_no_outside_mass");
    assert!((0.0..1.0).contains(&d[0].1), "outside mass {}", d[0].1);
    assert_eq!(d[1], ("yes_no_prompts".to_string(), 2.0), "only the prompts since the reset");
    // Determinism: the registry path with the same seed gives bit-identical scores.
    check_same_seed_same_scores(e, &m, &train, 7);

    // Base weights frozen, every q/v lora_b moved.
    let lm = quadrec_lmrec::smollm2().unwrap();
    let tuned = m.tuned_model().expect("tuned copy");
    let base: std::collections::BTreeMap<String, _> =
        lm.model.named_tensors().into_iter().collect();
    let mut moved_b = 0;
    for (name, t) in tuned.named_tensors() {
        let v = crate::common::to_vec(&t);
        if name.contains(".lora_") {
            moved_b += usize::from(name.ends_with(".lora_b") && v.iter().any(|&x| x != 0.0));
        } else {
            assert_eq!(v, crate::common::to_vec(&base[&name]), "base tensor {name} changed");
        }
    }
    assert_eq!(moved_b, 2 * lm.model.blocks.len(), "every q/v lora_b should move off zero");
    // The projection moved away from its seeded initialisation.
    let tr = m.trace().expect("trace after fit");
    let init = Projector::new(
        p.projection,
        tr.d,
        p.hidden,
        lm.model.config.hidden,
        seed.child("collm/projection"),
        &lm.model.device(),
    );
    let (w0, w1) = (init.weights(), tr.projector.weights());
    assert_eq!(w0.len(), w1.len());
    assert!(w0.iter().zip(&w1).all(|(a, b)| a != b), "a projection tensor did not move");
    assert_eq!(m.n_parameters(), (tuned.n_lora_parameters() + init.n_parameters()) as u64);
    // The CRM factors used are exactly a BPR-MF fit with the recorded seed and params: the
    // tuning never touched them.
    let (u, i, d, _) =
        Bpr::fit_factors(p.crm.clone(), &train, &mut FitContext::new(seed.child("collm/crm")))
            .unwrap();
    assert_eq!((d, u.len(), i.len()), (tr.d, 4 * d, 12 * d));
    assert_eq!(u, tr.crm_user, "user factors differ from the recorded BPR fit");
    assert_eq!(i, tr.crm_item, "item factors differ from the recorded BPR fit");
}
