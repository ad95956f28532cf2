//! The union of every method table: conventional recommenders now; the language-model method
//! tables are appended here as they land. One line per table.

use quadrec_method::MethodEntry;

/// Every registered method, in leaderboard order.
pub fn all() -> Vec<MethodEntry> {
    let mut v = Vec::new();
    v.extend_from_slice(quadrec_models::CRM_TABLE);
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_across_tables() {
        quadrec_method::harness::check_unique_ids(&super::all());
    }
}
