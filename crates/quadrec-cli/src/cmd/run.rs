//! `quadrec run [SUITE]`, `quadrec report [RUN_DIR]`: the benchmark and its leaderboard.

use clap::Args;
use quadrec_runner::{RunOptions, run_suite, suite::load_suite};
use std::path::PathBuf;
use std::process::ExitCode;

/// Default suite: every registered method on MovieLens-100K.
pub const DEFAULT_SUITE: &str = "benchmarks/suites/default.toml";

/// Arguments of `quadrec run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Suite file (TOML). Default: benchmarks/suites/default.toml (every registered method on
    /// MovieLens-100K, leave-one-out by time).
    pub suite: Option<PathBuf>,
    /// Run folder (records.jsonl, per-user Parquet, reports). Default: runs/<suite name>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only shard I of N (`--shard 0/4`); combine shard folders with `quadrec merge`.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Only these suite method keys (`id` or `id:label`), comma-separated; a key the suite
    /// does not have is an error (with the closest key), before anything is written.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Do not render the report at the end.
    #[arg(long)]
    pub no_report: bool,
}

/// Structured log of the run: `<out>/run.log` (level from `QUADREC_LOG`, default `info`):
/// one line per job start, trial, epoch (debug), cell and failure.
fn init_log(out: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    let file = std::fs::OpenOptions::new().create(true).append(true).open(out.join("run.log"))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUADREC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(())
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not of the form I/N"))?;
    let i: usize = i.trim().parse().map_err(|_| format!("`{i}` is not a shard index"))?;
    let n: usize = n.trim().parse().map_err(|_| format!("`{n}` is not a shard count"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 <= I < N"));
    }
    Ok((i, n))
}

/// Run a suite.
pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let path = a.suite.unwrap_or_else(|| PathBuf::from(DEFAULT_SUITE));
    let registry = quadrec_runner::registry::all();
    let suite = load_suite(&path, &registry)?;
    // Before anything is written: a misspelt `--only` key must not leave a run folder behind.
    suite.check_only(&a.only).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let out = a.out.unwrap_or_else(|| PathBuf::from("runs").join(&suite.name));
    init_log(&out)?;
    let opts =
        RunOptions { shard: a.shard, progress: std::io::stderr().is_terminal(), only: a.only };
    eprintln!(
        "quadrec run: suite {} ({}), {} methods -> {}",
        suite.name,
        path.display(),
        suite.methods.len(),
        out.display()
    );
    let s = run_suite(&suite, &out, &opts)?;
    eprintln!(
        "quadrec run: {} jobs ({} already finished), {} cells ok, {} failed; records in {}",
        s.jobs,
        s.skipped,
        s.ok,
        s.failed,
        out.join("records.jsonl").display()
    );
    if !a.no_report && a.shard.is_none() {
        render(&out, &out, true)?;
    }
    Ok(if s.failed > 0 { ExitCode::from(3) } else { ExitCode::SUCCESS })
}

/// Arguments of `quadrec report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Run folder holding records.jsonl. Default: runs/default.
    pub run_dir: Option<PathBuf>,
    /// Where to write leaderboard.md, leaderboard.csv and report.html. Default: the run folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not print the terminal tables.
    #[arg(long)]
    pub quiet: bool,
}

/// Render the report of a run folder.
pub fn report(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let dir = a.run_dir.unwrap_or_else(|| PathBuf::from("runs/default"));
    let out = a.out.unwrap_or_else(|| dir.clone());
    render(&dir, &out, !a.quiet)?;
    Ok(ExitCode::SUCCESS)
}

fn render(dir: &std::path::Path, out: &std::path::Path, print: bool) -> anyhow::Result<()> {
    let opts = quadrec_report::ReportOptions::default();
    let files = quadrec_report::render_all(dir, out, &opts)?;
    if print {
        let run = quadrec_report::load_run(dir)?;
        println!("{}", quadrec_report::try_render_terminal(&run, &opts)?);
    }
    for w in &files.warnings {
        eprintln!("note: {w}");
    }
    eprintln!(
        "quadrec report: {} tables, {} failed cells -> {}, {}, {}",
        files.n_tables,
        files.n_failed,
        files.markdown.display(),
        files.csv.display(),
        files.html.display()
    );
    Ok(())
}

/// Arguments of `quadrec merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Folder to write the merged run into (created if needed).
    pub out: PathBuf,
    /// Shard run folders (outputs of `quadrec run --shard I/N --out DIR`).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Do not render the report of the merged run.
    #[arg(long)]
    pub no_report: bool,
}

/// Merge shard folders.
pub fn merge(a: MergeArgs) -> anyhow::Result<ExitCode> {
    let n = quadrec_runner::merge_runs(&a.shards, &a.out)?;
    eprintln!("quadrec merge: {} shards -> {} cells in {}", a.shards.len(), n, a.out.display());
    if !a.no_report {
        render(&a.out, &a.out, false)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `quadrec verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Run folder to verify.
    pub run_dir: PathBuf,
    /// Only this cell (id or unique prefix); default: every finished cell.
    #[arg(long)]
    pub cell: Option<String>,
}

/// Recompute cells and compare bitwise; exit 4 on any mismatch.
pub fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let lines = quadrec_runner::verify_run(&a.run_dir, a.cell.as_deref())?;
    let mut bad = 0;
    for l in &lines {
        if l.matches {
            println!("ok       {}  {}", &l.cell_id, l.what);
        } else {
            bad += 1;
            println!("MISMATCH {}  {}: {}", &l.cell_id, l.what, l.detail);
        }
    }
    println!("{} cells verified, {} mismatches (bitwise, CPU)", lines.len(), bad);
    Ok(if bad > 0 { ExitCode::from(4) } else { ExitCode::SUCCESS })
}

/// Arguments of `quadrec export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Suite file whose datasets, protocols and views are exported (default: the default suite).
    pub suite: Option<PathBuf>,
    /// Output folder (must not exist): one sub-folder per dataset x protocol.
    #[arg(long)]
    pub out: PathBuf,
}

/// Export a suite's data for other toolkits.
pub fn export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let path = a.suite.unwrap_or_else(|| PathBuf::from(DEFAULT_SUITE));
    let registry = quadrec_runner::registry::all();
    let suite = load_suite(&path, &registry)?;
    let s = quadrec_runner::export::export_suite(&suite, &a.out, &registry)?;
    for f in &s.folders {
        eprintln!("quadrec export: {} (EXPORT.json lists every file with its sha256)", f.display());
    }
    eprintln!("quadrec export: {} files", s.files);
    Ok(ExitCode::SUCCESS)
}
