//! Dataset + split protocol -> [`Prepared`]: the train-only view, validation and test users,
//! and the test views, all from `quadrec-split` (computed once, stored, hashed).

use crate::prepared::{EvalUser, Prepared, TestView, ViewKind};
use crate::suite::ProtocolSpec;
use anyhow::Context;
use quadrec_core::Seed;
use quadrec_data::Dataset;
use quadrec_split::{
    CandidateSource, CandidateView, HeldOut, SampledView, Split, SplitSpec, Stage,
};
use std::path::Path;

/// Seed root of the views (sampled negatives, closed-set candidates): fixed and recorded in the
/// view metadata, so every method and every run sees the same lists.
pub const VIEW_SEED: u64 = 2024;

/// Load a dataset by suite id: a built-in name (`ml-100k`, fetched and verified), a folder
/// holding a processed dataset (`quadrec data import` output), or `<format>:<folder>` to read
/// native files with one of the loaders of `quadrec_data::loaders::LOADERS` (default
/// preprocessing spec), e.g. `recbole:path/to/folder`.
pub fn load_dataset(id: &str) -> anyhow::Result<Dataset> {
    let p = Path::new(id);
    if p.join("manifest.json").is_file() {
        return quadrec_data::store::load(p)
            .with_context(|| format!("loading dataset folder {id}"));
    }
    if let Some((format, folder)) = id.split_once(':') {
        let entry =
            quadrec_data::loaders::LOADERS.iter().find(|l| l.id == format).with_context(|| {
                let valid: Vec<&str> =
                    quadrec_data::loaders::LOADERS.iter().map(|l| l.id).collect();
                format!("dataset `{id}`: unknown format `{format}`; formats: {}", valid.join(", "))
            })?;
        let dir = Path::new(folder);
        let raw =
            (entry.load)(dir, entry.side_ids).with_context(|| format!("reading dataset `{id}`"))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| folder.to_string());
        let d = quadrec_data::process::process(&name, raw, &quadrec_data::ProcessSpec::default())?;
        return save_or_reuse(d);
    }
    let b = quadrec_data::builtin::builtin(id)?;
    let raw = b
        .fetch_raw(&quadrec_assets::FetchOptions::from_env())
        .with_context(|| format!("fetching built-in dataset `{id}`"))?;
    let d = quadrec_data::process::process(b.name, raw, &(b.spec)())?;
    save_or_reuse(d)
}

/// Save a processed dataset into the store; if a concurrent process (a parallel shard) saved
/// the same dataset first, reuse its verified copy.
fn save_or_reuse(d: Dataset) -> anyhow::Result<Dataset> {
    let root = quadrec_data::store::default_root();
    let dir = root.join(&d.id);
    match quadrec_data::store::save(d, &root) {
        Ok(d) => Ok(d),
        Err(e) if dir.join("manifest.json").is_file() => quadrec_data::store::load(&dir)
            .with_context(|| {
                format!(
                    "saving the dataset failed ({e}) and the copy in {} does not load",
                    dir.display()
                )
            }),
        Err(e) => Err(e.into()),
    }
}

/// sha256 of a dataset's manifest (the dataset part of every cell id).
pub fn dataset_hash(d: &Dataset) -> String {
    quadrec_core::hash::sha256_hex(&serde_json::to_vec(&d.manifest).expect("manifest serialises"))
}

fn split_spec(p: &ProtocolSpec) -> anyhow::Result<SplitSpec> {
    Ok(match p.split.as_str() {
        "loo" => SplitSpec::Loo,
        "temporal" => SplitSpec::Temporal {
            valid: Some(quadrec_split::Cut::Quantile(0.8)),
            test: quadrec_split::Cut::Quantile(0.9),
        },
        "ratio" => SplitSpec::Random { valid: 0.1, test: 0.1, seed: 0 },
        other => anyhow::bail!("unknown split `{other}`"),
    })
}

