//! Registry-wide tests: every entry of CRM_TABLE gets the quadrec-method harness checks.

use quadrec_method::harness;
use quadrec_models::CRM_TABLE;

#[test]
fn ids_are_unique() {
    harness::check_unique_ids(CRM_TABLE);
    assert!(
        quadrec_method::find_entry(CRM_TABLE, "sasrex")
            .unwrap_err()
            .to_string()
            .contains("did you mean `sasrec`")
            || !CRM_TABLE.iter().any(|e| e.id == "sasrec")
    );
}

#[test]
fn params_round_trip_and_unknown_keys_are_rejected() {
    for e in CRM_TABLE {
        harness::check_params(e);
    }
}

#[test]
fn fits_tiny_data_with_finite_consistent_scores() {
    for e in CRM_TABLE {
        harness::check_fit_and_scores(e);
    }
}

#[test]
fn same_seed_same_scores() {
    for e in CRM_TABLE {
        harness::check_deterministic(e);
    }
}

#[test]
fn beats_random_on_planted_data() {
    for e in CRM_TABLE.iter().filter(|e| e.id != "random") {
        let (hr, rnd) = harness::check_beats_random(e, 0.05);
        eprintln!("{:10} HR@10 {hr:.3} (random {rnd:.3})", e.id);
    }
}
