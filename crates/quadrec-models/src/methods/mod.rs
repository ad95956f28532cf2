//! One file per method. Registry lines live in [`crate::CRM_TABLE`].

pub mod bpr;
pub mod ease;
pub mod gru4rec;
pub mod item_item;
pub mod itemknn;
pub mod lightgcn;
pub mod pop;
pub mod random;
pub mod sasrec;
