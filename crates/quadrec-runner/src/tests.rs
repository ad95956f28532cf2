//! Runner tests over the tiny committed fixture: pinned user samples, hard and pointwise views,
//! per-method view restriction and the validation probe of restricted methods. The dataset
//! and split stores are content-addressed, so these tests share the process's cache folder.

use crate::prepared::ViewKind;
use crate::suite::{ProtocolSpec, parse_suite, parse_view};
use crate::{RunOptions, prepare, registry, run_suite};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny").canonicalize().unwrap()
}

/// The records of a run folder, by cell id.
fn records(dir: &Path) -> std::collections::BTreeMap<String, quadrec_report::record::CellRecord> {
    crate::store::read_records(&dir.join(crate::store::RunStore::RECORDS)).unwrap()
}

fn protocol(views: &[&str]) -> ProtocolSpec {
    let text = format!(
        "split = 'loo'\nviews = {:?}\nclosed_candidates = 8\nhard_retriever = 'pop'\n",
        views
    );
    toml::from_str(&text).unwrap()
}

#[test]
fn view_names_parse_with_user_samples_and_suggestions() {
    assert_eq!(parse_view("closed@u100").unwrap().users, Some(100));
    assert_eq!(parse_view("full").unwrap().users, None);
    assert!(parse_view("closed@100").unwrap_err().contains("@u<N>"));
    assert!(parse_view("closed@u0").is_err());
    assert!(parse_view("hardd@u5").unwrap_err().contains("did you mean `hard`"));
}

#[test]
fn user_samples_are_pinned_and_hard_lists_come_from_the_retriever() {
    let d = prepare::load_dataset(&format!("recbole:{}", fixture().display())).unwrap();
    let reg = registry::all();
    let p = protocol(&["full", "closed@u5", "hard@u5", "pointwise@u5", "closed"]);
    let a = prepare::prepare(&d, &p, &reg).unwrap();
    let b = prepare::prepare(&d, &p, &reg).unwrap();
    let closed5 = &a.views[1];
    assert_eq!(closed5.test.users.len(), 5);
    assert!(closed5.user_sample.starts_with("u5,seed="), "{}", closed5.user_sample);
    // The same sample on every preparation, for every @u5 view, and in the validation phase.
    assert_eq!(closed5.test.users, b.views[1].test.users);
    assert_eq!(closed5.test.items, b.views[1].test.items);
    for v in &a.views[1..4] {
        assert_eq!(v.test.users, closed5.test.users, "{}", v.label);
        let t: Vec<u32> = v.test.users.iter().map(|&i| a.test[i].user).collect();
        let va: Vec<u32> = v.valid.users.iter().map(|&i| a.valid[i].user).collect();
        assert_eq!(t, va, "{}: validation phase on the same users", v.label);
    }
    assert_eq!(a.views[4].user_sample, "all");
    assert_eq!(a.views[4].test.users.len(), a.test.len());
    // Hard lists: the target plus the retriever's (popularity) top unseen items.
    let hard = &a.views[2];
    let pop = a.train.item_popularity();
    for (&ui, list) in hard.test.users.iter().zip(&hard.test.items) {
        let u = &a.test[ui];
        assert_eq!(list.len(), 8);
        assert!(list.contains(&u.targets[0]));
        let mut unseen: Vec<u32> = (0..a.train.n_items()).filter(|i| !u.seen.contains(i)).collect();
        unseen.sort_by(|&x, &y| pop[y as usize].cmp(&pop[x as usize]).then(x.cmp(&y)));
        for c in list.iter().filter(|&&c| c != u.targets[0]) {
            assert!(unseen[..8].contains(c), "user {}: {c} is not among pop's top 8", u.user);
        }
    }
    // Pointwise: the held-out item, labelled by the rating rule.
    let pw = &a.views[3];
    assert_eq!(pw.kind, ViewKind::Pointwise);
    for (&ui, items) in pw.test.users.iter().zip(&pw.test.items) {
        assert_eq!(items, &a.test[ui].targets);
    }
    assert_ne!(a.views[1].hash, a.views[4].hash, "the user sample is part of the view hash");
}

