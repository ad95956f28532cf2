//! Integration tests of quadrec-eval: goldens from independent references (ranx, scikit-learn,
//! scipy; regenerate with `/work/venv/bin/python crates/quadrec-eval/tests/golden/make_goldens.py`)
//! compared to 1e-9, and property tests of the ranking metrics and the tie policy.

use proptest::prelude::*;
use quadrec_core::Seed;
use quadrec_eval::metrics::{Compute, MetricContext};
use quadrec_eval::stats::{WilcoxonMethod, paired_permutation, wilcoxon_signed_rank};
use quadrec_eval::{
    CandidateQuery, EvalReport, FullRankingOptions, FullRankingQuery, PointwiseRow, UserRanking,
    evaluate_candidates, evaluate_full, evaluate_pointwise, parse_metric, parse_metrics,
};
use serde_json::Value;

type Never = std::convert::Infallible;

fn goldens() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/goldens.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9, "{what}: quadrec {a} vs reference {b}");
}

/// Our metric name for a ranx metric name.
fn ours(ranx: &str) -> String {
    ranx.replace("hit_rate", "hr")
}

#[test]
fn ranking_metrics_match_ranx() {
    let g = goldens();
    let ks: Vec<u64> = g["ks"].as_array().unwrap().iter().map(|k| k.as_u64().unwrap()).collect();
    let mut names = vec!["mrr".to_string()];
    for k in &ks {
        for m in ["hr", "recall", "precision", "ndcg", "mrr", "map"] {
            names.push(format!("{m}@{k}"));
        }
    }
    let metrics = parse_metrics(&names).unwrap();
    let mut checked = 0;
    for (case, c) in g["ranking"].as_array().unwrap().iter().enumerate() {
        let scores: Vec<f32> =
            c["scores"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        let rel: Vec<u32> =
            c["relevant"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        let n = scores.len() as u32;
        // Full-ranking path (no mask) ...
        let q = [FullRankingQuery { user: case as u32, targets: &rel, seen: &[] }];
        let full = evaluate_full(
            &q,
            n,
            &metrics,
            &MetricContext::default(),
            &FullRankingOptions::default(),
            |_, out: &mut [f32]| {
                out.copy_from_slice(&scores);
                Ok::<(), Never>(())
            },
        )
        .unwrap();
        // ... and the candidate path with the list reversed must agree.
        let cand: Vec<u32> = (0..n).rev().collect();
        let cq = [CandidateQuery { user: case as u32, targets: &rel, candidates: &cand }];
        let cands = evaluate_candidates(
            &cq,
            n,
            &metrics,
            &MetricContext::default(),
            0,
            0,
            |_, items: &[u32], out: &mut [f32]| {
                for (o, &i) in out.iter_mut().zip(items) {
                    *o = scores[i as usize];
                }
                Ok::<(), Never>(())
            },
        )
        .unwrap();
        assert_eq!(full.per_user.columns, cands.per_user.columns);
        let r_total = rel.len() as f64;
        for (rname, v) in c["ranx"].as_object().unwrap() {
            let want = v.as_f64().unwrap();
            let name = ours(rname);
            let got = full.value(&name).unwrap();
            if let Some(k) = name.strip_prefix("map@") {
                // ranx divides AP by R, quadrec by min(R, K) (see metrics/map.rs).
                let k: f64 = k.parse().unwrap();
                close(
                    got * r_total.min(k),
                    want * r_total,
                    &format!("case {case} {name} (rescaled)"),
                );
                if r_total <= k {
                    close(got, want, &format!("case {case} {name}"));
                }
            } else {
                close(got, want, &format!("case {case} {name}"));
            }
            checked += 1;
        }
    }
    assert!(checked > 3000, "{checked}");
}

#[test]
fn pointwise_metrics_match_sklearn() {
    let g = goldens();
    let p = &g["pointwise"];
    let rows: Vec<PointwiseRow> = p["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| PointwiseRow {
            user: r[0].as_u64().unwrap() as u32,
            item: r[1].as_u64().unwrap() as u32,
            label: r[2].as_u64().unwrap() == 1,
            score: r[3].as_f64().unwrap() as f32,
        })
        .collect();
    let rep =
        evaluate_pointwise(&rows, &parse_metrics(&["auc", "gauc", "logloss", "accuracy"]).unwrap())
            .unwrap();
    for m in ["auc", "gauc", "logloss", "accuracy"] {
        close(rep.value(m).unwrap(), p[m].as_f64().unwrap(), m);
    }
}

#[test]
fn wilcoxon_and_permutation_match_scipy() {
    let g = goldens();
    let vecf = |v: &Value| -> Vec<f64> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    };
    for (i, w) in g["wilcoxon"].as_array().unwrap().iter().enumerate() {
        let force_normal = w["method"] == "asymptotic";
        let r = wilcoxon_signed_rank(&vecf(&w["a"]), &vecf(&w["b"]), force_normal).unwrap();
        assert_eq!(r.method == WilcoxonMethod::Normal, force_normal, "case {i}");
        close(r.statistic, w["statistic"].as_f64().unwrap(), &format!("wilcoxon {i} statistic"));
        close(r.p_value, w["pvalue"].as_f64().unwrap(), &format!("wilcoxon {i} p"));
    }
    for (i, w) in g["permutation"].as_array().unwrap().iter().enumerate() {
        let r = paired_permutation(&vecf(&w["a"]), &vecf(&w["b"]), 0, Seed::new(0)).unwrap();
        close(r.p_value, w["pvalue"].as_f64().unwrap(), &format!("permutation {i}"));
    }
}

