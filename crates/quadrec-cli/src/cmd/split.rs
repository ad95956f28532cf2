//! `quadrec split`: make (or reuse) a pinned split of a processed dataset, and optionally draw
//! its stored evaluation views.

use anyhow::bail;
use clap::Args;
use quadrec_core::Seed;
use quadrec_data::store;
use quadrec_split::views::save_list_view;
use quadrec_split::{CandidateSource, CandidateView, Cut, SampledView, Split, SplitSpec, Stage};
use std::path::PathBuf;
use std::process::ExitCode;

/// Split arguments.
#[derive(Args, Debug)]
pub struct SplitArgs {
    /// Dataset id, a unique id prefix (e.g. `ml-100k`), or a dataset folder.
    #[arg(long, short, default_value = "ml-100k")]
    pub dataset: String,
    /// Protocol: `loo` (leave-one-out by time per user: last = test, second last = valid),
    /// `temporal` (global time cut points, leak-free), `random` (seeded ratio per user).
    #[arg(long, short, default_value = "loo", value_parser = ["loo", "temporal", "random"])]
    pub protocol: String,
    /// Temporal: validation cut, a Unix time (e.g. `893000000`) or a quantile of all
    /// timestamps written `q0.8`. Omit for no validation rows.
    #[arg(long)]
    pub valid_cut: Option<String>,
    /// Temporal: test cut, a Unix time or a quantile `q0.9`.
    #[arg(long, default_value = "q0.9")]
    pub test_cut: String,
    /// Random: share of each user's rows for validation.
    #[arg(long, default_value_t = 0.1)]
    pub valid_share: f64,
    /// Random: share of each user's rows for test.
    #[arg(long, default_value_t = 0.2)]
    pub test_share: f64,
    /// Random: split seed (also the root seed of the views drawn below).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also draw and store a sampled 1+N view per stage with this many negatives (0 = none).
    #[arg(long, default_value_t = 0)]
    pub sampled: usize,
    /// Also draw and store closed-set random candidate lists of this size per stage, target
    /// guaranteed, shuffled (0 = none; LLMRank uses 20).
    #[arg(long, default_value_t = 0)]
    pub candidates: usize,
    /// Folder of processed datasets (default: $QUADREC_CACHE/datasets).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Folder of stored splits (default: $QUADREC_CACHE/splits).
    #[arg(long)]
    pub root: Option<PathBuf>,
}

fn cut(s: &str, name: &str) -> anyhow::Result<Cut> {
    if let Some(q) = s.strip_prefix('q') {
        return Ok(Cut::Quantile(
            q.parse().map_err(|_| anyhow::anyhow!("--{name}: bad quantile `{s}`"))?,
        ));
    }
    match s.parse::<i64>() {
        Ok(t) => Ok(Cut::Time(t)),
        Err(_) => bail!("--{name}: expected a Unix time or `q<quantile>`, got `{s}`"),
    }
}

/// Run the split command.
pub fn run(a: SplitArgs) -> anyhow::Result<ExitCode> {
    let dir = super::data::resolve_dataset(&a.dataset, a.data_root.as_deref())?;
    let d = store::load(&dir)?;
    let spec = match a.protocol.as_str() {
        "loo" => SplitSpec::Loo,
        "temporal" => SplitSpec::Temporal {
            valid: a.valid_cut.as_deref().map(|v| cut(v, "valid-cut")).transpose()?,
            test: cut(&a.test_cut, "test-cut")?,
        },
        _ => SplitSpec::Random { valid: a.valid_share, test: a.test_share, seed: a.seed },
    };
    let split = Split::make(&d, &spec)?;
    let root = a.root.unwrap_or_else(quadrec_split::default_root);
    let out = split.save(&d, &root)?;
    let m = &split.meta;
    println!("split {} of {}", m.id(), d.id);
    println!("folder: {}", out.display());
    println!("fingerprint: {}", m.fingerprint);
    println!(
        "train / valid / test rows: {} / {} / {} ({} test users)",
        m.n_train, m.n_valid, m.n_test, m.n_test_users
    );
    if let Some((v, t)) = m.cut_times {
        println!("cut times: valid {v:?}, test {t}");
    }
    println!(
        "leakage: {:.6} mean share of training rows after the test row; {:.4} of test rows have one",
        m.leakage.mean_share_train_after_test, m.leakage.share_tests_with_leak
    );
    if a.sampled > 0 || a.candidates > 0 {
        let (_, held) = split.into_parts(&d);
        let views = out.join("views");
        for stage in [Stage::Valid, Stage::Test] {
            if a.sampled > 0 {
                let v = SampledView::draw(&held, stage, a.sampled, Seed::new(a.seed))?;
                let p = save_list_view(&views, &v.meta, &v.rows)?;
                println!("view {} -> {}", v.meta.protocol_id, p.display());
            }
            if a.candidates > 0 {
                let v = CandidateView::build(
                    &held,
                    stage,
                    a.candidates,
                    CandidateSource::Random,
                    true,
                    Seed::new(a.seed),
                )?;
                let p = save_list_view(&views, &v.meta, &v.rows)?;
                println!("view {} -> {}", v.meta.protocol_id, p.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
