//! TREC run and qrels export, user = query, so that external tools (ranx, pytrec_eval,
//! trec_eval) can recompute the ranking metrics from our concrete top lists.
//!
//! Run lines: `<user> Q0 <item> <rank> <score> <run_name>` (rank 1-based, best first; ids are the
//! dense ids). Qrels lines: `<user> 0 <item> 1`. Lists without scores (generated lists) get the
//! score `len - rank + 1`. External tools break score ties their own way (trec_eval by doc id),
//! so their numbers match ours exactly when the exported scores are tie-free; with ties ours are
//! expectations over random tie order (see [`crate::ranking`]).

use std::io::Write;
use std::path::Path;

use crate::error::{EvalError, Result};
use crate::results::TopLists;

/// Write a TREC run file (atomic).
pub fn write_trec_run(path: &Path, top: &TopLists, run_name: &str) -> Result<()> {
    if run_name.is_empty() || run_name.contains(char::is_whitespace) {
        return Err(EvalError::BadArgument {
            what: "write_trec_run",
            reason: format!("run name `{run_name}` must be one non-empty word"),
        });
    }
    quadrec_core::fsx::write_atomic_with(path, |f| {
        let mut w = std::io::BufWriter::new(f);
        for i in 0..top.len() {
            let (u, items, scores) = top.get(i);
            for (r, (&it, &s)) in items.iter().zip(scores).enumerate() {
                if s.is_nan() {
                    writeln!(w, "{u} Q0 {it} {} {} {run_name}", r + 1, items.len() - r)?;
                } else {
                    writeln!(w, "{u} Q0 {it} {} {s:?} {run_name}", r + 1)?;
                }
            }
        }
        w.flush()
    })
    .map_err(|source| EvalError::Io { path: path.to_path_buf(), source })
}

/// Write a TREC qrels file (atomic) from (user, relevant items).
pub fn write_trec_qrels<'a>(
    path: &Path,
    qrels: impl IntoIterator<Item = (u32, &'a [u32])>,
) -> Result<()> {
    let qrels: Vec<(u32, &[u32])> = qrels.into_iter().collect();
    quadrec_core::fsx::write_atomic_with(path, |f| {
        let mut w = std::io::BufWriter::new(f);
        for (u, items) in &qrels {
            for it in *items {
                writeln!(w, "{u} 0 {it} 1")?;
            }
        }
        w.flush()
    })
    .map_err(|source| EvalError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let d = tempfile::tempdir().unwrap();
        let mut t = TopLists::new();
        t.push(3, &[(7, 0.5), (2, 0.25)]);
        t.push(4, &[(1, f32::NAN), (0, f32::NAN)]);
        write_trec_run(&d.path().join("run"), &t, "m").unwrap();
        let s = std::fs::read_to_string(d.path().join("run")).unwrap();
        assert_eq!(s, "3 Q0 7 1 0.5 m\n3 Q0 2 2 0.25 m\n4 Q0 1 1 2 m\n4 Q0 0 2 1 m\n");
        write_trec_qrels(&d.path().join("qrels"), [(3u32, &[7u32, 9][..])]).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("qrels")).unwrap(), "3 0 7 1\n3 0 9 1\n");
        assert!(write_trec_run(&d.path().join("x"), &t, "a b").is_err());
    }
}
