//! Native-format loaders, one file each, listed in the explicit [`LOADERS`] table.
//! Each loader reads a folder (or, for `generic`, a TOML file) into [`RawData`].

pub mod amazon2014;
pub mod amazon2018;
pub mod amazon2023;
pub mod amazon_common;
pub mod bookcrossing;
pub mod generic;
pub mod ml100k_raw;
pub mod ml_csv;
pub mod ml_dat;
pub mod recbole;

use crate::error::{DataError, Result};
use crate::raw::{RawData, SideIds};
use std::path::Path;

/// One loader: id, what it reads, and the function.
#[derive(Debug)]
pub struct LoaderEntry {
    /// Format id used on the command line (`quadrec data import --format <id>`).
    pub id: &'static str,
    /// What the loader expects at the path it is given.
    pub expects: &'static str,
    /// Default policy for side-file ids that have no interaction.
    pub side_ids: SideIds,
    /// The loader.
    pub load: fn(&Path, SideIds) -> Result<RawData>,
}

/// All loaders. Adding a format = one file + one line here.
pub const LOADERS: &[LoaderEntry] = &[
    LoaderEntry {
        id: "ml-100k-raw",
        expects: "the GroupLens ml-100k folder: `u.data`, `u.item`, `u.user`",
        side_ids: SideIds::Strict,
        load: ml100k_raw::load,
    },
    LoaderEntry {
        id: "ml-1m",
        expects: "the GroupLens ml-1m folder: `ratings.dat`, `movies.dat`, `users.dat` (`::`, Latin-1)",
        side_ids: SideIds::Lenient,
        load: ml_dat::load_1m,
    },
    LoaderEntry {
        id: "ml-10m",
        expects: "the GroupLens ml-10M100K folder: `ratings.dat`, `movies.dat` (`::`)",
        side_ids: SideIds::Lenient,
        load: ml_dat::load_10m,
    },
    LoaderEntry {
        id: "ml-csv",
        expects: "a GroupLens ml-20m / ml-25m / ml-32m / ml-latest(-small) folder: `ratings.csv`, `movies.csv`",
        side_ids: SideIds::Lenient,
        load: ml_csv::load,
    },
    LoaderEntry {
        id: "amazon-2014",
        expects: "a folder with one review file (`reviews_*.json.gz`) and one `meta_*.json.gz` (Python literals)",
        side_ids: SideIds::Lenient,
        load: amazon2014::load,
    },
    LoaderEntry {
        id: "amazon-2018",
        expects: "a folder with one review file (`<Category>[_5].json.gz`) and one `meta_<Category>.json.gz`",
        side_ids: SideIds::Lenient,
        load: amazon2018::load,
    },
    LoaderEntry {
        id: "amazon-2023",
        expects: "a folder with one review file (`<Category>.jsonl[.gz]`) and one `meta_<Category>.jsonl[.gz]`",
        side_ids: SideIds::Lenient,
        load: amazon2023::load,
    },
    LoaderEntry {
        id: "bookcrossing",
        expects: "a folder with `BX-Book-Ratings.csv`, `BX-Books.csv` and optional `BX-Users.csv`",
        side_ids: SideIds::Lenient,
        load: bookcrossing::load,
    },
    LoaderEntry {
        id: "generic",
        expects: "a TOML file describing CSV / Parquet tables (see datasets/examples/)",
        side_ids: SideIds::Lenient,
        load: generic::load,
    },
    LoaderEntry {
        id: "recbole",
        expects: "a folder with one `*.inter` file and optional `*.item` / `*.user` (RecBole atomic files)",
        side_ids: SideIds::Lenient,
        load: recbole::load,
    },
];

/// Look up a loader by id; unknown ids list the known ones.
pub fn loader(id: &str) -> Result<&'static LoaderEntry> {
    LOADERS.iter().find(|l| l.id == id).ok_or_else(|| {
        DataError::UnknownFormat(
            id.to_string(),
            LOADERS.iter().map(|l| l.id).collect::<Vec<_>>().join(", "),
        )
    })
}