#[test]
fn restricted_methods_run_only_on_their_views_and_probe_their_validation_phase() {
    let out = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
name = "views"
bootstrap = 50
[[dataset]]
id = "recbole:{}"
[[protocol]]
split = "loo"
views = ["full", "closed@u6", "pointwise@u6"]
closed_candidates = 8
[[method]]
id = "random"
[[method]]
id = "itemknn"
views = ["closed@u6", "pointwise@u6"]
grid = {{ k = [5, 20] }}
"#,
        fixture().display()
    );
    let suite = parse_suite(Path::new("views.toml"), &text, &registry::all()).unwrap();
    let s = run_suite(&suite, out.path(), &RunOptions::default()).unwrap();
    let recs = records(out.path());
    let errors: Vec<_> = recs.values().filter_map(|r| r.error.clone()).collect();
    assert_eq!((s.ok, s.failed), (3 + 2, 0), "{errors:?}");
    let knn: Vec<_> = recs.values().filter(|r| r.method.id == "itemknn").collect();
    let mut views: Vec<&str> = knn.iter().map(|r| r.view.as_str()).collect();
    views.sort();
    assert_eq!(views, ["closed@u6", "pointwise@u6"]);
    for r in &knn {
        assert_eq!(r.tuning.select_by, "ndcg@10@valid:closed@u6");
        assert_eq!(r.tuning.trial_values.len(), 2);
        assert!(r.user_sample.starts_with("u6,"), "{}", r.user_sample);
        assert!(r.protocol.contains("users=u6"), "{}", r.protocol);
    }
    let pw = knn.iter().find(|r| r.view == "pointwise@u6").unwrap();
    assert!(pw.test.contains_key("auc") && !pw.test.contains_key("ndcg@10"), "{:?}", pw.test);
    let cl = knn.iter().find(|r| r.view == "closed@u6").unwrap();
    assert_eq!(cl.test["ndcg@10"].n, 6);
    assert!(cl.cost.latency_p50_ms > 0.0, "latency from the per-user calls of the list view");
    // Random ran everywhere, on the same protocol ids as itemknn for the shared views.
    let rnd: Vec<_> = recs.values().filter(|r| r.method.id == "random").collect();
    assert_eq!(rnd.len(), 3);
    // One untrained configuration: nothing to select, so no validation pass and no value.
    assert!(rnd.iter().all(|r| r.valid.is_empty() && r.tuning.trial_values.is_empty()));
    assert!(rnd.iter().any(|r| r.protocol == cl.protocol));
}

#[test]
fn a_method_with_its_own_seeds_runs_only_those() {
    let out = tempfile::tempdir().unwrap();
    let text = format!(
        "name = 's'\nseeds = [0, 1]\nbootstrap = 20\n[[dataset]]\nid = 'recbole:{}'\n[[protocol]]\nsplit = 'loo'\nviews = ['full']\n[[method]]\nid = 'pop'\nseeds = [1]\n[[method]]\nid = 'random'\n",
        fixture().display()
    );
    let suite = parse_suite(Path::new("s.toml"), &text, &registry::all()).unwrap();
    let s = run_suite(&suite, out.path(), &RunOptions::default()).unwrap();
    assert_eq!((s.jobs, s.ok, s.failed), (3, 3, 0));
    let recs = records(out.path());
    let seeds = |id: &str| {
        let mut v: Vec<u64> = recs.values().filter(|r| r.method.id == id).map(|r| r.seed).collect();
        v.sort();
        v
    };
    assert_eq!(seeds("pop"), [1]);
    assert_eq!(seeds("random"), [0, 1]);
    // The report reads the suite file this run wrote: 3 planned jobs, none pending; with the
    // records of one job removed, that job is listed.
    let run = quadrec_report::load_run(out.path()).unwrap();
    assert_eq!((run.planned, run.pending.len()), (3, 0));
    let path = out.path().join(crate::store::RunStore::RECORDS);
    let kept: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !(l.contains("\"id\":\"random\"") && l.contains("\"seed\":1,")))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, kept.concat()).unwrap();
    assert_eq!(quadrec_report::load_run(out.path()).unwrap().pending, ["random/1"]);
}

