//! The quadrec benchmark runner: one command runs every registered method on shared, pinned
//! splits through the one evaluation kernel, into resumable, content-addressed records.
//!
//! - [`suite`]: typed suite files (datasets x protocols x views x methods x seeds x grids).
//! - [`prepare`]: dataset + split -> [`prepared::Prepared`] (train-only view, validation and
//!   test users, test views).
//! - [`exec`]: tuning on validation, one test pass per view, cost columns, cell records.
//! - [`store`]: the run folder (`records.jsonl`, per-user Parquet), crash-safe and resumable.
//! - [`registry`]: the union of every method table.

pub mod env;
pub mod exec;
pub mod export;
pub mod prepare;
pub mod prepared;
pub mod registry;
pub mod store;
pub mod suite;
#[cfg(test)]
mod tests;

use crate::exec::{
    cell_id, evaluate_views, failed_record, method_views, provenance_of, reads_requests, tune,
};
use crate::store::RunStore;
use crate::suite::Suite;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// The resolved suite of a run folder.
pub const SUITE_FILE: &str = "suite.json";

/// Options of [`run_suite`].
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Run only shard `i` of `n` (0-based): jobs are assigned by a hash of their key.
    pub shard: Option<(usize, usize)>,
    /// Show progress bars.
    pub progress: bool,
    /// Only run methods whose suite key is in this list (all when empty).
    pub only: Vec<String>,
}

/// Summary of a run.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// Jobs (dataset x protocol x method x seed) considered by this shard.
    pub jobs: usize,
    /// Jobs skipped because every cell was already finished.
    pub skipped: usize,
    /// Cells written ok.
    pub ok: usize,
    /// Cells written as failed.
    pub failed: usize,
    /// The run folder.
    pub dir: PathBuf,
}

/// Which shard a job belongs to: a stable hash of its key, so every process agrees.
pub fn shard_of(job_key: &str, n: usize) -> usize {
    let h = quadrec_core::hash::sha256_hex(job_key.as_bytes());
    (u64::from_str_radix(&h[..16], 16).expect("hex digest") % n as u64) as usize
}

/// Run `f`, turning a panic into an error that carries the panic message, so that one job's
/// panic is recorded as its failed cells and the run goes on.
pub fn catch_panic<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_string());
            Err(anyhow::anyhow!("panicked: {msg}"))
        }
    }
}

