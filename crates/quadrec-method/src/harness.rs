//! Checks every registry entry is tested with (call them from a test over the whole table, so a
//! new method gets them for free). Each check panics with a message naming the method.
//!
//! - [`check_unique_ids`]: ids are unique and lowercase.
//! - [`check_params`]: defaults build; params round-trip through the typed struct; an unknown
//!   (misspelt) key is rejected with the right suggestion.
//! - [`check_fit_and_scores`]: fits on tiny planted data; full-catalogue and candidate scores are
//!   finite, of the right shape, and consistent with each other.
//! - [`check_deterministic`]: the same seed gives bit-identical scores.
//! - [`check_beats_random`]: on planted data, HR@10 over full ranking (history masked) beats the
//!   exact expectation of a random scorer by a clear margin.

use crate::method::{FitContext, Method, UserQuery};
use crate::params::ParamsError;
use crate::registry::MethodEntry;
use crate::synthetic::{Planted, PlantedConfig};
use quadrec_core::Seed;
use serde_json::Value;
use std::collections::BTreeSet;

/// All ids distinct, non-empty, `[a-z0-9_-]`.
pub fn check_unique_ids(table: &[MethodEntry]) {
    let mut seen = BTreeSet::new();
    for e in table {
        assert!(
            !e.id.is_empty()
                && e.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'),
            "registry id `{}` must be non-empty [a-z0-9_-]",
            e.id
        );
        assert!(seen.insert(e.id), "registry id `{}` is registered twice", e.id);
    }
}

/// Misspell a key by dropping its second character (`learning_rate` -> `lerning_rate`).
fn misspell(k: &str) -> String {
    let mut c: Vec<char> = k.chars().collect();
    if c.len() > 2 {
        c.remove(1);
    } else {
        c.push('x');
    }
    c.into_iter().collect()
}

/// Defaults build; defaults and smoke params round-trip unchanged through `build_with`'s merge
/// and the typed struct; a misspelt key fails with [`ParamsError::UnknownKey`] suggesting the
/// real key.
pub fn check_params(e: &MethodEntry) {
    let d = (e.default_params)();
    let obj = d.as_object().unwrap_or_else(|| panic!("{}: default params must be a table", e.id));
    let (merged, _) =
        e.build_with(&[]).unwrap_or_else(|err| panic!("{}: defaults do not build: {err}", e.id));
    assert_eq!(merged, d, "{}: merge of no layers changed the defaults", e.id);
    // Round trip through text (what a suite file or a run record does).
    let text = serde_json::to_string_pretty(&d).unwrap();
    let back: Value = serde_json::from_str(&text).unwrap();
    let (merged, _) = e
        .build_with(&[("round-trip", &back)])
        .unwrap_or_else(|err| panic!("{}: round-tripped defaults do not build: {err}", e.id));
    assert_eq!(merged, d, "{}: params changed in a round trip", e.id);
    let smoke = (e.smoke_params)();
    e.build_with(&[("smoke", &smoke)])
        .unwrap_or_else(|err| panic!("{}: smoke params do not build: {err}", e.id));
    // Unknown keys: every key, misspelt, must be rejected with the key itself as suggestion
    // (unless the misspelling happens to be another valid key).
    for k in obj.keys() {
        let bad = misspell(k);
        if obj.contains_key(&bad) {
            continue;
        }
        let layer = serde_json::json!({ bad.clone(): obj[k].clone() });
        match e.build_with(&[("--param", &layer)]) {
            Err(ParamsError::UnknownKey { key, suggestion, .. }) => {
                assert_eq!(key, bad, "{}", e.id);
                assert_eq!(
                    suggestion.as_deref(),
                    Some(k.as_str()),
                    "{}: suggestion for `{bad}`",
                    e.id
                );
            }
            Err(other) => panic!("{}: `{bad}` gave the wrong error: {other}", e.id),
            Ok(_) => panic!("{}: unknown key `{bad}` was accepted", e.id),
        }
    }
}

/// Build with smoke params and fit on `data` with `seed` (and a validation probe when asked).
pub fn fit_smoke(e: &MethodEntry, data: &Planted, seed: Seed, probe: bool) -> Box<dyn Method> {
    let smoke = (e.smoke_params)();
    let (_, mut m) = e
        .build_with(&[("smoke", &smoke)])
        .unwrap_or_else(|err| panic!("{}: smoke params do not build: {err}", e.id));
    let n = data.train.n_users();
    let mut probe_fn = |m: &dyn Method| -> f64 {
        let users: Vec<u32> = (0..n).collect();
        hit_rate_at_10(m, data, &users, false)
    };
    let mut ctx = FitContext::new(seed);
    if probe {
        ctx = ctx.with_probe(&mut probe_fn);
    }
    m.fit(&data.train, &mut ctx).unwrap_or_else(|err| panic!("{}: fit failed: {err}", e.id));
    m
}

/// Full scores for all users with test-time histories, `[n_users, n_items]`.
pub fn full_scores(e: &MethodEntry, m: &dyn Method, data: &Planted) -> Vec<f32> {
    let n_users = data.train.n_users();
    let n_items = data.train.n_items() as usize;
    let queries: Vec<UserQuery> =
        (0..n_users).map(|u| UserQuery { user: u, history: data.test_history(u) }).collect();
    let mut out = vec![f32::NAN; queries.len() * n_items];
    m.score_full(&queries, &mut out)
        .unwrap_or_else(|err| panic!("{}: score_full failed: {err}", e.id));
    out
}

