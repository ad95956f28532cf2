//! `quadrec split`: make a pinned split.

use clap::Args;
use std::process::ExitCode;

/// Split arguments.
#[derive(Args, Debug)]
pub struct SplitArgs {}

/// Run the split command.
pub fn run(_a: SplitArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
