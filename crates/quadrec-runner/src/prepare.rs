//! Dataset + split protocol -> [`Prepared`]: the train-only view, validation and test users,
//! and the test views, all from `quadrec-split` (computed once, stored, hashed).

use crate::prepared::{EvalUser, PhaseView, Prepared, TestView, ViewKind};
use crate::suite::ProtocolSpec;
use anyhow::Context;
use quadrec_core::Seed;
use quadrec_data::Dataset;
use quadrec_method::{FitContext, Method, MethodEntry, UserQuery};
use quadrec_split::{
    CandidateSource, CandidateView, HeldOut, LabelRule, PointwiseView, Retriever, SampledView,
    Split, SplitSpec, Stage,
};
use std::collections::BTreeMap;
use std::path::Path;

/// Seed root of the views (sampled negatives, closed-set candidates): fixed and recorded in the
/// view metadata, so every method and every run sees the same lists.
pub const VIEW_SEED: u64 = 2024;

/// Seed of the conversational requests: the chat benchmark's default (`quadrec chat --bench`,
/// `quadrec_lmconv::bench::BenchConfig::default().seed`), so both compose the same request for a
/// user.
pub const REQUEST_SEED: u64 = 0;

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

/// The split spec of a protocol.
pub fn split_spec(p: &ProtocolSpec) -> anyhow::Result<SplitSpec> {
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

/// A pinned user sample: `n` of the test users, drawn once from the view seed (child
/// `users/<n>`), kept in ascending user order. `None` = all users.
fn sample_users(test: &[EvalUser], n: Option<usize>) -> (Vec<usize>, String) {
    let all: Vec<usize> = (0..test.len()).collect();
    let Some(n) = n else { return (all, "all".into()) };
    let mut idx = all;
    if n < idx.len() {
        use rand::seq::SliceRandom;
        let mut rng = Seed::new(VIEW_SEED).child(&format!("users/{n}")).rng();
        idx.shuffle(&mut rng);
        idx.truncate(n);
        idx.sort_unstable();
    }
    let ids: Vec<String> = idx.iter().map(|&i| test[i].user.to_string()).collect();
    let sha = quadrec_core::hash::sha256_hex(ids.join(",").as_bytes());
    (idx, format!("u{n},seed={VIEW_SEED},sha256={}", &sha[..16]))
}

/// Indices into `phase` of the given user ids (users without an entry in that phase are left out).
fn indices_of(phase: &[EvalUser], users: &[u32]) -> Vec<usize> {
    let pos: BTreeMap<u32, usize> = phase.iter().enumerate().map(|(i, u)| (u.user, i)).collect();
    users.iter().filter_map(|u| pos.get(u).copied()).collect()
}

/// One list per user of `users` from rows keyed by user. Leave-one-out views hold exactly one
/// row per user; several rows per user (other splits) are refused for list views.
fn lists_for(
    rows: impl Iterator<Item = (u32, Vec<u32>)>,
    phase: &[EvalUser],
    users: &[usize],
) -> anyhow::Result<Vec<Vec<u32>>> {
    let mut by_user = BTreeMap::new();
    for (u, c) in rows {
        if by_user.insert(u, c).is_some() {
            anyhow::bail!(
                "user {u} has several targets; candidate views of multi-target splits are evaluated per target, which the runner does not do yet"
            );
        }
    }
    users
        .iter()
        .map(|&i| {
            by_user
                .remove(&phase[i].user)
                .with_context(|| format!("no candidate list for user {}", phase[i].user))
        })
        .collect()
}

/// A fitted conventional model used as the retriever of `hard` views.
struct MethodRetriever {
    name: String,
    method: Box<dyn Method>,
    n_items: u32,
}

impl Retriever for MethodRetriever {
    fn name(&self) -> &str {
        &self.name
    }

    fn retrieve(&self, user: u32, history: &[u32], k: usize, exclude: &[u32]) -> Vec<u32> {
        let mut scores = vec![0f32; self.n_items as usize];
        if self.method.score_full(&[UserQuery { user, history }], &mut scores).is_err() {
            return Vec::new();
        }
        let mut order: Vec<u32> = (0..self.n_items)
            .filter(|i| exclude.binary_search(i).is_err() && scores[*i as usize].is_finite())
            .collect();
        // Highest score first; ties by item id, so the lists are deterministic.
        order.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
        order.truncate(k);
        order
    }
}

fn fit_retriever(
    id: &str,
    train: &quadrec_split::TrainView,
    registry: &[MethodEntry],
) -> anyhow::Result<MethodRetriever> {
    let entry = quadrec_method::find_entry(registry, id)?;
    let (_, mut method) = entry.build_with(&[])?;
    let mut ctx = FitContext::new(Seed::new(VIEW_SEED).child(&format!("views/hard/{id}")));
    method.fit(train, &mut ctx).with_context(|| format!("fitting hard-view retriever `{id}`"))?;
    Ok(MethodRetriever { name: id.to_string(), method, n_items: train.n_items() })
}

/// Build one declared view (both phases) on the prepared users.
#[allow(clippy::too_many_arguments)]
fn build_view(
    label: &str,
    p: &ProtocolSpec,
    held: &HeldOut,
    valid: &[EvalUser],
    test: &[EvalUser],
    split_hash: &str,
    retriever: Option<&MethodRetriever>,
    items: &quadrec_data::ItemTable,
) -> anyhow::Result<TestView> {
    let name = crate::suite::parse_view(label).map_err(anyhow::Error::msg)?;
    let (test_users, user_sample) = sample_users(test, name.users);
    let ids: Vec<u32> = test_users.iter().map(|&i| test[i].user).collect();
    let valid_users = indices_of(valid, &ids);
    let seed = Seed::new(VIEW_SEED);
    let phase =
        |users: Vec<usize>| PhaseView { users, items: vec![], labels: vec![], requests: vec![] };
    let (kind, params, content, test_phase, valid_phase) = match name.kind {
        "full" => (
            ViewKind::Full,
            "mask=train+valid".to_string(),
            format!("full/mask/{split_hash}"),
            phase(test_users),
            phase(valid_users),
        ),
        "sampled" => {
            let draw = |stage| {
                SampledView::draw(held, stage, p.sampled_negatives, seed.child("views/sampled"))
            };
            let (t, v) = (draw(Stage::Test)?, draw(Stage::Valid)?);
            let rows = |r: &[quadrec_split::CandidateRow]| {
                r.iter().map(|r| (r.user, r.candidates.clone())).collect::<Vec<_>>()
            };
            (
                ViewKind::Candidates,
                format!("1+{},uniform,seed={}", p.sampled_negatives, t.meta.seed),
                t.meta.fingerprint.clone(),
                PhaseView {
                    items: lists_for(rows(&t.rows).into_iter(), test, &test_users)?,
                    users: test_users,
                    labels: vec![],
                    requests: vec![],
                },
                PhaseView {
                    items: lists_for(rows(&v.rows).into_iter(), valid, &valid_users)?,
                    users: valid_users,
                    labels: vec![],
                    requests: vec![],
                },
            )
        }
        "closed" | "hard" => {
            let (source, desc, child) = match (name.kind, retriever) {
                ("hard", Some(r)) => {
                    (CandidateSource::Retriever(r), format!("retriever={}", r.name()), "views/hard")
                }
                ("hard", None) => anyhow::bail!("view `{label}` needs a fitted hard_retriever"),
                _ => (CandidateSource::Random, "random".to_string(), "views/closed"),
            };
            let build = |stage, source| {
                CandidateView::build(
                    held,
                    stage,
                    p.closed_candidates,
                    source,
                    true,
                    seed.child(child),
                )
            };
            let t = build(
                Stage::Test,
                match &source {
                    CandidateSource::Random => CandidateSource::Random,
                    CandidateSource::Retriever(r) => CandidateSource::Retriever(*r),
                },
            )?;
            let v = build(Stage::Valid, source)?;
            let rows = |r: &[quadrec_split::CandidateRow]| {
                r.iter().map(|r| (r.user, r.candidates.clone())).collect::<Vec<_>>()
            };
            (
                ViewKind::Candidates,
                format!("{},{desc},target-guaranteed,seed={}", p.closed_candidates, t.meta.seed),
                t.meta.fingerprint.clone(),
                PhaseView {
                    items: lists_for(rows(&t.rows).into_iter(), test, &test_users)?,
                    users: test_users,
                    labels: vec![],
                    requests: vec![],
                },
                PhaseView {
                    items: lists_for(rows(&v.rows).into_iter(), valid, &valid_users)?,
                    users: valid_users,
                    labels: vec![],
                    requests: vec![],
                },
            )
        }
        "pointwise" => {
            let rule = LabelRule::RatingAbove(p.pointwise_threshold);
            let build = |stage,
                         phase_users: &[EvalUser],
                         users: Vec<usize>|
             -> anyhow::Result<(PhaseView, String)> {
                let pv = PointwiseView::build(held, stage, rule, usize::MAX)?;
                let mut by_user: BTreeMap<u32, (Vec<u32>, Vec<bool>)> = BTreeMap::new();
                for r in &pv.rows {
                    let e = by_user.entry(r.user).or_default();
                    e.0.push(r.item);
                    e.1.push(r.label);
                }
                let mut items = Vec::with_capacity(users.len());
                let mut labels = Vec::with_capacity(users.len());
                for &i in &users {
                    let (it, lb) = by_user.remove(&phase_users[i].user).unwrap_or_default();
                    items.push(it);
                    labels.push(lb);
                }
                Ok((PhaseView { users, items, labels, requests: vec![] }, pv.rows_sha256))
            };
            let (t, sha) = build(Stage::Test, test, test_users)?;
            let (v, _) = build(Stage::Valid, valid, valid_users)?;
            (
                ViewKind::Pointwise,
                format!("label=rating>{}", p.pointwise_threshold),
                format!("pointwise/{split_hash}/{sha}"),
                t,
                v,
            )
        }
        "conv" => {
            // The chat benchmark's composer, templates and request seed (`quadrec chat --bench`),
            // so a user's request text is the same in both; users whose held-out item admits no
            // template (no informative genre and no year) are left out of the phase.
            let seed = Seed::new(REQUEST_SEED);
            let requests = |stage: Stage, phase_users: &[EvalUser], users: Vec<usize>| {
                let mut kept = PhaseView::default();
                for i in users {
                    let u = &phase_users[i];
                    let Some(&target) = u.targets.first() else { continue };
                    if let Some(r) = quadrec_lmconv::request::compose(
                        items,
                        u.user,
                        target,
                        &u.history,
                        seed.child(stage.name()),
                    ) {
                        kept.users.push(i);
                        kept.requests.push(r);
                    }
                }
                kept
            };
            let t = requests(Stage::Test, test, test_users);
            let v = requests(Stage::Valid, valid, valid_users);
            let all: Vec<&quadrec_lmconv::request::Request> =
                t.requests.iter().chain(&v.requests).collect();
            let sha = quadrec_core::hash::sha256_hex(
                serde_json::to_string(&all).expect("requests serialise").as_bytes(),
            );
            let templates = quadrec_lmconv::request::templates_sha256();
            (
                ViewKind::Conversational,
                format!(
                    "mask=train+valid,requests=conv/v1,templates={},seed={REQUEST_SEED}",
                    &templates[..16]
                ),
                format!("conv/{split_hash}/{sha}"),
                t,
                v,
            )
        }
        other => anyhow::bail!("view `{other}` is not run by the runner"),
    };
    let hash = quadrec_core::hash::sha256_hex(format!("{content}/{user_sample}").as_bytes());
    Ok(TestView {
        label: label.to_string(),
        params: if user_sample == "all" { params } else { format!("{params},users={user_sample}") },
        hash,
        kind,
        user_sample,
        test: test_phase,
        valid: valid_phase,
    })
}

/// Split `d` by `p` (stored under the split cache; regenerated byte-identically) and build the
/// declared views (test phase, and the validation phase on the same users).
pub fn prepare(
    d: &Dataset,
    p: &ProtocolSpec,
    registry: &[MethodEntry],
) -> anyhow::Result<Prepared> {
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
    let retriever = if p.views.iter().any(|v| v.starts_with("hard")) {
        Some(fit_retriever(&p.hard_retriever, &train, registry)?)
    } else {
        None
    };
    let views = p
        .views
        .iter()
        .map(|v| {
            build_view(v, p, &held, &valid, &test, &split_hash, retriever.as_ref(), train.items())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
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