#[test]
fn the_probe_view_is_part_of_the_cell_id() {
    // The same method and cell view, selected on different validation views: different cells.
    let run = |views: &str| {
        let out = tempfile::tempdir().unwrap();
        let text = format!(
            "name = 'p'\nbootstrap = 20\n[[dataset]]\nid = 'recbole:{}'\n[[protocol]]\nsplit = 'loo'\nviews = ['closed@u6', 'pointwise@u6']\nclosed_candidates = 8\n[[method]]\nid = 'itemknn'\ngrid = {{ k = [5, 20] }}\nviews = {views}\n",
            fixture().display()
        );
        let suite = parse_suite(Path::new("p.toml"), &text, &registry::all()).unwrap();
        run_suite(&suite, out.path(), &RunOptions::default()).unwrap();
        let recs = records(out.path());
        let r = recs.values().find(|r| r.view == "closed@u6").unwrap().clone();
        (r.cell_id, r.tuning.select_by)
    };
    let (a, sel_a) = run("['closed@u6', 'pointwise@u6']");
    let (b, sel_b) = run("['pointwise@u6', 'closed@u6']");
    assert_eq!(sel_a, "ndcg@10@valid:closed@u6");
    assert_eq!(sel_b, "auc@valid:pointwise@u6");
    assert_ne!(a, b);
    assert_eq!(run("['closed@u6', 'pointwise@u6']").0, a, "ids are stable");
}

#[test]
fn export_writes_the_evaluated_rows_and_lists_and_refuses_to_overwrite() {
    let out = tempfile::tempdir().unwrap();
    let text = format!(
        "name = 'x'\n[[dataset]]\nid = 'recbole:{}'\n[[protocol]]\nsplit = 'loo'\nviews = ['full', 'closed@u4', 'pointwise']\nclosed_candidates = 5\n[[method]]\nid = 'pop'\n",
        fixture().display()
    );
    let suite = parse_suite(Path::new("x.toml"), &text, &registry::all()).unwrap();
    let dest = out.path().join("exp");
    let s = crate::export::export_suite(&suite, &dest, &registry::all()).unwrap();
    assert_eq!(s.folders.len(), 1);
    let dir = &s.folders[0];
    let d = prepare::load_dataset(&format!("recbole:{}", fixture().display())).unwrap();
    let name = &d.manifest.name;
    let rows = |part: &str| {
        let t = std::fs::read_to_string(dir.join(format!("recbole/{name}/{name}.{part}.inter")))
            .unwrap();
        t.lines().count() - 1
    };
    assert_eq!(rows("train") + rows("valid") + rows("test"), d.interactions.len());
    assert_eq!(rows("test"), d.users.len(), "leave-one-out: one test row per user");
    let cands = std::fs::read_to_string(dir.join("trec/closed_at_u4.candidates")).unwrap();
    assert_eq!(cands.lines().count(), 4 * 5);
    let qrels = std::fs::read_to_string(dir.join("trec/test.qrels")).unwrap();
    assert_eq!(qrels.lines().count(), d.users.len());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("EXPORT.json")).unwrap()).unwrap();
    for (rel, sha) in manifest["files_sha256"].as_object().unwrap() {
        assert_eq!(
            &quadrec_core::hash::sha256_file(&dir.join(rel)).unwrap(),
            sha.as_str().unwrap(),
            "{rel}"
        );
    }
    let again = crate::export::export_suite(&suite, &dest, &registry::all()).unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
}

