//! One file per method. Registry lines live in [`crate::CRM_TABLE`].

pub mod bert4rec;
pub mod bpr;
pub mod ctr;
pub mod dcnv2;
pub mod deepfm;
pub mod din;
pub mod ease;
pub mod fm;
pub mod gru4rec;
pub mod item_item;
pub mod itemknn;
pub mod lightgcn;
pub mod lr;
pub mod pop;
pub mod random;
pub mod sasrec;
