//! quadrec-split: pinned splits and evaluation views.
//!
//! A method's training step receives a [`TrainView`], which holds train rows only; valid/test
//! rows live in `HeldOut`, which only the runner and the evaluator see.

mod train_view;

pub use train_view::TrainView;