/// HR@10 over full ranking with the input history masked, on the test targets (`test = true`)
/// or the validation targets, for `users`.
pub fn hit_rate_at_10(m: &dyn Method, data: &Planted, users: &[u32], test: bool) -> f64 {
    let n_items = data.train.n_items() as usize;
    let hist = |u: u32| if test { data.test_history(u) } else { data.valid_history(u) };
    let queries: Vec<UserQuery> =
        users.iter().map(|&u| UserQuery { user: u, history: hist(u) }).collect();
    let mut out = vec![0f32; queries.len() * n_items];
    m.score_full(&queries, &mut out).expect("score_full");
    let mut hits = 0usize;
    for (q, row) in queries.iter().zip(out.chunks(n_items)) {
        let target = if test { data.test_target(q.user) } else { data.valid_target(q.user) };
        let mut row = row.to_vec();
        for &h in q.history {
            row[h as usize] = f32::NEG_INFINITY;
        }
        let t = row[target as usize];
        // Rank = number of items scored strictly higher (ties counted against the method by
        // also counting half of equal scores, so constant scorers get the random expectation).
        let higher = row.iter().filter(|&&s| s > t).count() as f64;
        let equal = row.iter().filter(|&&s| s == t).count() as f64 - 1.0;
        if higher + equal / 2.0 < 10.0 {
            hits += 1;
        }
    }
    hits as f64 / users.len().max(1) as f64
}

/// Exact expected HR@10 of a uniformly random scorer with the test history masked.
pub fn random_hit_rate_at_10(data: &Planted) -> f64 {
    let n_items = data.train.n_items() as f64;
    let n = data.train.n_users();
    (0..n)
        .map(|u| {
            let cand = n_items - data.test_history(u).len() as f64;
            (10.0 / cand).min(1.0)
        })
        .sum::<f64>()
        / n as f64
}

/// Fit on tiny planted data; full and candidate scores are finite, of the right shape, and
/// `score_items` agrees with `score_full` on the same items.
pub fn check_fit_and_scores(e: &MethodEntry) {
    let data = Planted::generate(&PlantedConfig::tiny(), Seed(11));
    let m = fit_smoke(e, &data, Seed(5), true);
    let n_items = data.train.n_items() as usize;
    let full = full_scores(e, m.as_ref(), &data);
    assert_eq!(full.len(), data.train.n_users() as usize * n_items);
    assert!(full.iter().all(|s| s.is_finite()), "{}: non-finite full scores", e.id);
    // Wrong buffer size is an error, not a panic or a silent partial write.
    let q = [UserQuery { user: 0, history: data.test_history(0) }];
    let mut short = vec![0f32; n_items - 1];
    assert!(m.score_full(&q, &mut short).is_err(), "{}: short buffer accepted", e.id);
    for u in [0u32, 7, 23] {
        let items: Vec<u32> = vec![3, 0, 29, 14, data.test_target(u)];
        let mut out = vec![f32::NAN; items.len()];
        let q = UserQuery { user: u, history: data.test_history(u) };
        m.score_items(&q, &items, &mut out)
            .unwrap_or_else(|err| panic!("{}: score_items failed: {err}", e.id));
        for (k, &i) in items.iter().enumerate() {
            let f = full[u as usize * n_items + i as usize];
            assert!(out[k].is_finite(), "{}: non-finite candidate score", e.id);
            assert!(
                (out[k] - f).abs() <= 1e-4 * (1.0 + f.abs()),
                "{}: score_items({u}, {i}) = {} but score_full = {f}",
                e.id,
                out[k]
            );
        }
    }
}

/// Same seed, same scores (bit for bit) on the CPU.
pub fn check_deterministic(e: &MethodEntry) {
    let data = Planted::generate(&PlantedConfig::tiny(), Seed(12));
    let a = full_scores(e, fit_smoke(e, &data, Seed(9), true).as_ref(), &data);
    let b = full_scores(e, fit_smoke(e, &data, Seed(9), true).as_ref(), &data);
    let diff = a.iter().zip(&b).filter(|(x, y)| x.to_bits() != y.to_bits()).count();
    assert_eq!(diff, 0, "{}: {diff} scores differ between two fits with the same seed", e.id);
}

/// HR@10 on planted data beats the exact random expectation by `margin` (absolute) and by 1.5x.
/// Returns (method HR@10, random HR@10).
pub fn check_beats_random(e: &MethodEntry, margin: f64) -> (f64, f64) {
    let data = Planted::generate(&PlantedConfig::small(), Seed(13));
    let m = fit_smoke(e, &data, Seed(3), true);
    let users: Vec<u32> = (0..data.train.n_users()).collect();
    let hr = hit_rate_at_10(m.as_ref(), &data, &users, true);
    let rnd = random_hit_rate_at_10(&data);
    assert!(
        hr > rnd + margin && hr > 1.5 * rnd,
        "{}: HR@10 {hr:.3} does not beat random {rnd:.3} (+{margin})",
        e.id
    );
    (hr, rnd)
}