fn users_at(held: &HeldOut, stage: Stage) -> Vec<EvalUser> {
    held.users(stage)
        .into_iter()
        .map(|u| {
            let mut targets: Vec<u32> = held.targets(stage, u).iter().map(|r| r.item).collect();
            targets.sort_unstable();
            targets.dedup();
            EvalUser {
                user: u,
                targets,
                seen: held.seen(stage, u),
                history: held.history(stage, u).to_vec(),
            }
        })
        .collect()
}

/// Candidate lists aligned with `test`: one list per user. Views hold one row per (user,
/// target); with leave-one-out there is exactly one target per user.
fn align(rows: &[quadrec_split::CandidateRow], test: &[EvalUser]) -> anyhow::Result<Vec<Vec<u32>>> {
    let mut by_user = std::collections::BTreeMap::new();
    for r in rows {
        if by_user.insert(r.user, r.candidates.clone()).is_some() {
            anyhow::bail!(
                "user {} has several targets; candidate views of multi-target splits are evaluated per target, which the runner does not do yet",
                r.user
            );
        }
    }
    test.iter()
        .map(|u| {
            by_user
                .get(&u.user)
                .cloned()
                .with_context(|| format!("no candidate list for test user {}", u.user))
        })
        .collect()
}

/// Split `d` by `p` (stored under the split cache; regenerated byte-identically) and build the
/// declared test views.
pub fn prepare(d: &Dataset, p: &ProtocolSpec) -> anyhow::Result<Prepared> {
    let spec = split_spec(p)?;
    let split = Split::make(d, &spec)?;
    // A concurrent shard may have stored the same split a moment earlier: the second attempt
    // then finds it and checks that its metadata is identical.
    if split.save(d, &quadrec_split::default_root()).is_err() {
        split.save(d, &quadrec_split::default_root())?;
    }
    let split_hash = split.meta.fingerprint.clone();
    let (train, held) = split.into_parts(d);
    let valid = users_at(&held, Stage::Valid);
    let test = users_at(&held, Stage::Test);
    let popularity = train.item_popularity().to_vec();
    let mut views = Vec::new();
    for v in &p.views {
        match v.as_str() {
            "full" => views.push(TestView {
                label: "full".into(),
                params: "mask=train+valid".into(),
                hash: quadrec_core::hash::sha256_hex(format!("full/mask/{split_hash}").as_bytes()),
                kind: ViewKind::Full,
                candidates: vec![],
            }),
            "sampled" => {
                let sv = SampledView::draw(
                    &held,
                    Stage::Test,
                    p.sampled_negatives,
                    Seed::new(VIEW_SEED).child("views/sampled"),
                )?;
                views.push(TestView {
                    label: "sampled".into(),
                    params: format!("1+{},uniform,seed={}", p.sampled_negatives, sv.meta.seed),
                    hash: sv.meta.fingerprint.clone(),
                    kind: ViewKind::Candidates,
                    candidates: align(&sv.rows, &test)?,
                });
            }
            "closed" => {
                let cv = CandidateView::build(
                    &held,
                    Stage::Test,
                    p.closed_candidates,
                    CandidateSource::Random,
                    true,
                    Seed::new(VIEW_SEED).child("views/closed"),
                )?;
                views.push(TestView {
                    label: "closed".into(),
                    params: format!(
                        "{},random,target-guaranteed,seed={}",
                        p.closed_candidates, cv.meta.seed
                    ),
                    hash: cv.meta.fingerprint.clone(),
                    kind: ViewKind::Candidates,
                    candidates: align(&cv.rows, &test)?,
                });
            }
            other => anyhow::bail!("view `{other}` is not run by the runner yet"),
        }
    }
    Ok(Prepared {
        dataset: d.manifest.name.clone(),
        dataset_hash: dataset_hash(d),
        split: spec.name().to_string(),
        split_hash,
        train,
        valid,
        test,
        views,
        popularity,
    })
}
