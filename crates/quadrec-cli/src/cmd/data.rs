//! `quadrec data ...`: fetch, import, info.

use clap::Subcommand;
use std::process::ExitCode;

/// Dataset commands.
#[derive(Subcommand, Debug)]
pub enum DataCmd {
    /// Not yet implemented.
    Info,
}

/// Run a data command.
pub fn run(_c: DataCmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
