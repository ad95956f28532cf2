//! The union of every method table: conventional recommenders, then the language-model methods
//! by survey task (scoring, generation, the other pipeline stages). One line per table.

use quadrec_method::MethodEntry;

/// Every registered method, in leaderboard order.
pub fn all() -> Vec<MethodEntry> {
    let mut v = Vec::new();
    v.extend_from_slice(quadrec_models::CRM_TABLE);
    v.extend_from_slice(quadrec_lmscore::SCORING_TABLE);
    v.extend_from_slice(quadrec_semid::SEMID_TABLE);
    v.extend_from_slice(quadrec_lmgen::GENERATION_TABLE);
    v.extend_from_slice(quadrec_lmstages::STAGES_TABLE);
    v.extend_from_slice(quadrec_lmconv::CONV_TABLE);
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_across_tables() {
        quadrec_method::harness::check_unique_ids(&super::all());
    }
}

#[cfg(test)]
mod suite_tests {
    use std::path::Path;

    fn suite(name: &str) -> crate::suite::Suite {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks/suites").join(name);
        crate::suite::load_suite(&p, &super::all()).expect("committed suite should parse")
    }

    /// The README's main job must cover every registered method: adding a method without adding
    /// it to the default suite fails here.
    #[test]
    fn default_and_full_suites_cover_every_registered_method() {
        for name in ["default.toml", "full.toml"] {
            let s = suite(name);
            for e in super::all() {
                assert!(s.methods.iter().any(|m| m.id == e.id), "{name} does not run `{}`", e.id);
            }
        }
    }
}