#[test]
fn exact_wilcoxon_with_ties_and_zeros_matches_scipy_permutation() {
    // scipy.stats.wilcoxon(..., method=PermutationMethod(n_resamples=inf)): exact sign-flip
    // distribution of the observed mid-ranks (script: tests/golden/make_wilcoxon_ties.py).
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/wilcoxon_ties.json");
    let g: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let vecf = |v: &Value| -> Vec<f64> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    };
    let cases = g["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for (i, w) in cases.iter().enumerate() {
        let r = wilcoxon_signed_rank(&vecf(&w["a"]), &vecf(&w["b"]), false).unwrap();
        assert_eq!(r.method, WilcoxonMethod::Exact, "case {i}");
        assert_eq!(r.n as u64, w["n_nonzero"].as_u64().unwrap(), "case {i}");
        close(r.w_plus, w["w_plus"].as_f64().unwrap(), &format!("ties {i} W+"));
        close(r.statistic, w["statistic"].as_f64().unwrap(), &format!("ties {i} statistic"));
        close(r.p_value, w["pvalue"].as_f64().unwrap(), &format!("ties {i} p"));
    }
}

#[test]
fn report_round_trips_through_parquet() {
    let metrics = parse_metrics(&["ndcg@5", "mrr", "coverage@5"]).unwrap();
    let targets: Vec<Vec<u32>> = (0..50u32).map(|u| vec![u % 40, (u * 7 + 3) % 40]).collect();
    let seen: Vec<Vec<u32>> = (0..50u32).map(|u| vec![(u + 1) % 40]).collect();
    let q: Vec<FullRankingQuery> = (0..50)
        .map(|u| FullRankingQuery { user: u as u32, targets: &targets[u], seen: &seen[u] })
        .collect();
    let rep = evaluate_full(
        &q,
        40,
        &metrics,
        &MetricContext::default(),
        &FullRankingOptions { block_users: 7, ..Default::default() },
        |users, out: &mut [f32]| {
            for (row, &u) in out.chunks_mut(40).zip(users) {
                for (i, x) in row.iter_mut().enumerate() {
                    *x = ((i as u32 * 13 + u * 5) % 17) as f32; // many ties
                }
            }
            Ok::<(), Never>(())
        },
    )
    .unwrap();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("per_user.parquet");
    rep.write_parquet(&p).unwrap();
    let back = EvalReport::read_parquet(&p).unwrap();
    assert_eq!(back.per_user, rep.per_user);
    assert_eq!(back.summary, rep.summary);
    assert_eq!(back.flags, rep.flags);
    assert!(back.flags.masked_seen);
}

// ------------------------------------------------------------------ properties

/// Deterministic value of every per-user ranking metric for one concrete order.
fn values_of_order(order: &[u32], targets: &[u32], names: &[String]) -> Vec<f64> {
    let r = UserRanking::from_list(0, order, targets);
    names.iter().map(|n| per_user(&r, n)).collect()
}

fn per_user(r: &UserRanking, name: &str) -> f64 {
    let m = parse_metric(name).unwrap();
    let Compute::PerUser(f) = m.def.compute else { panic!("{name} is not per-user") };
    f(r, m.k, &MetricContext::default()).unwrap()
}

fn accuracy_names() -> Vec<String> {
    let mut v = vec!["mrr".to_string()];
    for k in [1, 2, 3, 5] {
        for m in ["hr", "recall", "precision", "ndcg", "mrr", "map"] {
            v.push(format!("{m}@{k}"));
        }
    }
    v
}

/// Tie-aware values from the evaluator for scores over items 0..n.
fn evaluated(scores: &[f32], targets: &[u32], names: &[String]) -> Vec<f64> {
    let metrics = parse_metrics(names).unwrap();
    let q = [FullRankingQuery { user: 0, targets, seen: &[] }];
    let rep = evaluate_full(
        &q,
        scores.len() as u32,
        &metrics,
        &MetricContext::default(),
        &FullRankingOptions::default(),
        |_, out: &mut [f32]| {
            out.copy_from_slice(scores);
            Ok::<(), Never>(())
        },
    )
    .unwrap();
    names.iter().map(|n| rep.per_user.column(n).unwrap()[0]).collect()
}

fn permutations(items: &[u32]) -> Vec<Vec<u32>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x);
            out.push(p);
        }
    }
    out
}

