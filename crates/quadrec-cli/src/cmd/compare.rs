//! `quadrec compare RUN_DIR A B`: paired significance tests between any two methods of a run,
//! per protocol (the logic lives in `quadrec_report::compare`).

use clap::{Args, ValueEnum};
use quadrec_report::compare::{CompareOptions, compare_run, render_json, render_terminal};
use quadrec_report::{PairedTestKind, ReportOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Primary paired test.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TestArg {
    /// Paired bootstrap of the mean per-user difference.
    Bootstrap,
    /// Paired sign-flip permutation (exact for <= 20 users).
    Permutation,
}

/// Arguments of `quadrec compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Run folder holding records.jsonl.
    pub run_dir: PathBuf,
    /// Method A: suite key `id` or `id:label` (e.g. `collm`, `tallrec:k64`).
    pub a: String,
    /// Method B, as A.
    pub b: String,
    /// Metric to compare (e.g. `hr@10`). Default: the main metric of each protocol table.
    #[arg(long)]
    pub metric: Option<String>,
    /// Only protocols whose id contains this substring. Default: every protocol where both
    /// methods have finished cells.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Primary paired test (Wilcoxon signed-rank is always reported too).
    #[arg(long, value_enum, default_value = "bootstrap")]
    pub test: TestArg,
    /// Bootstrap resamples / random sign flips. Default: the report's (10000).
    #[arg(long)]
    pub resamples: Option<usize>,
    /// Root seed of the resampling. Default: the report's (0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Run `quadrec compare`.
pub fn run(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let defaults = ReportOptions::default();
    let report = ReportOptions {
        test: match a.test {
            TestArg::Bootstrap => PairedTestKind::Bootstrap,
            TestArg::Permutation => PairedTestKind::Permutation,
        },
        n_resamples: a.resamples.unwrap_or(defaults.n_resamples),
        seed: a.seed.unwrap_or(defaults.seed),
        ..defaults
    };
    let opts = CompareOptions { report, metric: a.metric, protocol: a.protocol };
    let cmp = compare_run(&a.run_dir, &a.a, &a.b, &opts)?;
    if a.json {
        print!("{}", render_json(&cmp, &opts));
    } else {
        print!("{}", render_terminal(&cmp, &opts));
    }
    Ok(ExitCode::SUCCESS)
}
