//! quadrec-split: pinned splits and evaluation views.
//!
//! - [`SplitSpec`]: leave-one-out by time, global temporal (cut points), random ratio (seeded).
//! - [`Split`]: one [`Part`] per interaction, fingerprinted, stored as Parquet
//!   (byte-identical on regeneration), with a [`Leakage`] figure.
//! - [`Split::into_parts`] gives the type-separated pair: [`TrainView`] (train rows only, what
//!   `Method::fit` receives) and [`HeldOut`] (valid/test targets and stage histories, for the
//!   runner and the evaluator only).
//! - [`views`]: full ranking (seen masks), sampled 1+N, closed-set candidates, pointwise CTR.

mod error;
mod heldout;
mod spec;
mod split;
mod train_view;
pub mod views;

pub use error::SplitError;
pub use heldout::{HeldOut, Stage};
pub use spec::{Cut, SPLIT_VERSION, SplitSpec};
pub use split::{
    Leakage, Part, SPLIT_FILE, SPLIT_META_FILE, Split, SplitMeta, default_root, leakage,
};
pub use train_view::TrainView;
pub use views::{
    CandidateRow, CandidateSource, CandidateView, FullRankingView, LabelRule, PointwiseRow,
    PointwiseView, Retriever, SampledView,
};
