//! Built-in datasets that quadrec obtains by itself (no manual step): explicit table
//! [`BUILTIN`]. Today only MovieLens-100K, from the pinned `recbole==1.2.1` wheel.

use crate::error::{DataError, Result};
use crate::loaders::recbole;
use crate::manifest::ProcessSpec;
use crate::raw::{RawData, SideIds};
use quadrec_assets::{Asset, FetchOptions};

/// A dataset quadrec can fetch on its own.
pub struct BuiltinDataset {
    /// Dataset name (`quadrec data fetch <name>`).
    pub name: &'static str,
    /// The pinned asset holding its files.
    pub asset: &'static Asset,
    /// Interaction, item and user members inside the asset.
    pub members: [&'static str; 3],
    /// Default preprocessing spec.
    pub spec: fn() -> ProcessSpec,
}

/// ML-100K's default spec: keep every rating (explicit feedback; the CTR view applies its own
/// label rule), keep-first dedup (there are no repeats), no k-core (every user has >= 20
/// ratings already), so the processed dataset is exactly the published 100,000 ratings.
fn ml100k_spec() -> ProcessSpec {
    ProcessSpec::default()
}

/// All built-in datasets.
pub const BUILTIN: &[BuiltinDataset] = &[BuiltinDataset {
    name: "ml-100k",
    asset: &quadrec_assets::ML_100K,
    members: [
        "recbole/dataset_example/ml-100k/ml-100k.inter",
        "recbole/dataset_example/ml-100k/ml-100k.item",
        "recbole/dataset_example/ml-100k/ml-100k.user",
    ],
    spec: ml100k_spec,
}];

/// Look up a built-in dataset.
pub fn builtin(name: &str) -> Result<&'static BuiltinDataset> {
    BUILTIN.iter().find(|b| b.name == name).ok_or_else(|| {
        DataError::UnknownFormat(
            name.to_string(),
            BUILTIN.iter().map(|b| b.name).collect::<Vec<_>>().join(", "),
        )
    })
}

impl BuiltinDataset {
    /// Fetch (or reuse from the cache) the verified asset and read it. The ML-100K side files
    /// cover exactly the rated users and items, so unknown side ids are an error here.
    pub fn fetch_raw(&self, opts: &FetchOptions) -> Result<RawData> {
        let dir = quadrec_assets::fetch_with(self.asset, opts).map_err(|e| DataError::Asset {
            asset: self.asset.id.to_string(),
            source: Box::new(e),
        })?;
        let [i, t, u] = self.members;
        recbole::load_files(
            &dir.path(i),
            Some(&dir.path(t)),
            Some(&dir.path(u)),
            SideIds::Strict,
            self.name,
        )
    }
}
