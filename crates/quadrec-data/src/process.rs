//! The preprocessing pipeline, in this fixed order (each step recorded in the manifest):
//! 1. implicit-feedback threshold (`rating >= t`),
//! 2. dedup of repeated (user, item) pairs (keep all / first / last by (timestamp, row)),
//! 3. iterative k-core on users and items until both hold,
//! 4. dense ids: surviving raw ids sorted numeric-aware,
//! 5. stable order: (user, timestamp, original row).

use crate::error::{DataError, Result};
use crate::ids::numeric_aware_cmp;
use crate::manifest::{Card, DedupPolicy, Manifest, PROCESSING_VERSION, ProcessSpec, TableFile};
use crate::raw::{Interner, RawData, RawInteraction};
use crate::types::{Dataset, Interaction, ItemTable, UserTable};
use quadrec_core::hash::Fingerprint;

/// Counts of rows dropped by each step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    /// By the rating threshold.
    pub threshold: u64,
    /// By dedup.
    pub duplicates: u64,
    /// By k-core.
    pub kcore: u64,
    /// k-core rounds.
    pub kcore_rounds: u32,
}

/// The dataset id fingerprint: sources, spec and processing version (not the outputs).
pub fn fingerprint(name: &str, raw: &RawData, spec: &ProcessSpec) -> String {
    let mut f = Fingerprint::new()
        .part("processing_version", PROCESSING_VERSION)
        .part("name", name)
        .part("format", &raw.format)
        .part("spec", serde_json::to_vec(spec).unwrap_or_default());
    for s in &raw.sources {
        f = f.part("source", format!("{}:{}", s.name, s.sha256));
    }
    f.finish()
}

