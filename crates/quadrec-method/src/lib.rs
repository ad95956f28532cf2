//! The burn-free method contract of quadrec.
//!
//! Every recommender (conventional or LLM-enhanced) implements [`Method`]: it is fitted on a
//! [`quadrec_split::TrainView`] (train rows only) and then scores items for [`UserQuery`]s. A
//! method is described by one [`MethodEntry`] line of an explicit registry table (survey
//! metadata, typed default params, constructor). The [`harness`] module holds the checks every
//! registry entry is tested with, and [`synthetic`] a small planted-structure data generator
//! for those checks.
//!
//! This crate does not depend on burn, so runners, reports and tests that only need the
//! contract build in seconds.

pub mod harness;
pub mod meta;
pub mod method;
pub mod params;
pub mod registry;
pub mod synthetic;

pub use meta::{Family, Quadrant, Stage, Task};
pub use method::{
    EpochLog, FitContext, FitEvent, FitReport, Method, MethodError, Probe, Provenance, UserQuery,
};
pub use params::{ParamsError, merge_params, parse_override, parse_params, suggest};
pub use quadrec_split::TrainView;
pub use registry::{MethodEntry, RegistryError, find_entry};