/// The conversational view: requests composed from each sampled user's held-out item (hard
/// conditions true of it, seeded and recorded), run only for methods that read requests, with
/// ranking metrics and the hard-condition rate; request-free methods never see the view, and
/// suites pairing a view with the wrong kind of method are refused.
#[test]
fn conversational_view_runs_request_readers_only_and_records_requests_and_hard_rates() {
    let d = prepare::load_dataset(&format!("recbole:{}", fixture().display())).unwrap();
    let reg = registry::all();
    let p = prepare::prepare(&d, &protocol(&["conv@u6"]), &reg).unwrap();
    let v = &p.views[0];
    assert_eq!(v.kind, ViewKind::Conversational);
    assert!(v.params.contains("requests=conv/v1") && v.params.contains("seed=0"), "{}", v.params);
    assert_eq!(v.test.requests.len(), v.test.users.len());
    assert!(!v.test.requests.is_empty() && !v.valid.requests.is_empty());
    let items = p.train.items();
    for (&ui, r) in v.test.users.iter().zip(&v.test.requests) {
        let u = &p.test[ui];
        assert_eq!((r.user, r.target), (u.user, u.targets[0]));
        assert!(!r.text.is_empty() && !r.hard.is_empty(), "{r:?}");
        assert!(quadrec_lmconv::request::satisfies_all(items, r.target, &r.hard), "{r:?}");
    }
    let again = prepare::prepare(&d, &protocol(&["conv@u6"]), &reg).unwrap();
    assert_eq!(again.views[0].test.requests, v.test.requests, "requests are seeded");
    assert_eq!(again.views[0].hash, v.hash);

    let out = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
name = "conv"
bootstrap = 50
[[dataset]]
id = "recbole:{}"
[[protocol]]
split = "loo"
views = ["full", "conv@u6"]
[[method]]
id = "pop"
[[method]]
id = "conv-retrieval"
[[method]]
id = "conv-personalised"
views = ["conv@u6"]
params = {{ crm_params = {{ ease = {{ reg_weight = 10.0 }} }}, blend_grid = [0.0, 0.5] }}
"#,
        fixture().display()
    );
    let suite = parse_suite(Path::new("conv.toml"), &text, &reg).unwrap();
    let s = run_suite(&suite, out.path(), &RunOptions::default()).unwrap();
    let recs = records(out.path());
    let errors: Vec<_> = recs.values().filter_map(|r| r.error.clone()).collect();
    assert_eq!((s.ok, s.failed), (3, 0), "{errors:?}");
    let pop: Vec<_> = recs.values().filter(|r| r.method.id == "pop").collect();
    assert_eq!(pop.len(), 1);
    assert_eq!(pop[0].view, "full", "a request-free method never runs on the conv view");
    let n_users = v.test.users.len();
    for id in ["conv-retrieval", "conv-personalised"] {
        let r = recs.values().find(|r| r.method.id == id).unwrap();
        assert_eq!(r.view, "conv@u6");
        assert_eq!(r.method.stage, "user_interaction");
        assert!(r.protocol.contains("requests=conv/v1"), "{}", r.protocol);
        for m in ["hr@10", "ndcg@10", "hard_rate@10"] {
            let x = &r.test[m];
            assert_eq!(x.n, n_users, "{id} {m}");
            assert!((0.0..=1.0).contains(&x.mean) && x.ci_low <= x.mean && x.mean <= x.ci_high);
        }
        assert!(r.weight_hashes.contains_key("all-MiniLM-L6-v2"));
    }
    // The personalised blend was selected on the validation requests through the probe.
    let pers = recs.values().find(|r| r.method.id == "conv-personalised").unwrap();
    assert!(pers.valid.contains_key("ndcg@10@valid:conv@u6"), "{:?}", pers.valid);
    // Text retrieval satisfies the hard conditions at least as often as a random top-10 of the
    // unseen items would in expectation (every fixture item has one genre and a 1990s year).
    let retr = recs.values().find(|r| r.method.id == "conv-retrieval").unwrap();
    let base: f64 = v
        .test
        .users
        .iter()
        .zip(&v.test.requests)
        .map(|(&ui, r)| {
            let seen = &p.test[ui].seen;
            let unseen: Vec<u32> = (0..p.train.n_items()).filter(|i| !seen.contains(i)).collect();
            let ok = unseen
                .iter()
                .filter(|&&i| quadrec_lmconv::request::satisfies_all(items, i, &r.hard))
                .count();
            ok as f64 / unseen.len() as f64
        })
        .sum::<f64>()
        / n_users as f64;
    assert!(retr.test["hard_rate@10"].mean >= base, "{} < {base}", retr.test["hard_rate@10"].mean);
    // The requests travel with the run.
    let files: Vec<_> = std::fs::read_dir(out.path().join("requests")).unwrap().collect();
    assert_eq!(files.len(), 1);
    let body = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert_eq!(body.lines().count(), v.test.requests.len() + v.valid.requests.len());
    assert!(body.contains(&v.test.requests[0].text));

    // Explicit pairings of the wrong kind are refused before anything runs.
    for (id, view) in [("pop", "conv@u6"), ("conv-retrieval", "full")] {
        let bad = text.replace(
            "[[method]]\nid = \"pop\"",
            &format!("[[method]]\nid = \"{id}\"\nlabel = \"x\"\nviews = [\"{view}\"]"),
        );
        let err = parse_suite(Path::new("conv.toml"), &bad, &reg).unwrap_err().to_string();
        assert!(err.contains("conv"), "{err}");
    }
}

/// A method that scores everything 0 and reports, as its diagnostic, how many user queries it
/// scored since its last `reset_diagnostics`.
struct CountingQueries(std::sync::atomic::AtomicU64);