/// Run the pipeline. The returned dataset's manifest has its table entries filled by
/// [`crate::store`] (Parquet bytes are hashed when encoded); here they are left empty.
pub fn process(name: &str, raw: RawData, spec: &ProcessSpec) -> Result<Dataset> {
    if spec.order != crate::manifest::ORDER {
        return Err(DataError::EmptyAfterProcessing(
            name.into(),
            format!("unsupported order `{}` (only `{}`)", spec.order, crate::manifest::ORDER),
        ));
    }
    let fp = fingerprint(name, &raw, spec);
    let RawData {
        format,
        sources,
        users,
        items,
        mut interactions,
        item_info,
        user_schema,
        user_info,
        side_rows_without_interactions,
    } = raw;
    let source_rows = interactions.len() as u64;
    let mut dropped = Dropped::default();

    // 1. threshold
    if let Some(t) = spec.rating_threshold {
        let before = interactions.len();
        interactions.retain(|r| r.rating >= t);
        dropped.threshold = (before - interactions.len()) as u64;
    }

    // 2. dedup
    if spec.dedup != DedupPolicy::KeepAll {
        interactions.sort_unstable_by_key(|r| (r.user, r.item, r.timestamp, r.row));
        let before = interactions.len();
        let keep_last = spec.dedup == DedupPolicy::KeepLast;
        let mut out: Vec<RawInteraction> = Vec::with_capacity(interactions.len());
        for r in interactions.drain(..) {
            match out.last_mut() {
                Some(p) if p.user == r.user && p.item == r.item => {
                    if keep_last {
                        *p = r;
                    }
                }
                _ => out.push(r),
            }
        }
        interactions = out;
        dropped.duplicates = (before - interactions.len()) as u64;
    }

    // 3. iterative k-core
    let (uc, ic) = (spec.user_core, spec.item_core);
    if uc > 1 || ic > 1 {
        let before = interactions.len();
        let mut ucount = vec![0u32; users.len()];
        let mut icount = vec![0u32; items.len()];
        loop {
            ucount.iter_mut().for_each(|c| *c = 0);
            icount.iter_mut().for_each(|c| *c = 0);
            for r in &interactions {
                ucount[r.user as usize] += 1;
                icount[r.item as usize] += 1;
            }
            let n = interactions.len();
            interactions.retain(|r| ucount[r.user as usize] >= uc && icount[r.item as usize] >= ic);
            dropped.kcore_rounds += 1;
            if interactions.len() == n {
                break;
            }
        }
        dropped.kcore = (before - interactions.len()) as u64;
    }
    if interactions.is_empty() {
        return Err(DataError::EmptyAfterProcessing(name.into(), format!("{spec:?}")));
    }

    // 4. dense ids, numeric-aware order of the surviving raw ids
    let mut upresent = vec![false; users.len()];
    let mut ipresent = vec![false; items.len()];
    for r in &interactions {
        upresent[r.user as usize] = true;
        ipresent[r.item as usize] = true;
    }
    let (umap, ukeep) = dense_ids(&users, &upresent);
    let (imap, ikeep) = dense_ids(&items, &ipresent);

    // 5. stable order (user, timestamp, row)
    let mut keyed: Vec<(u32, i64, u32, u32, f32)> = interactions
        .iter()
        .map(|r| (umap[r.user as usize], r.timestamp, r.row, imap[r.item as usize], r.rating))
        .collect();
    drop(interactions);
    keyed.sort_unstable_by_key(|k| (k.0, k.1, k.2));
    let rows: Vec<Interaction> = keyed
        .iter()
        .map(|&(user, timestamp, _, item, rating)| Interaction { user, item, rating, timestamp })
        .collect();
    drop(keyed);

    // side tables in dense order
    let mut it =
        ItemTable::with_raw_ids(ikeep.iter().map(|&k| items.name(k as u32).to_string()).collect());
    for (d, &k) in ikeep.iter().enumerate() {
        if let Some(Some(info)) = item_info.get(k) {
            it.titles[d] = info.title.clone();
            it.years[d] = info.year;
            it.genres[d] = info.genres.clone();
            it.descriptions[d] = info.description.clone();
            for (name, v) in &info.extra {
                it.extra.entry(name.clone()).or_insert_with(|| vec![None; ikeep.len()])[d] =
                    Some(v.clone());
            }
        }
    }
    let mut ut =
        UserTable::with_raw_ids(ukeep.iter().map(|&k| users.name(k as u32).to_string()).collect());
    for (c, (fname, kind)) in user_schema.iter().enumerate() {
        let col = ukeep
            .iter()
            .map(|&k| {
                user_info.get(k).and_then(|v| v.as_ref()).and_then(|v| v.get(c).cloned().flatten())
            })
            .collect();
        ut.features.push((fname.clone(), *kind, col));
    }

    let n_users = ut.len() as u64;
    let n_items = it.len() as u64;
    let card = Card {
        users: n_users,
        items: n_items,
        interactions: rows.len() as u64,
        density: rows.len() as f64 / (n_users as f64 * n_items as f64),
        time_min: rows.iter().map(|r| r.timestamp).min().unwrap_or(0),
        time_max: rows.iter().map(|r| r.timestamp).max().unwrap_or(0),
        items_with_title: it.titles.iter().filter(|t| !t.is_empty()).count() as u64,
        source_rows,
        dropped_threshold: dropped.threshold,
        dropped_duplicates: dropped.duplicates,
        dropped_kcore: dropped.kcore,
        kcore_rounds: dropped.kcore_rounds,
        side_rows_without_interactions,
    };
    let id = format!("{name}-{}", &fp[..12]);
    let empty = || TableFile { file: String::new(), sha256: String::new(), rows: 0 };
    let manifest = Manifest {
        id: id.clone(),
        name: name.to_string(),
        format,
        processing_version: PROCESSING_VERSION.to_string(),
        fingerprint: fp,
        sources,
        spec: spec.clone(),
        interactions: empty(),
        items: empty(),
        users: empty(),
        card,
    };
    Ok(Dataset { id, interactions: rows, items: it, users: ut, manifest })
}

