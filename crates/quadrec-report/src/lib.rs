//! Result records of quadrec runs, and the leaderboard report rendered from them.
//!
//! The runner appends one [`record::CellRecord`] per finished (or failed) cell to
//! `records.jsonl`, with per-user metric values in a Parquet file beside it. Every table and
//! plot is rendered from these records, never written by hand:
//!
//! - [`load_run`] reads a run folder ([`load`]);
//! - [`model::build`] groups records into one table per protocol, aggregates seeds, runs paired
//!   tests against the best row with Holm correction, and compares orderings across views;
//! - [`render`] formats the model as a terminal table, Markdown, long-form CSV, and one
//!   self-contained HTML file with inline SVG plots;
//! - [`render_all`] is what `quadrec report` and the runner call;
//! - [`compare::compare_methods`] tests any two methods against each other per protocol
//!   (`quadrec compare`).

pub mod analysis;
pub mod compare;
mod error;
pub mod escape;
pub mod load;
pub mod model;
pub mod options;
pub mod record;
pub mod render;

use std::path::{Path, PathBuf};

pub use error::{ReportError, Result};
pub use load::{Run, TruncatedTail, load_run};
pub use model::Leaderboard;
pub use options::{PairedTestKind, ReportOptions, ViewKind};

/// Files written by [`render_all`].
#[derive(Clone, Debug, PartialEq)]
pub struct ReportFiles {
    /// `leaderboard.md`.
    pub markdown: PathBuf,
    /// `leaderboard.csv`.
    pub csv: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
    /// Protocol tables rendered.
    pub n_tables: usize,
    /// Failed cells listed.
    pub n_failed: usize,
    /// Warnings also shown in the report's notes (truncated tail, superseded records, ...).
    pub warnings: Vec<String>,
}

/// Load the run in `run_dir` and write `leaderboard.md`, `leaderboard.csv` and `report.html`
/// into `out_dir`, each atomically.
pub fn render_all(run_dir: &Path, out_dir: &Path, opts: &ReportOptions) -> Result<ReportFiles> {
    let run = load_run(run_dir)?;
    let lb = model::build(&run, opts)?;
    let files = ReportFiles {
        markdown: out_dir.join("leaderboard.md"),
        csv: out_dir.join("leaderboard.csv"),
        html: out_dir.join("report.html"),
        n_tables: lb.tables.len(),
        n_failed: lb.tables.iter().map(|t| t.failed.len()).sum(),
        warnings: lb.notes.clone(),
    };
    let csv = render::csv::render(&lb)
        .map_err(|source| ReportError::Io { path: files.csv.clone(), source })?;
    for (path, text) in [
        (&files.markdown, render::markdown::render(&lb)),
        (&files.csv, csv),
        (&files.html, render::html::render(&lb)),
    ] {
        quadrec_core::fsx::write_atomic(path, text.as_bytes())
            .map_err(|source| ReportError::Io { path: path.clone(), source })?;
    }
    Ok(files)
}

/// The leaderboard of a loaded run as terminal tables. Invalid options (an unknown metric name)
/// render as a one-line `error: ...` text; call [`try_render_terminal`] (or
/// [`ReportOptions::validated`] first) to get the typed error instead.
pub fn render_terminal(run: &Run, opts: &ReportOptions) -> String {
    try_render_terminal(run, opts).unwrap_or_else(|e| format!("error: {e}\n"))
}

/// [`render_terminal`] with the typed error.
pub fn try_render_terminal(run: &Run, opts: &ReportOptions) -> Result<String> {
    Ok(render::terminal::render(&model::build(run, opts)?))
}
