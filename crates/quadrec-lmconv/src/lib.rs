//! User interaction (conversational requests composed from held-out items) and pipeline control (retriever CRM -> top-N -> LM re-ranker, with a controller that sends only hard cases to the LM under a call budget).

use quadrec_method::MethodEntry;

/// Registry lines of this crate, in leaderboard order (appended to the runner's registry).
pub const CONV_TABLE: &[MethodEntry] = &[];