impl quadrec_method::Method for CountingQueries {
    fn fit(
        &mut self,
        _: &quadrec_split::TrainView,
        _: &mut quadrec_method::FitContext,
    ) -> Result<quadrec_method::FitReport, quadrec_method::MethodError> {
        Ok(Default::default())
    }
    fn score_full(
        &self,
        queries: &[quadrec_method::UserQuery],
        out: &mut [f32],
    ) -> Result<(), quadrec_method::MethodError> {
        out.fill(0.0);
        self.0.fetch_add(queries.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
    fn score_items(
        &self,
        _: &quadrec_method::UserQuery,
        _: &[u32],
        out: &mut [f32],
    ) -> Result<(), quadrec_method::MethodError> {
        out.fill(0.0);
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
    fn n_parameters(&self) -> u64 {
        0
    }
    fn diagnostics(&self) -> Vec<(String, f64)> {
        vec![("queries".into(), self.0.load(std::sync::atomic::Ordering::Relaxed) as f64)]
    }
    fn reset_diagnostics(&self) {
        self.0.store(0, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn diagnostics_are_recorded_per_view_after_a_reset() {
    let d = prepare::load_dataset(&format!("recbole:{}", fixture().display())).unwrap();
    let reg = registry::all();
    let p = prepare::prepare(&d, &protocol(&["full", "closed@u5", "pointwise@u6"]), &reg).unwrap();
    let text = format!(
        "name = \"diag\"\nbootstrap = 20\n[[dataset]]\nid = \"recbole:{}\"\n[[protocol]]\nsplit = \"loo\"\nviews = [\"full\"]\n[[method]]\nid = \"pop\"\n",
        fixture().display()
    );
    let suite = parse_suite(Path::new("diag.toml"), &text, &reg).unwrap();
    let entry = reg.iter().find(|e| e.id == "pop").unwrap();
    // Scored queries before the views (fitting, probes) must not reach any cell.
    let m = CountingQueries(std::sync::atomic::AtomicU64::new(1000));
    let tuned = crate::exec::Tuned {
        method: Box::new(m),
        params: serde_json::json!({}),
        valid: f64::NAN,
        valid_metric: String::new(),
        tuning: Default::default(),
        train_seconds: 0.0,
        tuning_seconds: 0.0,
        device: String::new(),
    };
    let cells: Vec<String> = (0..3).map(|i| format!("cell{i}")).collect();
    let recs = crate::exec::evaluate_views(
        &tuned,
        entry,
        &suite.methods[0],
        &p,
        &[0, 1, 2],
        &Default::default(),
        &suite,
        0,
        &cells,
        "2026-01-01T00:00:00Z",
        &mut |_, _, _| {},
        |_, _| Ok(String::new()),
    )
    .unwrap();
    assert_eq!(recs.len(), 3);
    // Each cell counts its own view's test users only: not the latency timing of the full
    // view that ran before the first pass, nor the earlier views.
    for (r, v) in recs.iter().zip(&p.views) {
        assert_eq!(r.view, v.label);
        let want = v.test.users.len() as f64;
        assert_eq!(r.diagnostics.get("queries"), Some(&want), "{}: {:?}", r.view, r.diagnostics);
    }
    assert_eq!(recs[1].diagnostics["queries"], 5.0);
    assert_eq!(recs[2].diagnostics["queries"], 6.0);
    // Written with the record and read back.
    let line = serde_json::to_string(&recs[2]).unwrap();
    assert!(line.contains("\"diagnostics\":{\"queries\":6.0}"), "{line}");
    let back: quadrec_report::record::CellRecord = serde_json::from_str(&line).unwrap();
    // (Only the diagnostics are compared: serde_json's default float parsing may move the last
    // digit of other fields.)
    assert_eq!(back.diagnostics, recs[2].diagnostics);
}

#[test]
fn a_panicking_job_becomes_an_error_with_its_message() {
    let ok: anyhow::Result<u32> = crate::catch_panic(|| Ok(7));
    assert_eq!(ok.unwrap(), 7);
    let err: anyhow::Result<u32> = crate::catch_panic(|| Err(anyhow::anyhow!("plain error")));
    assert_eq!(format!("{:#}", err.unwrap_err()), "plain error");
    let lit: anyhow::Result<u32> = crate::catch_panic(|| panic!("backend assertion"));
    assert_eq!(format!("{:#}", lit.unwrap_err()), "panicked: backend assertion");
    let n = 3;
    let fmt: anyhow::Result<u32> = crate::catch_panic(|| panic!("index {n} out of range"));
    assert_eq!(format!("{:#}", fmt.unwrap_err()), "panicked: index 3 out of range");
}
