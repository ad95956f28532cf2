//! Command groups of the `quadrec` binary, one module each.

pub mod chat;
pub mod compare;
pub mod data;
pub mod models;
pub mod run;
pub mod split;
