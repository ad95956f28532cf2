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
    let recs =
        crate::store::read_records(&out.path().join(crate::store::RunStore::RECORDS)).unwrap();
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
