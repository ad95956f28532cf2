//! Glue for the ML-100K quality test and the RecBole benchmark: leave-one-out-by-time split of
//! a processed [`quadrec_data::Dataset`], the validation probe (NDCG@10 over full ranking via
//! quadrec-eval), test evaluation, and export of the same split as RecBole atomic files.
//!
//! The split here is the standard LOO-by-time rule (per user, in (timestamp, row) order: last
//! item = test, second-to-last = valid, the rest = train; users with fewer than 3 interactions
//! keep everything in train). It is used by `examples/crm_ml100k.rs` and the ignored quality
//! test; the runner's pinned splits come from quadrec-split.

use crate::common::seen_sets;
use quadrec_data::{Dataset, Interaction};
use quadrec_eval::metrics::{MetricContext, parse_metrics};
use quadrec_eval::{FullRankingOptions, FullRankingQuery, evaluate_full};
use quadrec_method::{Method, TrainView, UserQuery};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// A leave-one-out split.
pub struct Loo {
    /// Train rows only.
    pub train: TrainView,
    /// Per user: train items in time order (validation-time history).
    pub train_hist: Vec<Vec<u32>>,
    /// Per user: validation target.
    pub valid: Vec<Option<u32>>,
    /// Per user: test target.
    pub test: Vec<Option<u32>>,
    /// Raw train rows (for export).
    pub train_rows: Vec<Interaction>,
    /// Raw valid rows.
    pub valid_rows: Vec<Interaction>,
    /// Raw test rows.
    pub test_rows: Vec<Interaction>,
}

impl Loo {
    /// Split `ds` (interactions sorted by (user, timestamp, row)).
    pub fn split(ds: &Dataset) -> Loo {
        let nu = ds.n_users() as usize;
        let mut by_user: Vec<Vec<Interaction>> = vec![Vec::new(); nu];
        for r in &ds.interactions {
            by_user[r.user as usize].push(*r);
        }
        let (mut tr, mut va, mut te) = (Vec::new(), Vec::new(), Vec::new());
        let mut valid = vec![None; nu];
        let mut test = vec![None; nu];
        for (u, rows) in by_user.iter().enumerate() {
            if rows.len() < 3 {
                tr.extend_from_slice(rows);
                continue;
            }
            let n = rows.len();
            tr.extend_from_slice(&rows[..n - 2]);
            va.push(rows[n - 2]);
            te.push(rows[n - 1]);
            valid[u] = Some(rows[n - 2].item);
            test[u] = Some(rows[n - 1].item);
        }
        let train = TrainView::from_interactions(
            ds.n_users(),
            ds.n_items(),
            tr.clone(),
            Arc::new(ds.items.clone()),
            Arc::new(ds.users.clone()),
        );
        let train_hist = (0..ds.n_users()).map(|u| train.user_items(u).to_vec()).collect();
        Loo { train, train_hist, valid, test, train_rows: tr, valid_rows: va, test_rows: te }
    }

    /// NDCG@10 and HR@10 (full ranking, seen items masked) on the validation (`test = false`,
    /// history = train) or test targets (history = train + valid).
    pub fn evaluate(&self, m: &dyn Method, test: bool) -> (f64, f64) {
        let nu = self.train.n_users() as usize;
        let hist: Vec<Vec<u32>> = (0..nu)
            .map(|u| {
                let mut h = self.train_hist[u].clone();
                if test {
                    h.extend(self.valid[u]);
                }
                h
            })
            .collect();
        let seen: Vec<Vec<u32>> = hist
            .iter()
            .map(|h| {
                let mut s = h.clone();
                s.sort_unstable();
                s.dedup();
                s
            })
            .collect();
        let targets: Vec<(u32, [u32; 1])> = (0..nu)
            .filter_map(|u| {
                let t = if test { self.test[u] } else { self.valid[u] };
                t.map(|t| (u as u32, [t]))
            })
            .collect();
        let queries: Vec<FullRankingQuery> = targets
            .iter()
            .map(|(u, t)| FullRankingQuery { user: *u, targets: t, seen: &seen[*u as usize] })
            .collect();
        let metrics = parse_metrics(&["ndcg@10", "hr@10"]).expect("known metrics");
        let ctx =
            MetricContext { n_items: self.train.n_items(), item_popularity: None, long_tail: None };
        let rep = evaluate_full(
            &queries,
            self.train.n_items(),
            &metrics,
            &ctx,
            &FullRankingOptions::default(),
            |users, out| {
                let qs: Vec<UserQuery> = users
                    .iter()
                    .map(|&u| UserQuery { user: u, history: &hist[u as usize] })
                    .collect();
                m.score_full(&qs, out)
            },
        )
        .expect("evaluation");
        (rep.summary[0].value, rep.summary[1].value)
    }

    /// Write RecBole atomic files `<dir>/<name>/<name>.{train,valid,test}.inter` (dense ids as
    /// tokens) for `benchmark_filename: [train, valid, test]`.
    pub fn export_recbole(&self, dir: &Path, name: &str) -> std::io::Result<()> {
        let d = dir.join(name);
        std::fs::create_dir_all(&d)?;
        for (part, rows) in
            [("train", &self.train_rows), ("valid", &self.valid_rows), ("test", &self.test_rows)]
        {
            let path = d.join(format!("{name}.{part}.inter"));
            quadrec_core::fsx::write_atomic_with(&path, |f| {
                let mut w = std::io::BufWriter::new(f);
                writeln!(w, "user_id:token\titem_id:token\trating:float\ttimestamp:float")?;
                for r in rows.iter() {
                    writeln!(w, "{}\t{}\t{}\t{}", r.user, r.item, r.rating, r.timestamp)?;
                }
                w.flush()
            })?;
        }
        Ok(())
    }

    /// Write all rows (train, valid, test) as one atomic file `<dir>/<name>/<name>.inter`, in
    /// (user, timestamp, row) order, for RecBole's own `LS: valid_and_test` split.
    pub fn export_recbole_full(&self, dir: &Path, name: &str) -> std::io::Result<()> {
        let d = dir.join(name);
        std::fs::create_dir_all(&d)?;
        let mut rows: Vec<Interaction> = self
            .train_rows
            .iter()
            .chain(&self.valid_rows)
            .chain(&self.test_rows)
            .copied()
            .collect();
        // Stable: keeps (user, timestamp, row) order within equal keys.
        rows.sort_by_key(|r| (r.user, r.timestamp));
        let path = d.join(format!("{name}.inter"));
        quadrec_core::fsx::write_atomic_with(&path, |f| {
            let mut w = std::io::BufWriter::new(f);
            writeln!(w, "user_id:token\titem_id:token\trating:float\ttimestamp:float")?;
            for r in &rows {
                writeln!(w, "{}\t{}\t{}\t{}", r.user, r.item, r.rating, r.timestamp)?;
            }
            w.flush()
        })
    }

    /// Train users' seen sets (exposed for diagnostics).
    pub fn seen(&self) -> Vec<Vec<u32>> {
        seen_sets(&self.train)
    }
}

/// Load ML-100K through quadrec-data's built-in table (pinned RecBole wheel; set
/// `QUADREC_WHEEL_DIR` to a folder holding it to avoid the download).
pub fn load_ml100k() -> Result<Dataset, quadrec_data::DataError> {
    let b = quadrec_data::builtin::builtin("ml-100k")?;
    let raw = b.fetch_raw(&quadrec_assets::FetchOptions::from_env())?;
    quadrec_data::process::process("ml-100k", raw, &(b.spec)())
}
