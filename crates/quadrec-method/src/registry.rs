//! Registry entries: one line per method in an explicit table (no discovery by naming
//! convention). The table itself lives with the implementations (e.g. `quadrec_models::CRM_TABLE`).

use crate::meta::{Family, Quadrant, Stage, Task};
use crate::method::Method;
use crate::params::{ParamsError, merge_params, suggest};
use serde_json::Value;

/// One registry line.
#[derive(Clone, Copy)]
pub struct MethodEntry {
    /// Stable id used in suite files, CLI and result records (`"sasrec"`).
    pub id: &'static str,
    /// Human name for tables (`"SASRec"`).
    pub display_name: &'static str,
    /// Survey stage.
    pub stage: Stage,
    /// Survey task.
    pub task: Task,
    /// Survey quadrant.
    pub quadrant: Quadrant,
    /// Conventional family.
    pub family: Family,
    /// Whether `fit` trains parameters by gradient descent (runs the shared training loop).
    pub trained: bool,
    /// Serialised default params (the reference recipe).
    pub default_params: fn() -> Value,
    /// Build an unfitted method from complete (merged) params.
    pub build: fn(&Value) -> Result<Box<dyn Method>, ParamsError>,
    /// Cheap overrides used by the registry-wide tests on tiny data (fewer epochs, smaller
    /// dims). Never used for reported results.
    pub smoke_params: fn() -> Value,
}

impl std::fmt::Debug for MethodEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodEntry")
            .field("id", &self.id)
            .field("stage", &self.stage)
            .field("task", &self.task)
            .field("quadrant", &self.quadrant)
            .finish()
    }
}

impl MethodEntry {
    /// Merge `layers` (lowest priority first) over the defaults, returning the resolved params
    /// (to record in the run) and the unfitted method.
    pub fn build_with(
        &self,
        layers: &[(&str, &Value)],
    ) -> Result<(Value, Box<dyn Method>), ParamsError> {
        let merged = merge_params(self.id, &(self.default_params)(), layers)?;
        let m = (self.build)(&merged)?;
        Ok((merged, m))
    }
}

/// Unknown method id.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown method `{id}`{}; registered methods: {}",
    suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
    valid.join(", ")
)]
pub struct RegistryError {
    /// The id asked for.
    pub id: String,
    /// Closest registered id.
    pub suggestion: Option<String>,
    /// All registered ids, in table order.
    pub valid: Vec<String>,
}

/// Find `id` in `table`, or fail listing the valid ids with a suggestion.
pub fn find_entry<'t>(
    table: &'t [MethodEntry],
    id: &str,
) -> Result<&'t MethodEntry, RegistryError> {
    table.iter().find(|e| e.id == id).ok_or_else(|| RegistryError {
        id: id.to_string(),
        suggestion: suggest(id, table.iter().map(|e| e.id)),
        valid: table.iter().map(|e| e.id.to_string()).collect(),
    })
}