/// Run a suite into `out` (created if needed), skipping finished cells.
pub fn run_suite(suite: &Suite, out: &Path, opts: &RunOptions) -> anyhow::Result<RunSummary> {
    suite.check_only(&opts.only).map_err(anyhow::Error::msg)?;
    let registry = registry::all();
    let mut store = RunStore::open(out)?;
    // The resolved suite travels with the run, so `verify` can recompute any cell from the folder.
    quadrec_core::fsx::write_atomic(
        &out.join(SUITE_FILE),
        serde_json::to_string_pretty(suite).expect("suite serialises").as_bytes(),
    )?;
    let code = env::code_version();
    let mut summary = RunSummary { dir: out.to_path_buf(), ..Default::default() };
    let n_jobs = suite.datasets.len()
        * suite.protocols.len()
        * suite.methods.iter().map(|m| m.seeds_in(suite).len()).sum::<usize>();
    // Two bars: the overall one (jobs) and the current cell's (users scored in the view being
    // evaluated; training epochs are reported in its message).
    let multi = MultiProgress::new();
    let (bar, cell_bar) = if opts.progress {
        let b = multi.add(ProgressBar::new(n_jobs as u64));
        b.set_style(
            ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} jobs  {msg}")
                .expect("progress template should parse"),
        );
        let c = multi.add(ProgressBar::new(0));
        c.set_style(
            ProgressStyle::with_template("  {bar:30} {pos}/{len} users  {msg}")
                .expect("progress template should parse"),
        );
        (b, c)
    } else {
        (ProgressBar::hidden(), ProgressBar::hidden())
    };
    for ds in &suite.datasets {
        let dataset = prepare::load_dataset(&ds.id)?;
        for proto in &suite.protocols {
            let prepared = prepare::prepare(&dataset, proto, &registry)?;
            // The requests of conversational views travel with the run (the records carry the
            // view hash, which covers them; this file holds their text and conditions).
            for v in prepared.views.iter().filter(|v| !v.test.requests.is_empty()) {
                let lines: Vec<String> = v
                    .test
                    .requests
                    .iter()
                    .chain(&v.valid.requests)
                    .map(|r| serde_json::to_string(r).expect("requests serialise"))
                    .collect();
                let rel =
                    format!("requests/{}-{}.jsonl", v.label.replace('@', "_at_"), &v.hash[..16]);
                quadrec_core::fsx::write_atomic(
                    &out.join(rel),
                    (lines.join("\n") + "\n").as_bytes(),
                )?;
            }
            for spec in &suite.methods {
                if !opts.only.is_empty() && !opts.only.contains(&spec.key()) {
                    continue;
                }
                let entry = quadrec_method::find_entry(&registry, &spec.id)?;
                let trials = spec.trials();
                let views = method_views(spec, &prepared, reads_requests(entry, spec)?);
                if views.is_empty() {
                    // None of the views this method is restricted to belongs to this protocol.
                    continue;
                }
                let provenance = provenance_of(entry, spec)?;
                let resolved = exec::resolved_trials(entry, spec)?;
                for &seed in spec.seeds_in(suite) {
                    let job_key = format!("{}/{}/{}/{}", ds.id, proto.split, spec.key(), seed);
                    if let Some((i, n)) = opts.shard
                        && shard_of(&job_key, n) != i
                    {
                        continue;
                    }
                    summary.jobs += 1;
                    bar.set_message(job_key.clone());
                    let cells: Vec<String> = views
                        .iter()
                        .map(|&i| {
                            let v = &prepared.views[i];
                            cell_id(
                                &prepared,
                                v,
                                &prepared.views[views[0]],
                                spec,
                                &trials,
                                &provenance,
                                seed,
                                suite,
                                &resolved,
                                &code,
                            )
                        })
                        .collect();
                    if cells.iter().all(|c| store.is_done(c)) {
                        summary.skipped += 1;
                        bar.inc(1);
                        continue;
                    }
                    let started = env::now_utc();
                    env::reset_peak_rss();
                    tracing::info!(job = %job_key, "start");
                    // A panic inside a method (e.g. a backend assertion) fails this job's cells
                    // like an error does, instead of killing the run (and every resume of it).
                    let result = catch_panic(|| {
                        tune(entry, spec, &prepared, suite, seed, |msg| {
                            tracing::debug!("{msg}");
                            cell_bar.set_message(msg.to_string());
                        })
                        .and_then(|tuned| {
                            let dir = store.dir().to_path_buf();
                            evaluate_views(
                                &tuned,
                                entry,
                                spec,
                                &prepared,
                                &views,
                                &provenance,
                                suite,
                                seed,
                                &cells,
                                &started,
                                &mut |view, k, n| {
                                    if cell_bar.length() != Some(n as u64) {
                                        cell_bar.set_length(n as u64);
                                        cell_bar.set_message(format!("test {view}"));
                                    }
                                    cell_bar.set_position(k as u64);
                                },
                                |cell, rep| {
                                    let rel = format!("cells/{cell}/per_user.parquet");
                                    rep.write_parquet(&dir.join(&rel))?;
                                    Ok(rel)
                                },
                            )
                        })
                    });
                    match result {
                        Ok(records) => {
                            for r in records {
                                tracing::info!(cell = %r.cell_id, protocol = %r.protocol, method = %spec.key(),
                                    ndcg10 = ?r.test.get("ndcg@10").map(|m| m.mean), "cell done");
                                store.put(r)?;
                                summary.ok += 1;
                            }
                        }
                        Err(e) => {
                            tracing::error!(job = %job_key, "failed: {e:#}");
                            for (&vi, c) in views.iter().zip(&cells) {
                                let v = &prepared.views[vi];
                                store.put(failed_record(
                                    Some(entry),
                                    spec,
                                    &prepared,
                                    v,
                                    suite,
                                    seed,
                                    c,
                                    &e,
                                    &started,
                                ))?;
                                summary.failed += 1;
                            }
                        }
                    }
                    bar.inc(1);
                }
            }
        }
    }
    cell_bar.finish_and_clear();
    bar.finish_and_clear();
    Ok(summary)
}

/// Merge shard run folders into `out`: the union of their records (an `ok` record wins over a
/// failed one for the same cell; two `ok` records of one cell must agree on every test metric)
/// and their per-user files.
pub fn merge_runs(shards: &[PathBuf], out: &Path) -> anyhow::Result<usize> {
    use anyhow::Context;
    let mut store = RunStore::open(out)?;
    let mut suite: Option<String> = None;
    for dir in shards {
        let s = std::fs::read_to_string(dir.join(SUITE_FILE))
            .with_context(|| format!("{}: not a run folder (no {SUITE_FILE})", dir.display()))?;
        match &suite {
            None => suite = Some(s),
            Some(first) if *first != s => {
                anyhow::bail!(
                    "{}: its suite differs from the first shard's; refusing to merge",
                    dir.display()
                )
            }
            Some(_) => {}
        }
        let recs = store::read_records(&dir.join(RunStore::RECORDS))?;
        for (id, r) in recs {
            if let Some(old) = store.get(&id)
                && old.status == quadrec_report::record::Status::Ok
            {
                if r.status == quadrec_report::record::Status::Ok && old.test != r.test {
                    anyhow::bail!("cell {id}: two shards report different test metrics");
                }
                continue;
            }
            if let Some(rel) = &r.per_user {
                let src = dir.join(rel);
                let dst = out.join(rel);
                let bytes =
                    std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
                quadrec_core::fsx::write_atomic(&dst, &bytes)?;
            }
            store.put(r)?;
        }
    }
    if let Some(s) = suite {
        quadrec_core::fsx::write_atomic(&out.join(SUITE_FILE), s.as_bytes())?;
    }
    Ok(store.records().count())
}

