//! `quadrec export`: the exact data a suite evaluates on, for other toolkits. For every dataset
//! x protocol of a suite it writes
//!
//! - `recbole/<name>/<name>.{train,valid,test}.inter` + `<name>.item`: RecBole atomic files for
//!   `benchmark_filename: [train, valid, test]` (raw ids as tokens, so RecBole's own remapping
//!   is irrelevant), the same rows quadrec trains and evaluates on;
//! - `trec/{valid,test}.qrels`: the held-out targets as TREC qrels (dense ids, as in every TREC
//!   file quadrec writes), and `ids/{users,items}.tsv` mapping dense ids to raw ids;
//! - `trec/<view>.candidates`: for each list view, every user's candidate list in TREC run
//!   syntax (`user Q0 item position score view`, score = list length - position + 1): the lists
//!   another toolkit must re-rank to be comparable; `trec/<view>.pointwise.tsv` for pointwise
//!   views (`user item label`);
//! - `EXPORT.json`: dataset hash, split fingerprint, view hashes and user samples, and the sha256
//!   of every file written.
//!
//! Everything is written into a temporary sibling folder and renamed into place at the end, so
//! a failure leaves nothing partial behind; an existing target folder is refused.

use crate::prepare::{load_dataset, prepare};
use crate::prepared::ViewKind;
use crate::suite::Suite;
use anyhow::Context;
use quadrec_method::MethodEntry;
use quadrec_split::{Split, Stage};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What one export wrote.
#[derive(Clone, Debug)]
pub struct ExportSummary {
    /// One folder per dataset x protocol.
    pub folders: Vec<PathBuf>,
    /// Files written (all folders).
    pub files: usize,
}

fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> anyhow::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    quadrec_core::fsx::write_atomic_with(path, |f| {
        let mut w = std::io::BufWriter::new(f);
        for l in lines {
            writeln!(w, "{l}")?;
        }
        w.flush()
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// RecBole tokens may not contain tabs or newlines (the atomic format is TSV).
fn token(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// Export every dataset x protocol of `suite` under `out` (which must not exist yet).
pub fn export_suite(
    suite: &Suite,
    out: &Path,
    registry: &[MethodEntry],
) -> anyhow::Result<ExportSummary> {
    if out.exists() {
        anyhow::bail!("{}: already exists; choose a new folder", out.display());
    }
    let name = out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = export_into(suite, &tmp, registry);
    match result {
        Ok(mut s) => {
            std::fs::rename(&tmp, out)
                .with_context(|| format!("moving {} to {}", tmp.display(), out.display()))?;
            s.folders =
                s.folders.iter().map(|f| out.join(f.strip_prefix(&tmp).unwrap_or(f))).collect();
            Ok(s)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

fn export_into(
    suite: &Suite,
    root: &Path,
    registry: &[MethodEntry],
) -> anyhow::Result<ExportSummary> {
    let mut summary = ExportSummary { folders: vec![], files: 0 };
    for ds in &suite.datasets {
        let d = load_dataset(&ds.id)?;
        for proto in &suite.protocols {
            let dir = root.join(format!("{}-{}", d.manifest.name, proto.split));
            let mut files: BTreeMap<String, String> = BTreeMap::new();
            let mut put = |rel: String, lines: Vec<String>| -> anyhow::Result<()> {
                let p = dir.join(&rel);
                write_lines(&p, lines.into_iter())?;
                files.insert(rel, quadrec_core::hash::sha256_file(&p)?);
                Ok(())
            };
            let prepared = prepare(&d, proto, registry)?;
            // The split again for the held-out rows with ratings and timestamps (the prepared
            // form keeps only what methods and the evaluator need).
            let split = Split::make(&d, &crate::prepare::split_spec(proto)?)?;
            let (train, held) = split.into_parts(&d);
            let rb = &d.manifest.name;
            let header = "user_id:token\titem_id:token\trating:float\ttimestamp:float".to_string();
            let row = |u: u32, i: u32, r: f32, t: i64| {
                format!("{}\t{}\t{r}\t{t}", token(d.users.raw_id(u)), token(d.items.raw_id(i)))
            };
            let train_lines = std::iter::once(header.clone())
                .chain(
                    train.interactions().iter().map(|x| row(x.user, x.item, x.rating, x.timestamp)),
                )
                .collect();
            put(format!("recbole/{rb}/{rb}.train.inter"), train_lines)?;
            for (stage, part) in [(Stage::Valid, "valid"), (Stage::Test, "test")] {
                let mut lines = vec![header.clone()];
                let mut qrels = Vec::new();
                for u in held.users(stage) {
                    for x in held.targets(stage, u) {
                        lines.push(row(x.user, x.item, x.rating, x.timestamp));
                        qrels.push(format!("{u} 0 {} 1", x.item));
                    }
                }
                put(format!("recbole/{rb}/{rb}.{part}.inter"), lines)?;
                put(format!("trec/{part}.qrels"), qrels)?;
            }
            let mut items = vec![
                "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"
                    .to_string(),
            ];
            for i in 0..d.items.len() as u32 {
                items.push(format!(
                    "{}\t{}\t{}\t{}",
                    token(d.items.raw_id(i)),
                    token(d.items.title(i)),
                    d.items.year(i).map(|y| y.to_string()).unwrap_or_default(),
                    token(&d.items.genres(i).join(" "))
                ));
            }
            put(format!("recbole/{rb}/{rb}.item"), items)?;
            put(
                "ids/users.tsv".into(),
                (0..d.users.len() as u32)
                    .map(|u| format!("{u}\t{}", token(d.users.raw_id(u))))
                    .collect(),
            )?;
            put(
                "ids/items.tsv".into(),
                (0..d.items.len() as u32)
                    .map(|i| format!("{i}\t{}", token(d.items.raw_id(i))))
                    .collect(),
            )?;
            let mut views = Vec::new();
            for v in &prepared.views {
                let safe = v.label.replace('@', "_at_");
                match v.kind {
                    ViewKind::Full => {}
                    ViewKind::Conversational => {
                        // The requests as composed (text, template, hard/soft conditions).
                        let lines = v
                            .test
                            .requests
                            .iter()
                            .map(|r| serde_json::to_string(r).expect("requests serialise"))
                            .collect();
                        put(format!("requests/{safe}.jsonl"), lines)?;
                    }
                    ViewKind::Candidates => {
                        let mut lines = Vec::new();
                        for (&ui, list) in v.test.users.iter().zip(&v.test.items) {
                            let u = prepared.test[ui].user;
                            for (r, it) in list.iter().enumerate() {
                                lines.push(format!(
                                    "{u} Q0 {it} {} {} {safe}",
                                    r + 1,
                                    list.len() - r
                                ));
                            }
                        }
                        put(format!("trec/{safe}.candidates"), lines)?;
                    }
                    ViewKind::Pointwise => {
                        let mut lines = vec!["user\titem\tlabel".to_string()];
                        for ((&ui, its), lbs) in
                            v.test.users.iter().zip(&v.test.items).zip(&v.test.labels)
                        {
                            let u = prepared.test[ui].user;
                            for (it, l) in its.iter().zip(lbs) {
                                lines.push(format!("{u}\t{it}\t{}", u8::from(*l)));
                            }
                        }
                        put(format!("trec/{safe}.pointwise.tsv"), lines)?;
                    }
                }
                views.push(serde_json::json!({
                    "label": v.label, "params": v.params, "hash": v.hash,
                    "user_sample": v.user_sample, "test_users": v.test.users.len(),
                }));
            }
            let manifest = serde_json::json!({
                "dataset": d.manifest.name,
                "dataset_hash": prepared.dataset_hash,
                "split": prepared.split,
                "split_fingerprint": prepared.split_hash,
                "views": views,
                "files_sha256": files,
                "recbole_config": {
                    "benchmark_filename": ["train", "valid", "test"],
                    "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id",
                    "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
                },
            });
            let n_files = files.len() + 1;
            quadrec_core::fsx::write_atomic(
                &dir.join("EXPORT.json"),
                serde_json::to_string_pretty(&manifest).expect("json").as_bytes(),
            )?;
            summary.files += n_files;
            summary.folders.push(dir);
        }
    }
    Ok(summary)
}
