//! Result records of quadrec runs, and the leaderboard report rendered from them.
//!
//! The runner appends one [`record::CellRecord`] per finished (or failed) cell to
//! `records.jsonl`, with per-user metric values in a Parquet file beside it. Every table and
//! plot is rendered from these records, never written by hand.

pub mod record;