/// Outcome of verifying one cell.
#[derive(Clone, Debug)]
pub struct VerifyLine {
    /// Cell id.
    pub cell_id: String,
    /// Method key and view.
    pub what: String,
    /// Whether every test metric and every per-user value matched bitwise.
    pub matches: bool,
    /// First difference found, if any.
    pub detail: String,
}

/// Recompute cells of a run folder from its saved suite and compare bitwise (CPU). `cell`
/// restricts to one cell id (a unique prefix is enough).
pub fn verify_run(run_dir: &Path, cell: Option<&str>) -> anyhow::Result<Vec<VerifyLine>> {
    use anyhow::Context;
    let suite_text = std::fs::read_to_string(run_dir.join(SUITE_FILE))
        .with_context(|| format!("{}: not a run folder (no {SUITE_FILE})", run_dir.display()))?;
    let suite: Suite = serde_json::from_str(&suite_text)?;
    let recorded = store::read_records(&run_dir.join(RunStore::RECORDS))?;
    let wanted: Vec<&quadrec_report::record::CellRecord> = recorded
        .values()
        .filter(|r| r.status == quadrec_report::record::Status::Ok)
        .filter(|r| cell.is_none_or(|c| r.cell_id.starts_with(c)))
        .collect();
    if wanted.is_empty() {
        anyhow::bail!("no finished cell matches {}", cell.unwrap_or("(any)"));
    }
    let only: Vec<String> = {
        let mut v: Vec<String> = wanted
            .iter()
            .map(|r| {
                if r.method.variant.is_empty() {
                    r.method.id.clone()
                } else {
                    format!("{}:{}", r.method.id, r.method.variant)
                }
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let tmp = tempfile_dir(run_dir)?;
    let opts = RunOptions { shard: None, progress: false, only };
    run_suite(&suite, &tmp, &opts)?;
    let fresh = store::read_records(&tmp.join(RunStore::RECORDS))?;
    // Cells are matched by what they compute (protocol, method, variant, seed), so a run made by
    // an older build can be verified too; a changed cell id (code version) is reported.
    let key = |r: &quadrec_report::record::CellRecord| {
        (r.protocol.clone(), r.method.id.clone(), r.method.variant.clone(), r.seed)
    };
    let fresh: std::collections::BTreeMap<_, _> =
        fresh.values().map(|r| (key(r), r.clone())).collect();
    let mut out = Vec::new();
    for r in wanted {
        let what = format!("{} {} ({})", r.method.display, r.method.variant, r.protocol);
        let line = match fresh.get(&key(r)) {
            None => VerifyLine {
                cell_id: r.cell_id.clone(),
                what,
                matches: false,
                detail: "recomputation produced no cell for this protocol and method (data or suite changed?)".into(),
            },
            Some(f) => {
                let mut detail = String::new();
                for (k, v) in &r.test {
                    match f.test.get(k) {
                        Some(w) if w.mean.to_bits() == v.mean.to_bits() => {}
                        Some(w) => {
                            detail = format!("{k}: recorded {} vs recomputed {}", v.mean, w.mean);
                            break;
                        }
                        None => {
                            detail = format!("{k}: missing in recomputation");
                            break;
                        }
                    }
                }
                if detail.is_empty()
                    && let (Some(a), Some(b)) = (&r.per_user, &f.per_user)
                {
                    let pa = quadrec_eval::PerUserTable::read_parquet(&run_dir.join(a))?.0;
                    let pb = quadrec_eval::PerUserTable::read_parquet(&tmp.join(b))?.0;
                    let same = pa.users == pb.users
                        && pa.columns.len() == pb.columns.len()
                        && pa.columns.iter().zip(&pb.columns).all(|((na, va), (nb, vb))| {
                            na == nb
                                && va.len() == vb.len()
                                && va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits())
                        });
                    if !same {
                        detail = "per-user values differ".into();
                    }
                }
                let what = if f.cell_id == r.cell_id {
                    what
                } else {
                    format!("{what} [code {} -> {}]", r.env.quadrec_version, f.env.quadrec_version)
                };
                VerifyLine { cell_id: r.cell_id.clone(), what, matches: detail.is_empty(), detail }
            }
        };
        out.push(line);
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(out)
}

fn tempfile_dir(near: &Path) -> anyhow::Result<PathBuf> {
    let base = near.join(".verify");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base)?;
    Ok(base)
}
