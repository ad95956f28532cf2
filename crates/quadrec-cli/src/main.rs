//! `quadrec`: thin command-line dispatcher. Each command group lives in `src/cmd/<group>.rs`.
//!
//! Exit codes: 0 success, 1 error (the full error chain is printed to stderr), 2 usage error
//! (printed by clap), 3 a run finished with failed cells (listed in the report), 4 `verify`
//! found a mismatch.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// quadrec: a unified, reproducible benchmark for LLM-enhanced recommender systems.
#[derive(Parser, Debug)]
#[command(name = "quadrec", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Command groups. One line per group; the group's arguments and logic live in its module.
#[derive(Subcommand, Debug)]
enum Command {
    /// Datasets: fetch pinned assets, import native formats, show cards.
    #[command(subcommand)]
    Data(cmd::data::DataCmd),
    /// Make (or verify) a pinned split of a processed dataset and its evaluation views.
    Split(cmd::split::SplitArgs),
    /// Pinned pretrained models (and other pinned assets): list, fetch + verify.
    #[command(subcommand)]
    Models(cmd::models::ModelsCmd),
    /// Run a benchmark suite (default: every registered method on MovieLens-100K).
    Run(cmd::run::RunArgs),
    /// Render the leaderboard (terminal, Markdown, CSV, HTML) from a run folder's records.
    Report(cmd::run::ReportArgs),
    /// Paired significance tests between any two methods of a run folder, per protocol.
    Compare(cmd::compare::CompareArgs),
    /// Merge shard run folders (`quadrec run --shard I/N`) into one run.
    Merge(cmd::run::MergeArgs),
    /// Recompute the cells of a run folder and compare them bitwise with the records.
    Verify(cmd::run::VerifyArgs),
    /// Export a suite's splits and views (RecBole atomic files, TREC qrels and candidate lists)
    /// so that other toolkits run on identical data.
    Export(cmd::run::ExportArgs),
    /// Conversational recommendation in the terminal (scriptable through a pipe), or the
    /// conversational benchmark (`--bench`).
    Chat(cmd::chat::ChatArgs),
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Data(c) => cmd::data::run(c),
        Command::Split(a) => cmd::split::run(a),
        Command::Models(c) => cmd::models::run(c),
        Command::Run(a) => cmd::run::run(a),
        Command::Report(a) => cmd::run::report(a),
        Command::Compare(a) => cmd::compare::run(a),
        Command::Merge(a) => cmd::run::merge(a),
        Command::Verify(a) => cmd::run::verify(a),
        Command::Export(a) => cmd::run::export(a),
        Command::Chat(a) => cmd::chat::run(a),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}