/// Dense ids for the present interned ids: (interned -> dense or u32::MAX, dense -> interned).
fn dense_ids(names: &Interner, present: &[bool]) -> (Vec<u32>, Vec<usize>) {
    let mut keep: Vec<usize> = (0..present.len()).filter(|&i| present[i]).collect();
    keep.sort_by(|&a, &b| numeric_aware_cmp(names.name(a as u32), names.name(b as u32)));
    let mut map = vec![u32::MAX; present.len()];
    for (d, &k) in keep.iter().enumerate() {
        map[k] = d as u32;
    }
    (map, keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn raw(rows: &[(&str, &str, f32, i64)]) -> RawData {
        let mut r = RawData::new("test");
        for (k, &(u, i, rt, t)) in rows.iter().enumerate() {
            r.push(Path::new("x"), k as u64 + 1, u, i, rt, t).unwrap();
        }
        r
    }

    #[test]
    fn ids_are_numeric_aware_and_order_is_user_time_row() {
        let r =
            raw(&[("10", "b", 5.0, 3), ("2", "a", 4.0, 7), ("2", "c", 3.0, 7), ("2", "b", 2.0, 1)]);
        let d = process("t", r, &ProcessSpec::default()).unwrap();
        assert_eq!(d.users.raw_ids, vec!["2", "10"]);
        assert_eq!(d.items.raw_ids, vec!["a", "b", "c"]);
        let got: Vec<(u32, u32, i64)> =
            d.interactions.iter().map(|x| (x.user, x.item, x.timestamp)).collect();
        // user "2": (b,1), then tie at t=7 broken by original row: a (row 1) before c (row 2).
        assert_eq!(got, vec![(0, 1, 1), (0, 0, 7), (0, 2, 7), (1, 1, 3)]);
    }

    #[test]
    fn threshold_dedup_and_kcore() {
        // u1 rates a twice (t=1 r=5, t=2 r=4); u3 has one row and falls to the 2-core.
        let rows = [
            ("1", "a", 5.0, 1),
            ("1", "a", 4.0, 2),
            ("1", "b", 4.0, 3),
            ("2", "a", 4.0, 1),
            ("2", "b", 5.0, 2),
            ("2", "c", 1.0, 3),
            ("3", "a", 5.0, 9),
        ];
        let spec = ProcessSpec {
            rating_threshold: Some(4.0),
            dedup: DedupPolicy::KeepLast,
            user_core: 2,
            item_core: 2,
            ..Default::default()
        };
        let d = process("t", raw(&rows), &spec).unwrap();
        assert_eq!(d.manifest.card.dropped_threshold, 1); // (2,c,1.0)
        assert_eq!(d.manifest.card.dropped_duplicates, 1);
        assert_eq!(d.manifest.card.dropped_kcore, 1); // user 3
        let got: Vec<(u32, u32, f32)> =
            d.interactions.iter().map(|x| (x.user, x.item, x.rating)).collect();
        assert_eq!(got, vec![(0, 0, 4.0), (0, 1, 4.0), (1, 0, 4.0), (1, 1, 5.0)]);
        let first = process(
            "t",
            raw(&rows),
            &ProcessSpec { dedup: DedupPolicy::KeepFirst, ..spec.clone() },
        )
        .unwrap();
        assert_eq!(first.interactions[0].rating, 5.0);
    }

    #[test]
    fn kcore_is_iterative() {
        // Removing item z (1 row) leaves user 3 with one row, which must then go too, which
        // leaves item y with one row, which must go as well.
        let rows = [
            ("1", "x", 1.0, 1),
            ("1", "w", 1.0, 2),
            ("2", "x", 1.0, 1),
            ("2", "w", 1.0, 2),
            ("3", "y", 1.0, 1),
            ("3", "z", 1.0, 2),
            ("4", "y", 1.0, 1),
        ];
        let spec = ProcessSpec { user_core: 2, item_core: 2, ..Default::default() };
        let d = process("t", raw(&rows), &spec).unwrap();
        assert_eq!(d.users.raw_ids, vec!["1", "2"]);
        assert_eq!(d.items.raw_ids, vec!["w", "x"]);
        assert!(d.manifest.card.kcore_rounds >= 3);
    }
}
