//! ML-100K, leave-one-out by time, full ranking: fit CRMs with validation early stopping and
//! report valid/test NDCG@10, HR@10 and epoch times as JSON lines (benchmarks/crm/).
//!
//! ```text
//! cargo run -p quadrec-models --example crm_ml100k -- \
//!     --methods pop,bpr,sasrec --seed 2026 --out benchmarks/crm/results/quadrec.jsonl \
//!     [--set sasrec:train.epochs=5 ...] [--export benchmarks/crm/recbole_data]
//! ```

use quadrec_core::Seed;
use quadrec_method::{FitContext, FitEvent, Method, find_entry, parse_override};
use quadrec_models::CRM_TABLE;
use quadrec_models::experiment::{Loo, load_ml100k};
use std::io::Write;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut methods = vec!["pop".to_string(), "bpr".to_string(), "sasrec".to_string()];
    let mut seed = 2026u64;
    let mut out: Option<String> = None;
    let mut export: Option<String> = None;
    let mut sets: Vec<(String, String)> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or_else(|| anyhow::anyhow!("{a} needs a value"));
        match a.as_str() {
            "--methods" => methods = val()?.split(',').map(str::to_string).collect(),
            "--seed" => seed = val()?.parse()?,
            "--out" => out = Some(val()?),
            "--export" => export = Some(val()?),
            "--set" => {
                let v = val()?;
                let (m, kv) =
                    v.split_once(':').ok_or_else(|| anyhow::anyhow!("--set method:key=value"))?;
                sets.push((m.to_string(), kv.to_string()));
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let ds = load_ml100k()?;
    let loo = Loo::split(&ds);
    eprintln!(
        "ml-100k: {} users, {} items, train {} valid {} test {}",
        ds.n_users(),
        ds.n_items(),
        loo.train_rows.len(),
        loo.valid_rows.len(),
        loo.test_rows.len()
    );
    if let Some(dir) = &export {
        loo.export_recbole(std::path::Path::new(dir), "ml100k-loo")?;
        loo.export_recbole_full(std::path::Path::new(dir), "ml100k-loo-full")?;
        eprintln!("exported RecBole atomic files to {dir}/ml100k-loo");
    }
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    for id in &methods {
        let entry = find_entry(CRM_TABLE, id)?;
        let layers: Vec<serde_json::Value> = sets
            .iter()
            .filter(|(m, _)| m == id)
            .map(|(_, kv)| parse_override(kv))
            .collect::<Result<_, _>>()?;
        let named: Vec<(&str, &serde_json::Value)> = layers.iter().map(|v| ("--set", v)).collect();
        let (params, mut m) = entry.build_with(&named)?;
        let mut probe = |m: &dyn Method| loo.evaluate(m, false).0;
        let mut log = |e: &FitEvent| {
            if let FitEvent::Epoch(l) = e {
                eprintln!(
                    "{id} epoch {:3} loss {:.4} valid ndcg@10 {:?} train {:.2}s probe {:.2}s",
                    l.epoch, l.loss, l.valid, l.train_seconds, l.probe_seconds
                );
            }
        };
        let mut ctx = FitContext::new(Seed(seed).child(id)).with_log(&mut log);
        ctx.probe = Some(&mut probe);
        let report = m.fit(&loo.train, &mut ctx)?;
        let (vn, vh) = loo.evaluate(m.as_ref(), false);
        let (tn, th) = loo.evaluate(m.as_ref(), true);
        let rec = serde_json::json!({
            "tool": "quadrec", "method": id, "params": params, "seed": seed,
            "valid_ndcg@10": vn, "valid_hr@10": vh, "test_ndcg@10": tn, "test_hr@10": th,
            "epochs_run": report.epochs_run, "best_epoch": report.best_epoch,
            "mean_epoch_train_s": report.mean_epoch_seconds(), "fit_s": report.fit_seconds,
            "n_parameters": m.n_parameters(), "device": report.device, "rayon_threads": threads,
            "epoch_train_s": report.epochs.iter().map(|e| e.train_seconds).collect::<Vec<_>>(),
        });
        println!("{rec}");
        if let Some(path) = &out {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            writeln!(f, "{rec}")?;
        }
    }
    Ok(())
}
