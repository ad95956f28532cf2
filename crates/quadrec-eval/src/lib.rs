//! The evaluation kernel of quadrec: one evaluator used by every method under every protocol,
//! so that leaderboard numbers are comparable (see `../shared/PROTOCOL.md`).
//!
//! - [`full`]: full ranking over the whole catalogue, in blocks of users scored by a callback,
//!   seen items masked, rows ranked in parallel with partial top-K selection.
//! - [`candidates`]: ranking within per-user candidate lists (sampled 1+N, closed-set).
//! - [`pointwise`]: labelled (user, item, label, probability) rows: AUC, GAUC, LogLoss, accuracy.
//! - [`generation`]: grounded outputs of generative recommenders: valid/hallucination/duplicate
//!   rates, and ranking metrics of the generated list.
//! - [`metrics`]: the explicit metric table (`ndcg@10`, `mrr`, `auc`, ...), one file per metric.
//! - [`ranking`]: the tie policy and the per-user ranking summary every ranking metric reads.
//! - [`results`]: per-user values and summaries, Parquet read/write (atomic).
//! - [`stats`]: bootstrap CI, paired bootstrap / permutation tests, Wilcoxon, Holm, seeds.
//! - [`fairness`]: metric gaps between user groups, long-tail item sets.
//! - [`trec`]: TREC run and qrels export (user = query) for ranx / pytrec_eval / trec_eval.
//!
//! # Tie policy (the only one)
//! Tied scores are broken uniformly at random. Every accuracy metric of a ranking reports its
//! EXACT EXPECTATION over that random tie-breaking (computed in closed form from the tie groups,
//! never by sampling), so a constant scorer gets exactly the random-expected value and can never
//! beat random. Concrete top-K lists (exposure metrics, TREC export) are one draw of the same
//! random order, seeded by (`tie_seed`, user, item): the draw depends on item ids, never on the
//! position of an item in a candidate list. See [`ranking`].

mod aggregate;
pub mod candidates;
mod error;
pub mod fairness;
pub mod full;
pub mod generation;
pub mod metrics;
pub mod pointwise;
pub mod ranking;
pub mod results;
pub mod stats;
pub mod trec;

pub use candidates::{CandidateQuery, evaluate_candidates};
pub use error::{EvalError, Result};
pub use fairness::{GapSpec, GroupGap, LongTail, group_gap};
pub use full::{FullRankingOptions, FullRankingQuery, evaluate_full};
pub use generation::{GenerationUser, evaluate_generation};
pub use metrics::{
    METRICS, MetricContext, MetricDef, MetricKind, MetricSpec, parse_metric, parse_metrics,
};
pub use pointwise::{PointwiseRow, evaluate_pointwise};
pub use ranking::{TIE_POLICY, TieGroup, UserRanking};
pub use results::{EvalFlags, EvalReport, PerUserTable, TopLists};
