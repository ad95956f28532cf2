//! End-to-end checks of the `quadrec` binary's data and split commands: success path on the
//! committed tiny synthetic dataset, and a malformed input giving exit code 1, an error naming
//! file, line and field, and nothing written.

use std::path::Path;
use std::process::Command;

fn quadrec(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quadrec"));
    c.env("QUADREC_CACHE", cache).env("QUADREC_OFFLINE", "1");
    c
}

#[test]
fn import_info_split_on_the_tiny_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let fx =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../quadrec-data/tests/fixtures/synth-tiny");
    let o = quadrec(tmp.path())
        .args(["data", "import", "-f", "recbole", "--name", "tiny", "--user-core", "5"])
        .arg(&fx)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let card = String::from_utf8_lossy(&o.stdout);
    assert!(card.contains("| interactions |") && card.contains("# Dataset card: tiny-"), "{card}");
    let o = quadrec(tmp.path()).args(["data", "info", "tiny"]).output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("source: synth.inter sha256"));
    let o = quadrec(tmp.path())
        .args(["split", "-d", "tiny", "-p", "loo", "--sampled", "5", "--candidates", "8"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("train / valid / test rows:")
            && out.contains("leakage:")
            && out.contains("/test/candidates-8-random-"),
        "{out}"
    );
    // Same command again: the stored split is reused (same id), not rewritten differently.
    let o2 = quadrec(tmp.path()).args(["split", "-d", "tiny", "-p", "loo"]).output().unwrap();
    assert!(o2.status.success());
    assert_eq!(String::from_utf8_lossy(&o2.stdout).lines().next(), out.lines().next());
}

#[test]
fn malformed_input_exits_non_zero_names_the_place_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("ratings.dat"), "1::5::5::1\n2::5::x::2\n").unwrap();
    std::fs::write(src.join("movies.dat"), "5::X (1975)::Drama\n").unwrap();
    std::fs::write(src.join("users.dat"), "1::F::1::10::1\n").unwrap();
    let cache = tmp.path().join("cache");
    let o = quadrec(&cache).args(["data", "import", "-f", "ml-1m"]).arg(&src).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ratings.dat:2: field `Rating`: not a number: `x`"), "{err}");
    assert!(
        !cache.join("datasets").exists()
            || std::fs::read_dir(cache.join("datasets")).unwrap().count() == 0
    );
    // Usage errors exit 2 and --help explains the options.
    let o = quadrec(&cache).args(["data", "import", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("--user-core")
            && help.contains("--threshold")
            && help.contains("amazon-2014"),
        "{help}"
    );
    assert_eq!(
        quadrec(&cache).args(["split", "--protocol", "nope"]).output().unwrap().status.code(),
        Some(2)
    );
}

/// `quadrec compare`: a run folder whose records name no per-user files still compares (each
/// protocol says why no test ran) with exit 0, in both table and JSON form; an unknown method
/// key exits 1 with a suggestion and the run's keys. (The statistics themselves are tested in
/// quadrec-report's tests on Parquet fixtures.)
#[test]
fn compare_smoke_and_unknown_key() {
    use quadrec_report::record::{CellRecord, MethodInfo, RECORD_SCHEMA, Status};
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for (id, variant, ndcg) in [("collm", "", 0.3), ("tallrec", "k64", 0.2)] {
        let mut test = std::collections::BTreeMap::new();
        test.insert(
            "ndcg@10".to_string(),
            quadrec_report::record::MetricValue { mean: ndcg, ci_low: ndcg, ci_high: ndcg, n: 3 },
        );
        let r = CellRecord {
            schema: RECORD_SCHEMA,
            cell_id: format!("c-{id}"),
            suite: "s".into(),
            dataset: "ml-100k".into(),
            dataset_hash: "d".into(),
            split: "loo".into(),
            split_hash: "s".into(),
            view: "full".into(),
            view_hash: "v".into(),
            protocol: "ml-100k/loo/full".into(),
            method: MethodInfo {
                id: id.into(),
                display: id.into(),
                stage: "scoring_ranking".into(),
                task: "item_scoring".into(),
                quadrant: "q1".into(),
                family: "llm".into(),
                lm_parameters: None,
                variant: variant.into(),
            },
            params: serde_json::json!({}),
            seed: 0,
            status: Status::Ok,
            error: None,
            test,
            valid: Default::default(),
            tuning: Default::default(),
            cost: Default::default(),
            per_user: None,
            prompt_hashes: Default::default(),
            weight_hashes: Default::default(),
            user_sample: "all".into(),
            diagnostics: Default::default(),
            env: Default::default(),
            started_at: String::new(),
            finished_at: String::new(),
        };
        lines.push_str(&serde_json::to_string(&r).unwrap());
        lines.push('\n');
    }
    std::fs::write(tmp.path().join("records.jsonl"), lines).unwrap();
    let o = quadrec(tmp.path())
        .arg("compare")
        .arg(tmp.path())
        .args(["collm", "tallrec:k64"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("A = collm, B = tallrec:k64")
            && out.contains("0.3000")
            && out.contains("names no per-user file"),
        "{out}"
    );
    let o = quadrec(tmp.path())
        .arg("compare")
        .arg(tmp.path())
        .args(["collm", "tallrec [k64]", "--json", "--test", "permutation", "--seed", "3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["test"], "permutation");
    assert_eq!(v["seed"], 3);
    assert_eq!(v["comparisons"][0]["b"], "tallrec:k64");
    let o = quadrec(tmp.path())
        .arg("compare")
        .arg(tmp.path())
        .args(["colm", "tallrec:k64"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("did you mean `collm`?") && err.contains("collm, tallrec:k64"), "{err}");
}
