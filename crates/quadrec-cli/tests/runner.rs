//! End-to-end tests of `quadrec run | merge | verify | report` on the tiny committed fixture:
//! killing a run at any moment and rerunning gives identical results and no corrupt file;
//! shards run as parallel processes merge into exactly the single-process result; verify
//! recomputes bitwise and catches a tampered record; a bad suite fails with a clear message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../quadrec-runner/tests/fixtures/tiny")
        .canonicalize()
        .unwrap()
}

fn write_suite(dir: &Path) -> PathBuf {
    let text = format!(
        r#"
name = "tiny"
seeds = [0]
bootstrap = 200

[[dataset]]
id = "recbole:{}"

[[protocol]]
split = "loo"
views = ["full", "sampled", "closed"]
sampled_negatives = 10
closed_candidates = 10

[[method]]
id = "random"

[[method]]
id = "pop"

[[method]]
id = "itemknn"
grid = {{ k = [5, 20] }}

[[method]]
id = "ease"
grid = {{ reg_weight = [10.0, 100.0] }}

[[method]]
id = "bpr"
params = {{ embedding_size = 8, train = {{ epochs = 300, batch_size = 64, patience = 300 }} }}
"#,
        fixture().display()
    );
    let p = dir.join("tiny.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn quadrec(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quadrec"));
    c.env("QUADREC_CACHE", cache)
        .env("QUADREC_OFFLINE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
}

/// (cell id -> (status, test metrics as JSON, per-user file bytes)), everything but timings.
fn results(dir: &Path) -> BTreeMap<String, (String, String, Vec<u8>)> {
    let text = std::fs::read_to_string(dir.join("records.jsonl")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("every line parses");
        let id = v["cell_id"].as_str().unwrap().to_string();
        let per_user =
            v["per_user"].as_str().map(|p| std::fs::read(dir.join(p)).unwrap()).unwrap_or_default();
        out.insert(id, (v["status"].to_string(), v["test"].to_string(), per_user));
    }
    out
}

fn no_temporaries(dir: &Path) {
    fn walk(d: &Path, bad: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, bad);
            } else if e.file_name().to_string_lossy().starts_with(".tmp-") {
                bad.push(p);
            }
        }
    }
    let mut bad = vec![];
    walk(dir, &mut bad);
    assert!(bad.is_empty(), "temporary files left: {bad:?}");
}

#[test]
fn killed_runs_resume_to_identical_results_and_shards_merge_to_the_same() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let suite = write_suite(t.path());

    // Reference: one uninterrupted run.
    let a = t.path().join("a");
    let started = std::time::Instant::now();
    run_ok(quadrec(&cache).arg("run").arg(&suite).arg("--out").arg(&a));
    let full = started.elapsed();
    let ra = results(&a);
    assert_eq!(ra.len(), 5 * 3, "5 methods x 3 views");
    assert!(ra.values().all(|(s, _, _)| s == "\"ok\""), "{ra:?}");
    assert!(a.join("report.html").is_file() && a.join("leaderboard.md").is_file());

    // Killed at moments spread over the reference run's duration (so the schedule adapts to the
    // machine's speed), each attempt resuming the previous one, then completed.
    let b = t.path().join("b");
    let mut kills = 0;
    for frac in [0.05f64, 0.15, 0.3, 0.45, 0.6, 0.8] {
        let mut child = quadrec(&cache)
            .arg("run")
            .arg(&suite)
            .arg("--out")
            .arg(&b)
            .arg("--no-report")
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(full.as_secs_f64() * frac));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        if b.join("records.jsonl").is_file() {
            // Whatever moment the kill hit, the records file parses completely.
            let _ = results(&b);
        }
    }
    assert!(kills >= 1, "no attempt was interrupted ({kills} kills; reference run took {full:?})");
    run_ok(quadrec(&cache).arg("run").arg(&suite).arg("--out").arg(&b).arg("--no-report"));
    no_temporaries(&b);
    assert_eq!(results(&b), ra, "resumed run differs from the uninterrupted one");

    // Two shards as parallel processes, then merged.
    let s0 = t.path().join("s0");
    let s1 = t.path().join("s1");
    let c0 = quadrec(&cache)
        .arg("run")
        .arg(&suite)
        .arg("--out")
        .arg(&s0)
        .args(["--shard", "0/2"])
        .spawn()
        .unwrap();
    let c1 = quadrec(&cache)
        .arg("run")
        .arg(&suite)
        .arg("--out")
        .arg(&s1)
        .args(["--shard", "1/2"])
        .spawn()
        .unwrap();
    for c in [c0, c1] {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let n0 = results(&s0).len();
    let n1 = results(&s1).len();
    assert!(n0 > 0 && n1 > 0 && n0 + n1 == ra.len(), "shards split the cells: {n0} + {n1}");
    let m = t.path().join("merged");
    run_ok(quadrec(&cache).arg("merge").arg(&m).arg(&s0).arg(&s1));
    assert_eq!(results(&m), ra, "merged shards differ from the single process");

    // Verify recomputes bitwise; a tampered record is caught (exit 4).
    run_ok(quadrec(&cache).arg("verify").arg(&a).arg("--cell").arg(ra.keys().next().unwrap()));
    let text = std::fs::read_to_string(a.join("records.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let cell = first["cell_id"].as_str().unwrap().to_string();
    let metric = first["test"].as_object().unwrap().keys().next().unwrap().clone();
    let mut tampered = first.clone();
    let old = tampered["test"][&metric]["mean"].as_f64().unwrap();
    tampered["test"][&metric]["mean"] = serde_json::json!(old + 0.125);
    let new_text = text.replacen(text.lines().next().unwrap(), &tampered.to_string(), 1);
    std::fs::write(a.join("records.jsonl"), new_text).unwrap();
    let out = quadrec(&cache)
        .arg("verify")
        .arg(&a)
        .arg("--cell")
        .arg(&cell)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("MISMATCH"));
}

#[test]
fn bad_suite_fails_early_with_file_key_and_suggestion() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("bad.toml");
    std::fs::write(&p, "name = 'x'\n[[dataset]]\nid = 'ml-100k'\n[[protocol]]\nsplit = 'loo'\n[[method]]\nid = 'sasrek'\n").unwrap();
    let out =
        quadrec(&t.path().join("c")).current_dir(t.path()).arg("run").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("sasrek") && err.contains("did you mean `sasrec`"),
        "{err}"
    );
    assert!(!t.path().join("runs").exists(), "nothing written for a bad suite");
}

#[test]
fn misspelt_only_key_fails_before_anything_is_written() {
    let t = tempfile::tempdir().unwrap();
    let suite = write_suite(t.path());
    let out_dir = t.path().join("out");
    let out = quadrec(&t.path().join("c"))
        .arg("run")
        .arg(&suite)
        .arg("--out")
        .arg(&out_dir)
        .args(["--only", "pop,itemknm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tiny.toml")
            && err.contains("`itemknm` is not a method key of suite `tiny`")
            && err.contains("did you mean `itemknn`?")
            && err.contains("random, pop, itemknn, ease, bpr"),
        "{err}"
    );
    assert!(!out_dir.exists(), "nothing written for a misspelt --only key");
}
