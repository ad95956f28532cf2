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
pub mod prepare;
pub mod prepared;
pub mod registry;
pub mod store;
pub mod suite;

use crate::exec::{cell_id, evaluate_views, failed_record, tune};
use crate::store::RunStore;
use crate::suite::Suite;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

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

/// Run a suite into `out` (created if needed), skipping finished cells.
pub fn run_suite(suite: &Suite, out: &Path, opts: &RunOptions) -> anyhow::Result<RunSummary> {
    let registry = registry::all();
    let mut store = RunStore::open(out)?;
    let code = env::code_version();
    let mut summary = RunSummary { dir: out.to_path_buf(), ..Default::default() };
    let n_jobs =
        suite.datasets.len() * suite.protocols.len() * suite.methods.len() * suite.seeds.len();
    let bar = if opts.progress {
        let b = ProgressBar::new(n_jobs as u64);
        b.set_style(
            ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} jobs  {msg}")
                .expect("progress template should parse"),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    for ds in &suite.datasets {
        let dataset = prepare::load_dataset(&ds.id)?;
        for proto in &suite.protocols {
            let prepared = prepare::prepare(&dataset, proto)?;
            for spec in &suite.methods {
                if !opts.only.is_empty() && !opts.only.contains(&spec.key()) {
                    continue;
                }
                let entry = quadrec_method::find_entry(&registry, &spec.id)?;
                let trials = spec.trials();
                for &seed in &suite.seeds {
                    let job_key = format!("{}/{}/{}/{}", ds.id, proto.split, spec.key(), seed);
                    if let Some((i, n)) = opts.shard
                        && shard_of(&job_key, n) != i
                    {
                        continue;
                    }
                    summary.jobs += 1;
                    bar.set_message(job_key.clone());
                    let cells: Vec<String> = prepared
                        .views
                        .iter()
                        .map(|v| cell_id(&prepared, v, spec, &trials, seed, suite, &code))
                        .collect();
                    if cells.iter().all(|c| store.is_done(c)) {
                        summary.skipped += 1;
                        bar.inc(1);
                        continue;
                    }
                    let started = env::now_utc();
                    tracing::info!(job = %job_key, "start");
                    let result = tune(entry, spec, &prepared, suite, seed, |msg| {
                        tracing::debug!("{msg}");
                        bar.set_message(format!("{job_key}: {msg}"));
                    })
                    .and_then(|tuned| {
                        let dir = store.dir().to_path_buf();
                        evaluate_views(
                            &tuned,
                            entry,
                            spec,
                            &prepared,
                            suite,
                            seed,
                            &cells,
                            &started,
                            |cell, rep| {
                                let rel = format!("cells/{cell}/per_user.parquet");
                                rep.write_parquet(&dir.join(&rel))?;
                                Ok(rel)
                            },
                        )
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
                            for (v, c) in prepared.views.iter().zip(&cells) {
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
    bar.finish_and_clear();
    Ok(summary)
}
