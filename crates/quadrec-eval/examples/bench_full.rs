//! Full-ranking evaluation benchmark (quadrec side). Reads a case file written by
//! `benchmarks/eval/make_cases.py`, evaluates hr/recall/ndcg/mrr/precision/map @ 5, 10, 20 with
//! seen items masked in three variants (accuracy only; + top-20 lists; + top-20 lists and the
//! exposure metrics coverage / avg_pop / gini @ 5, 10, 20), REPEATS runs each (median and best
//! recorded), and writes the timings plus per-user values for the comparison with RecBole.
//! Env `VARIANTS=full` (any subset of `acc,top20,full`) only prints timings (profiling aid).
//!
//! Usage: `cargo run --release -p quadrec-eval --example bench_full -- CASE THREADS OUT_DIR [BLOCK] [--trec]`
//! With `--trec`, also writes `OUT_DIR/run.trec` and `OUT_DIR/qrels.trec` (top 20, user = query)
//! for the ranx round trip (`benchmarks/eval/ranx_trec_roundtrip.py`).
//!
//! Case file (little endian): b"QEVB", u32 version = 1, u32 n_users, u32 n_items, u32 kind
//! (0 = dense f32 scores follow, 1 = affine permutation parameters follow), u32 targets[n_users],
//! u32 seen_len[n_users], u32 seen[sum], then kind 0: f32 scores[n_users * n_items];
//! kind 1: u32 a[n_users], u32 c[n_users], with
//! score(u, i) = ((i + n - target_u) * a_u + c_u) mod n_items (a permutation: no ties).
//!
//! Evaluation time excludes the time spent producing scores (inside the callback), exactly as
//! the RecBole side excludes building its score tensors.

use std::io::Read;
use std::time::Instant;

use quadrec_eval::metrics::MetricContext;
use quadrec_eval::{FullRankingOptions, FullRankingQuery, evaluate_full, parse_metrics};

fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: bench_full CASE THREADS OUT_DIR [BLOCK]".into());
    }
    let threads: usize = args[2].parse()?;
    let out_dir = std::path::PathBuf::from(&args[3]);
    let trec = args.iter().any(|a| a == "--trec");
    let block: usize =
        args.get(4).filter(|a| !a.starts_with("--")).map(|b| b.parse()).transpose()?.unwrap_or(0);
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;

    let mut f = std::fs::File::open(&args[1])?;
    let mut head = [0u8; 20];
    f.read_exact(&mut head)?;
    if &head[..4] != b"QEVB" {
        return Err(format!("{}: not a QEVB case file", args[1]).into());
    }
    let h = u32s(&head[4..]);
    let (n_users, n_items, kind) = (h[1] as usize, h[2], h[3]);
    let mut read_u32 = |n: usize| -> std::io::Result<Vec<u32>> {
        let mut b = vec![0u8; 4 * n];
        f.read_exact(&mut b)?;
        Ok(u32s(&b))
    };
    let targets = read_u32(n_users)?;
    let seen_len = read_u32(n_users)?;
    let seen = read_u32(seen_len.iter().map(|&x| x as usize).sum())?;
    let (scores, a, c): (Vec<f32>, Vec<u32>, Vec<u32>) = if kind == 0 {
        let raw = read_u32(n_users * n_items as usize)?;
        (raw.into_iter().map(f32::from_bits).collect(), vec![], vec![])
    } else {
        (vec![], read_u32(n_users)?, read_u32(n_users)?)
    };
    let mut off = 0usize;
    let queries: Vec<FullRankingQuery> = (0..n_users)
        .map(|u| {
            let s = &seen[off..off + seen_len[u] as usize];
            off += seen_len[u] as usize;
            FullRankingQuery { user: u as u32, targets: std::slice::from_ref(&targets[u]), seen: s }
        })
        .collect();

    let mut names = Vec::new();
    for k in [5, 10, 20] {
        for m in ["hr", "recall", "ndcg", "mrr", "precision", "map"] {
            names.push(format!("{m}@{k}"));
        }
    }
    // Exposure / beyond-accuracy metrics of the "full" variant (read the concrete top-K lists).
    let mut exposure_names = Vec::new();
    for k in [5, 10, 20] {
        for m in ["coverage", "avg_pop", "gini"] {
            exposure_names.push(format!("{m}@{k}"));
        }
    }
    // Item popularity = occurrences in the seen lists (train interactions), computed before timing;
    // recbole_bench.py derives the same counts for its AveragePopularity.
    let mut pop = vec![0u32; n_items as usize];
    for &s in &seen {
        pop[s as usize] += 1;
    }
    let ctx = MetricContext { n_items, item_popularity: Some(&pop), long_tail: None };
    let n = n_items as usize;
    // Variants (env VARIANTS, comma-separated, default all three):
    // - acc:   18 accuracy metrics, no top-K lists (the tie-aware counting kernel only);
    // - top20: the same plus concrete top-20 lists kept (what RecBole's torch.topk materialises);
    // - full:  top20 plus coverage / avg_pop / gini @ 5, 10, 20 (exposure metrics).
    let wanted = std::env::var("VARIANTS").unwrap_or_else(|_| "acc,top20,full".into());
    let wanted: Vec<&str> = wanted.split(',').collect();
    let repeats: usize = std::env::var("REPEATS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let mut variants = Vec::new(); // (name, all eval seconds, fill seconds of the first run, report)
    for (name, keep_top, exposure) in
        [("acc", 0usize, false), ("top20", 20, false), ("full", 20, true)]
    {
        if !wanted.contains(&name) {
            continue;
        }
        let mut all = names.clone();
        if exposure {
            all.extend(exposure_names.iter().cloned());
        }
        let metrics = parse_metrics(&all)?;
        let opts =
            FullRankingOptions { mask_seen: true, block_users: block, tie_seed: 0, keep_top };
        let mut runs: Vec<f64> = Vec::new(); // eval seconds (score filling excluded)
        let mut fill = 0.0;
        let mut last = None;
        // One untimed warm-up run per variant (first-touch page faults, thread start-up);
        // recbole_bench.py does the same.
        for rep_i in 0..=repeats.max(1) {
            let mut score_secs = 0.0f64;
            let t0 = Instant::now();
            let rep = evaluate_full(
                &queries,
                n_items,
                &metrics,
                &ctx,
                &opts,
                |users, out: &mut [f32]| {
                    let t = Instant::now();
                    if kind == 0 {
                        for (row, &u) in out.chunks_mut(n).zip(users) {
                            row.copy_from_slice(&scores[u as usize * n..(u as usize + 1) * n]);
                        }
                    } else {
                        // Rows are independent: fill them in parallel like a model's batched matmul would.
                        use rayon::prelude::*;
                        out.par_chunks_mut(n).zip(users.par_iter()).for_each(|(row, &u)| {
                            let (t, a, c) = (
                                u64::from(targets[u as usize]),
                                u64::from(a[u as usize]),
                                u64::from(c[u as usize]),
                            );
                            let nn = n as u64;
                            for (i, x) in row.iter_mut().enumerate() {
                                *x = (((i as u64 + nn - t) * a + c) % nn) as f32;
                            }
                        });
                    }
                    score_secs += t.elapsed().as_secs_f64();
                    Ok::<(), std::convert::Infallible>(())
                },
            )?;
            let total = t0.elapsed().as_secs_f64();
            if rep_i == 0 {
                continue;
            }
            runs.push(total - score_secs);
            fill = score_secs;
            last = Some(rep);
        }
        variants.push((name, runs, fill, last.expect("at least one run")));
    }
    let median = |r: &[f64]| {
        let mut v = r.to_vec();
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
    };
    let min = |r: &[f64]| r.iter().copied().fold(f64::INFINITY, f64::min);
    if variants.len() < 3 {
        // Profiling / partial runs: timings only.
        for (name, runs, _, _) in &variants {
            println!("{name}: median {:.6} s, best {:.6} s", median(runs), min(runs));
        }
        return Ok(());
    }
    // Keeping top lists or adding exposure metrics must not change any accuracy value.
    for (_, _, _, r) in &variants[1..] {
        for nm in &names {
            assert!(variants[0].3.per_user.column(nm) == r.per_user.column(nm), "{nm} changed");
        }
    }
    let rep = &variants[2].3;
    std::fs::create_dir_all(&out_dir)?;
    let mut bin = Vec::with_capacity(names.len() * n_users * 8);
    for nm in &names {
        for v in rep.per_user.column(nm).unwrap() {
            bin.extend_from_slice(&v.to_le_bytes());
        }
    }
    quadrec_core::fsx::write_atomic(&out_dir.join("quadrec_per_user.f64"), &bin)?;
    let summary: serde_json::Map<String, serde_json::Value> =
        rep.summary.iter().map(|s| (s.metric.clone(), serde_json::json!(s.value))).collect();
    let timing: serde_json::Map<String, serde_json::Value> = variants
        .iter()
        .map(|(name, runs, _, _)| {
            (
                name.to_string(),
                serde_json::json!({"median_s": median(runs), "best_s": min(runs), "runs_s": runs}),
            )
        })
        .collect();
    // Per-user avg_pop@20 and the list-level exposure values, for the check against RecBole.
    let mut pop_bin = Vec::new();
    for k in [5, 10, 20] {
        for v in rep.per_user.column(&format!("avg_pop@{k}")).unwrap() {
            pop_bin.extend_from_slice(&v.to_le_bytes());
        }
    }
    quadrec_core::fsx::write_atomic(&out_dir.join("quadrec_avg_pop.f64"), &pop_bin)?;
    // Bootstrap CIs (95%, 1000 resamples, as the runner's default) of every per-user metric of
    // the "full" report, one after the other as the runner does; NOT in the timed evaluation
    // (RecBole computes no CIs). Skipped above 10,000 users (minutes on this machine).
    let ci_seconds = (n_users <= 10_000).then(|| {
        let t = Instant::now();
        for (name, col) in &rep.per_user.columns {
            let seed = quadrec_core::Seed::new(1).child(&format!("bootstrap/{name}"));
            std::hint::black_box(quadrec_eval::stats::bootstrap_ci(col, 0.95, 1000, seed).ok());
        }
        t.elapsed().as_secs_f64()
    });
    let out = serde_json::json!({
        "tool": "quadrec-eval",
        "case": args[1],
        "n_users": n_users,
        "n_items": n_items,
        "threads": threads,
        "block_users": if block == 0 { quadrec_eval::full::auto_block_users(n_items) } else { block },
        "variants": {
            "acc": "18 accuracy metrics (hr/recall/ndcg/mrr/precision/map @5,10,20), no top-K lists",
            "top20": "acc + concrete top-20 lists kept",
            "full": "top20 + coverage/avg_pop/gini @5,10,20",
        },
        "timing": timing,
        "eval_seconds": median(&variants[0].1),
        "eval_seconds_with_top20_lists": median(&variants[1].1),
        "eval_seconds_with_top20_and_exposure": median(&variants[2].1),
        "score_fill_seconds": variants[0].2,
        "bootstrap_ci_seconds_untimed": ci_seconds,
        "bootstrap_ci_columns": rep.per_user.columns.len(),
        "loadavg": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>(),
        "peak_rss_mib": peak_rss_mib(),
        "metrics": names,
        "summary": summary,
    });
    if trec {
        let top = rep.top.as_ref().expect("full ranking keeps top lists");
        quadrec_eval::trec::write_trec_run(&out_dir.join("run.trec"), top, "quadrec")?;
        quadrec_eval::trec::write_trec_qrels(
            &out_dir.join("qrels.trec"),
            queries.iter().map(|q| (q.user, q.targets)),
        )?;
    }
    let s = serde_json::to_string_pretty(&out)?;
    quadrec_core::fsx::write_atomic(&out_dir.join("quadrec.json"), s.as_bytes())?;
    println!("{s}");
    Ok(())
}