/// Scores with many ties over n items, and a non-empty target subset.
fn tied_case() -> impl Strategy<Value = (Vec<f32>, Vec<u32>)> {
    (2usize..=6).prop_flat_map(|n| {
        (proptest::collection::vec(0u8..3, n), proptest::collection::vec(any::<bool>(), n))
            .prop_map(|(s, t)| {
                let scores: Vec<f32> = s.iter().map(|&x| f32::from(x)).collect();
                let mut targets: Vec<u32> =
                    (0..t.len() as u32).filter(|&i| t[i as usize]).collect();
                if targets.is_empty() {
                    targets.push(0);
                }
                (scores, targets)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The tie policy: each metric equals the average of its deterministic value over ALL
    /// orders consistent with the scores (uniform random tie-breaking), computed by brute force.
    #[test]
    fn tie_aware_values_equal_average_over_tie_orders((scores, targets) in tied_case()) {
        let names = accuracy_names();
        let n = scores.len() as u32;
        let all: Vec<u32> = (0..n).collect();
        let consistent: Vec<Vec<u32>> = permutations(&all)
            .into_iter()
            .filter(|p| p.windows(2).all(|w| scores[w[0] as usize] >= scores[w[1] as usize]))
            .collect();
        let mut avg = vec![0.0; names.len()];
        for p in &consistent {
            for (a, v) in avg.iter_mut().zip(values_of_order(p, &targets, &names)) {
                *a += v / consistent.len() as f64;
            }
        }
        let got = evaluated(&scores, &targets, &names);
        for ((n, g), a) in names.iter().zip(&got).zip(&avg) {
            prop_assert!((g - a).abs() < 1e-12, "{}: {} vs brute force {}", n, g, a);
            prop_assert!((0.0..=1.0).contains(g), "{} = {} outside [0, 1]", n, g);
        }
    }

    /// A constant scorer gets the random-expected value (closed forms for one target among n).
    #[test]
    fn constant_scorer_is_random(n in 1usize..300, t in 0u32..300, k in 1u64..40) {
        let t = t % n as u32;
        let names = vec![format!("hr@{k}"), format!("ndcg@{k}"), "mrr".to_string(), format!("precision@{k}")];
        let got = evaluated(&vec![0.25; n], &[t], &names);
        let nf = n as f64;
        let kk = k.min(n as u64);
        let hr = kk as f64 / nf;
        let ndcg = (1..=kk).map(|p| 1.0 / ((p + 1) as f64).log2()).sum::<f64>() / nf;
        let mrr = (1..=n).map(|p| 1.0 / p as f64).sum::<f64>() / nf;
        let prec = hr / k as f64;
        for (g, w) in got.iter().zip([hr, ndcg, mrr, prec]) {
            prop_assert!((g - w).abs() < 1e-12, "{} vs {}", g, w);
        }
    }

    /// Perfect ranking gives 1; permuting non-relevant items changes nothing; Recall@K is
    /// non-decreasing in K; every value lies in [0, 1].
    #[test]
    fn ranking_properties(n in 2usize..80, r in 1usize..10, seed in any::<u64>()) {
        use rand::RngExt;
        let mut rng = Seed::new(seed).rng();
        let r = r.min(n);
        let mut items: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() { items.swap(i, rng.random_range(0..=i)); }
        let targets: Vec<u32> = items[..r].to_vec();
        // random distinct scores
        let mut scores: Vec<f32> = (0..n).map(|i| i as f32).collect();
        for i in (1..n).rev() { scores.swap(i, rng.random_range(0..=i)); }
        let names = accuracy_names();
        let base = evaluated(&scores, &targets, &names);
        for (nm, v) in names.iter().zip(&base) {
            prop_assert!((0.0..=1.0).contains(v), "{} = {}", nm, v);
        }
        // permute the scores among non-relevant items only
        let nonrel: Vec<usize> = (0..n).filter(|i| !targets.contains(&(*i as u32))).collect();
        let mut perm = scores.clone();
        let mut vals: Vec<f32> = nonrel.iter().map(|&i| scores[i]).collect();
        for i in (1..vals.len()).rev() { vals.swap(i, rng.random_range(0..=i)); }
        for (&i, v) in nonrel.iter().zip(vals) { perm[i] = v; }
        prop_assert_eq!(&evaluated(&perm, &targets, &names), &base);
        // perfect ranking: relevant items on top
        let mut perfect = vec![0f32; n];
        for &t in &targets { perfect[t as usize] = 1.0 + t as f32; }
        let pv = evaluated(&perfect, &targets, &names);
        for (nm, v) in names.iter().zip(&pv) {
            let k: Option<u64> = nm.split_once('@').map(|(_, k)| k.parse().unwrap());
            let full_credit = match (nm.split('@').next().unwrap(), k) {
                ("recall", Some(k)) => r as u64 <= k,
                ("precision", Some(k)) => r as u64 >= k,
                _ => true,
            };
            if full_credit { prop_assert!((v - 1.0).abs() < 1e-12, "perfect {} = {}", nm, v); }
        }
        // Recall@K non-decreasing in K
        let rec: Vec<String> = (1..=n as u64 + 1).map(|k| format!("recall@{k}")).collect();
        let rv = evaluated(&scores, &targets, &rec);
        prop_assert!(rv.windows(2).all(|w| w[0] <= w[1] + 1e-15));
        prop_assert!((rv.last().unwrap() - 1.0).abs() < 1e-12);
    }
}
