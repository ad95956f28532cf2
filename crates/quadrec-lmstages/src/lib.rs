//! LLM in the other pipeline stages (survey: feature encoder, feature engineering, user interaction, pipeline controller), each measured as a lift over the same pipeline without the LM, plus distillation of the LM into a CRM.

use quadrec_method::MethodEntry;

/// Registry lines of this crate, in leaderboard order (appended to the runner's registry).
pub const STAGES_TABLE: &[MethodEntry] = &[];
