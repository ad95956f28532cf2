//! Integration tests of the report: records and per-user Parquet files are written into a
//! temporary run folder exactly as the runner writes them (per-user values through
//! quadrec-eval), then loaded, modelled and rendered.

use std::collections::BTreeMap;
use std::path::Path;

use quadrec_core::Seed;
use quadrec_eval::PerUserTable;
use quadrec_eval::stats;
use quadrec_report::model::{self, Sig};
use quadrec_report::record::{
    CellRecord, Cost, Environment, MethodInfo, MetricValue, RECORD_SCHEMA, Status, Tuning,
};
use quadrec_report::{ReportOptions, load_run, render_all, render_terminal};
use rand::RngExt;

const HOSTILE: &str = "x|y`z<script>alert(\"p\")</script>&amp; 'q'\n| second | line **b** [l](u)";

fn method(id: &str, display: &str, quadrant: &str, lm: Option<u64>) -> MethodInfo {
    MethodInfo {
        id: id.into(),
        display: display.into(),
        stage: if quadrant == "crm" { "none".into() } else { "scoring_ranking".into() },
        task: "item_scoring".into(),
        quadrant: quadrant.into(),
        family: if quadrant == "crm" { "conventional".into() } else { "llm".into() },
        lm_parameters: lm,
        variant: String::new(),
    }
}

/// A finished cell whose per-user `main` metric values are `values` (written to Parquet); the
/// record's test summary is computed from them (mean, percentile bootstrap CI).
struct Cell<'a> {
    protocol: &'a str,
    view: &'a str,
    method: MethodInfo,
    seed: u64,
    metric: &'a str,
    values: Vec<f64>,
}

fn base_record(id: &str, protocol: &str, view: &str, m: MethodInfo, seed: u64) -> CellRecord {
    CellRecord {
        schema: RECORD_SCHEMA,
        cell_id: id.into(),
        suite: "default".into(),
        dataset: "ml-100k".into(),
        dataset_hash: "d".into(),
        split: "loo".into(),
        split_hash: "s".into(),
        view: view.into(),
        view_hash: "v".into(),
        protocol: protocol.into(),
        method: m,
        params: serde_json::json!({}),
        seed,
        status: Status::Ok,
        error: None,
        test: BTreeMap::new(),
        valid: BTreeMap::new(),
        tuning: Tuning::default(),
        cost: Cost {
            train_seconds: 10.0,
            eval_seconds: 1.5,
            latency_p50_ms: 0.25,
            latency_p99_ms: 2.0,
            n_parameters: 123_456,
            peak_rss_bytes: 512 << 20,
            lm_tokens: 0,
            ..Cost::default()
        },
        per_user: None,
        prompt_hashes: BTreeMap::new(),
        weight_hashes: BTreeMap::new(),
        user_sample: "all".into(),
        diagnostics: BTreeMap::new(),
        env: Environment {
            cpu: "test cpu".into(),
            cores: 2,
            backend: "rust".into(),
            ..Default::default()
        },
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:01:00Z".into(),
    }
}

fn write_cell(dir: &Path, c: &Cell) -> CellRecord {
    let id = format!("{}-{}-{}", c.protocol.replace('/', "_"), c.method.id, c.seed);
    let mut r = base_record(&id, c.protocol, c.view, c.method.clone(), c.seed);
    let rel = format!("per_user/{id}.parquet");
    let t = PerUserTable {
        users: (0..c.values.len() as u32).collect(),
        columns: vec![(c.metric.to_string(), c.values.clone())],
    };
    t.write_parquet(&dir.join(&rel), &BTreeMap::new()).unwrap();
    let ci = stats::bootstrap_ci(&c.values, 0.95, 500, Seed::new(1)).unwrap();
    r.test.insert(
        c.metric.into(),
        MetricValue { mean: ci.mean, ci_low: ci.lo, ci_high: ci.hi, n: c.values.len() },
    );
    r.per_user = Some(rel);
    r
}

fn write_records(dir: &Path, recs: &[CellRecord]) {
    let mut s = String::new();
    for r in recs {
        s.push_str(&serde_json::to_string(r).unwrap());
        s.push('\n');
    }
    std::fs::write(dir.join("records.jsonl"), s).unwrap();
}

/// `n` per-user values around `mean` (uniform noise of half-width 0.2), seeded.
fn values(n: usize, mean: f64, seed: &str) -> Vec<f64> {
    let mut rng = Seed::new(7).child(seed).rng();
    (0..n).map(|_| mean + (rng.random::<f64>() - 0.5) * 0.4).collect()
}

fn failed(id: &str, protocol: &str, view: &str, m: MethodInfo, err: &str) -> CellRecord {
    let mut r = base_record(id, protocol, view, m, 0);
    r.status = Status::Failed;
    r.error = Some(err.into());
    r
}

const FULL: &str = "ml-100k/loo/full";
const SAMPLED: &str = "ml-100k/loo/sampled-100";

/// Two protocols; three finished methods in each and one failed cell in the full one.
fn fixture(dir: &Path) -> Vec<CellRecord> {
    let bpr = method("bpr", "BPR", "crm", None);
    let sas = method("sasrec", "SASRec", "crm", None);
    let llm = method("llmrank", "LLMRank", "q3", Some(135_000_000));
    let mut recs = Vec::new();
    for (m, full_mean, sampled_mean, train_s) in
        [(&bpr, 0.30, 0.60, 1.0), (&sas, 0.50, 0.70, 10.0), (&llm, 0.40, 0.80, 100.0)]
    {
        for (p, v, mean) in [(FULL, "full", full_mean), (SAMPLED, "sampled-100", sampled_mean)] {
            let mut r = write_cell(
                dir,
                &Cell {
                    protocol: p,
                    view: v,
                    method: m.clone(),
                    seed: 0,
                    metric: "ndcg@10",
                    values: values(200, mean, &format!("{p}/{}", m.id)),
                },
            );
            r.cost.train_seconds = train_s;
            recs.push(r);
        }
    }
    recs.push(failed(
        "full-fail",
        FULL,
        "full",
        method("tiger", "TIGER", "q4", None),
        "out of memory\nat step 3",
    ));
    recs
}

#[test]
fn one_table_per_protocol_with_values_ci_and_failed_rows() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    write_records(d.path(), &recs);
    let run = load_run(d.path()).unwrap();
    assert_eq!(run.records.len(), 7);
    let lb = model::build(&run, &ReportOptions::default()).unwrap();
    assert_eq!(lb.tables.len(), 2, "one table per protocol");
    let full = &lb.tables[0];
    let sampled = &lb.tables[1];
    assert_eq!(full.protocol, FULL);
    assert_eq!(sampled.protocol, SAMPLED);
    // Each table holds only its own protocol's numbers.
    let rec = |p: &str, id: &str| {
        recs.iter().find(|r| r.protocol == p && r.method.id == id).unwrap().test["ndcg@10"].clone()
    };
    for (t, p) in [(full, FULL), (sampled, SAMPLED)] {
        for row in &t.rows {
            let v = row.values[0].as_ref().unwrap();
            let want = rec(p, &row.method.id);
            assert_eq!(v.mean, want.mean);
            assert_eq!(v.ci, Some((want.ci_low, want.ci_high)));
            // CI formatting: mean [lo, hi] with 4 decimals
            assert_eq!(
                v.display(),
                format!("{:.4} [{:.4}, {:.4}]", want.mean, want.ci_low, want.ci_high)
            );
        }
        // hr@10 and mrr columns exist but were not recorded
        assert_eq!(
            t.metrics.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            ["ndcg@10", "hr@10", "mrr"]
        );
        assert!(t.rows.iter().all(|r| r.values[1].is_none()));
    }
    // Ordered best first by the main metric.
    let order =
        |t: &model::ProtocolTable| t.rows.iter().map(|r| r.method.id.clone()).collect::<Vec<_>>();
    assert_eq!(order(full), ["sasrec", "llmrank", "bpr"]);
    assert_eq!(order(sampled), ["llmrank", "sasrec", "bpr"]);
    // The failed cell is listed (full protocol only) with its error.
    assert_eq!(full.failed.len(), 1);
    assert_eq!(full.failed[0].error, "out of memory\nat step 3");
    assert!(sampled.failed.is_empty());
    let (_, rows) = quadrec_report::render::cells(full);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3][1], "TIGER");
    assert_eq!(rows[3].last().unwrap(), "FAILED: out of memory\nat step 3");
    // Cost columns.
    let n = rows[0].len();
    assert_eq!(
        rows[0][n - 8..n - 1].to_vec(),
        ["10.00", "1.50", "0.250", "2.000", "123.5k", "512 MiB", "0"]
    );
    assert_eq!(rows[0][n - 1], "ok");
    // The configurations section: one entry per method and distinct params, with its views.
    let keys: Vec<&str> = lb.configurations.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["bpr", "llmrank", "sasrec"], "ok records only, TIGER failed");
    assert!(lb.configurations.iter().all(|c| c.params == "{}"));
    assert!(lb.configurations[0].views.contains("full"), "{:?}", lb.configurations[0]);
    let md = quadrec_report::render::markdown::render(&lb);
    assert!(md.contains("## Configurations and budgets"));
}

#[test]
fn planted_difference_is_marked_and_holm_adjusts_the_table() {
    let d = tempfile::tempdir().unwrap();
    let n = 300;
    let best = values(n, 0.5, "best");
    // planted: 0.1 lower for every user
    let worse: Vec<f64> = best.iter().map(|v| v - 0.1).collect();
    // same as best up to symmetric noise: no real difference
    // differences +e, -e in pairs of users (e up to 1e-3), shifted by -1e-7 so that `best` stays
    // the best row: no real difference
    let mut rng = Seed::new(3).rng();
    let eps: Vec<f64> = (0..n / 2).map(|_| rng.random::<f64>() * 1e-3).collect();
    let same: Vec<f64> = best
        .iter()
        .enumerate()
        .map(|(i, v)| v - 1e-7 + if i % 2 == 0 { eps[i / 2] } else { -eps[i / 2] })
        .collect();
    let mk = |id: &str, vals: &Vec<f64>| Cell {
        protocol: FULL,
        view: "full",
        method: method(id, id, "crm", None),
        seed: 0,
        metric: "ndcg@10",
        values: vals.clone(),
    };
    let recs: Vec<CellRecord> = [mk("best", &best), mk("worse", &worse), mk("same", &same)]
        .iter()
        .map(|c| write_cell(d.path(), c))
        .collect();
    write_records(d.path(), &recs);
    let run = load_run(d.path()).unwrap();
    let opts = ReportOptions { n_resamples: 2000, ..ReportOptions::default() };
    let lb = model::build(&run, &opts).unwrap();
    let t = &lb.tables[0];
    let by = |id: &str| t.rows.iter().find(|r| r.method.id == id).unwrap();
    assert_eq!(by("best").sig, Sig::Best);
    let Sig::Compared(w) = &by("worse").sig else {
        panic!("worse not compared: {:?}", by("worse").sig)
    };
    let Sig::Compared(s) = &by("same").sig else { panic!("same not compared") };
    assert_eq!(w.n_pairs, n);
    assert!((w.mean_diff + 0.1).abs() < 1e-9, "{}", w.mean_diff);
    assert!(w.significant && w.wilcoxon_significant, "{w:?}");
    assert!(!s.significant && !s.wilcoxon_significant, "{s:?}");
    // Holm over the two comparisons of the table, in table order.
    let cmp: Vec<_> = t
        .rows
        .iter()
        .filter_map(|r| match &r.sig {
            Sig::Compared(c) => Some(c),
            _ => None,
        })
        .collect();
    let adj = stats::holm(&cmp.iter().map(|c| c.p).collect::<Vec<_>>());
    let adj_w = stats::holm(&cmp.iter().map(|c| c.wilcoxon_p).collect::<Vec<_>>());
    for (k, c) in cmp.iter().enumerate() {
        assert_eq!(c.p_holm, adj[k]);
        assert_eq!(c.wilcoxon_holm, adj_w[k]);
        assert!(c.p_holm >= c.p);
    }
    // The smallest p is multiplied by 2 (m = 2): the planted one.
    assert_eq!(w.wilcoxon_holm, (2.0 * w.wilcoxon_p).min(1.0));
    // Marks in the rendered table: main metric cell of `worse` ends with " *†", best says (best).
    let (_, rows) = quadrec_report::render::cells(t);
    let cell = |id: &str| rows.iter().find(|r| r[1] == id).unwrap()[6].clone();
    assert!(cell("worse").ends_with(" *†"), "{}", cell("worse"));
    assert!(cell("best").ends_with(" (best)"));
    assert!(!cell("same").contains('*') && !cell("same").contains('†'));
    // Deterministic: the same options give the same p-values.
    let again = model::build(&run, &opts).unwrap();
    assert_eq!(again.tables[0].rows[1].sig, t.rows[1].sig);
}

#[test]
fn several_seeds_give_mean_and_std() {
    let d = tempfile::tempdir().unwrap();
    let mut recs = Vec::new();
    for seed in 0..3 {
        recs.push(write_cell(
            d.path(),
            &Cell {
                protocol: FULL,
                view: "full",
                method: method("bpr", "BPR", "crm", None),
                seed,
                metric: "ndcg@10",
                values: values(50, 0.3 + 0.01 * seed as f64, &format!("s{seed}")),
            },
        ));
    }
    write_records(d.path(), &recs);
    let lb = model::build(&load_run(d.path()).unwrap(), &ReportOptions::default()).unwrap();
    let row = &lb.tables[0].rows[0];
    assert_eq!(row.seeds, [0, 1, 2]);
    let v = row.values[0].as_ref().unwrap();
    let want = stats::mean_std(&recs.iter().map(|r| r.test["ndcg@10"].mean).collect::<Vec<_>>());
    assert_eq!(v.seeds, Some(want));
    assert_eq!(v.ci, None);
    assert_eq!(v.display(), format!("{:.4} ± {:.4} (n=3 seeds)", want.mean, want.std));
}

#[test]
fn kendall_tau_between_views_of_one_split() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    write_records(d.path(), &recs);
    let lb = model::build(&load_run(d.path()).unwrap(), &ReportOptions::default()).unwrap();
    // full: sasrec > llmrank > bpr; sampled: llmrank > sasrec > bpr: one discordant pair of 3.
    assert_eq!(lb.robustness.len(), 1);
    let e = &lb.robustness[0];
    assert_eq!(e.protocol_a.0, FULL);
    assert_eq!(e.protocol_b.0, SAMPLED);
    assert_eq!(e.methods, ["bpr", "llmrank", "sasrec"]);
    assert!((e.tau.unwrap() - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn no_tau_when_fewer_than_two_shared_methods_or_other_split() {
    let d = tempfile::tempdir().unwrap();
    let mk = |p: &str, v: &str, id: &str| {
        write_cell(
            d.path(),
            &Cell {
                protocol: p,
                view: v,
                method: method(id, id, "crm", None),
                seed: 0,
                metric: "ndcg@10",
                values: values(20, 0.3, id),
            },
        )
    };
    let mut recs = vec![
        mk(FULL, "full", "a"),
        mk(FULL, "full", "b"),
        mk("ml-100k/loo/closed-20", "closed-20", "a"),
    ];
    let mut other = mk("ml-100k/temporal/sampled-100", "sampled-100", "a");
    other.split = "temporal".into();
    recs.push(other);
    let mut other_b = mk("ml-100k/temporal/sampled-100", "sampled-100", "b");
    other_b.split = "temporal".into();
    other_b.cell_id.push('b');
    recs.push(other_b);
    write_records(d.path(), &recs);
    let lb = model::build(&load_run(d.path()).unwrap(), &ReportOptions::default()).unwrap();
    assert_eq!(lb.tables.len(), 3);
    assert!(lb.robustness.is_empty(), "{:?}", lb.robustness);
}

#[test]
fn truncated_last_line_is_reported_and_ignored() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    write_records(d.path(), &recs);
    let full = std::fs::read_to_string(d.path().join("records.jsonl")).unwrap();
    let extra = serde_json::to_string(&recs[0]).unwrap();
    // a killed writer: half of one more line, no newline
    std::fs::write(d.path().join("records.jsonl"), format!("{full}{}", &extra[..extra.len() / 2]))
        .unwrap();
    let run = load_run(d.path()).unwrap();
    assert_eq!(run.records.len(), 7);
    let tail = run.truncated_tail.clone().unwrap();
    assert_eq!(tail.line, 8);
    assert_eq!(tail.bytes, extra.len() / 2);
    assert!(
        run.warnings()[0].contains("records.jsonl:8: unterminated last line"),
        "{:?}",
        run.warnings()
    );
    // the warning reaches the rendered report
    let out = d.path().join("out");
    let files = render_all(d.path(), &out, &ReportOptions::default()).unwrap();
    assert!(files.warnings.iter().any(|w| w.contains("unterminated")));
    assert!(std::fs::read_to_string(&files.markdown).unwrap().contains("unterminated last line"));
}

#[test]
fn jobs_of_the_suite_without_records_are_listed_as_pending() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    write_records(d.path(), &recs);
    // The fixture has bpr, sasrec and llmrank on seed 0 (and a failed tiger: a record, so done).
    let suite = serde_json::json!({
        "name": "t", "seeds": [0, 1],
        "method": [
            { "id": "bpr" },
            { "id": "llmrank", "seeds": [0] },
            { "id": "sasrec", "label": "ce" },
            { "id": "tiger", "seeds": [0] },
        ]
    });
    std::fs::write(d.path().join("suite.json"), suite.to_string()).unwrap();
    let run = load_run(d.path()).unwrap();
    // sasrec's records have no variant, so `sasrec:ce` has none on either seed.
    assert_eq!(run.planned, 2 + 1 + 2 + 1);
    assert_eq!(run.pending, ["bpr/1", "sasrec:ce/0", "sasrec:ce/1"]);
    let out = d.path().join("out");
    let files = render_all(d.path(), &out, &ReportOptions::default()).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(md.contains("partial run: 3 of the 6 jobs"), "{md}");
    // Complete: no note. A folder without a suite file (older runs) has nothing pending.
    std::fs::write(d.path().join("suite.json"), r#"{"seeds": [0], "method": [{"id": "bpr"}]}"#)
        .unwrap();
    let run = load_run(d.path()).unwrap();
    assert!(run.pending.is_empty() && !run.warnings().iter().any(|w| w.contains("partial")));
    std::fs::remove_file(d.path().join("suite.json")).unwrap();
    assert_eq!(load_run(d.path()).unwrap().planned, 0);
    // A broken suite file is an error naming it.
    std::fs::write(d.path().join("suite.json"), "{").unwrap();
    let err = load_run(d.path()).unwrap_err().to_string();
    assert!(err.contains("suite.json") && err.contains("suite file"), "{err}");
}

#[test]
fn malformed_line_names_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    let mut lines: Vec<String> = recs.iter().map(|r| serde_json::to_string(r).unwrap()).collect();
    lines[1] = lines[1].replace("\"seed\":0", "\"seed\":\"zero\"");
    std::fs::write(d.path().join("records.jsonl"), lines.join("\n") + "\n").unwrap();
    let e = load_run(d.path()).unwrap_err().to_string();
    assert!(e.contains("records.jsonl:2: malformed record"), "{e}");
    // a complete (newline-terminated) but broken last line is an error too, not a truncation
    let mut lines: Vec<String> = recs.iter().map(|r| serde_json::to_string(r).unwrap()).collect();
    lines.push("{\"schema\":1".into());
    std::fs::write(d.path().join("records.jsonl"), lines.join("\n") + "\n").unwrap();
    let e = load_run(d.path()).unwrap_err().to_string();
    assert!(e.contains("records.jsonl:8:"), "{e}");
    // newer schema
    let mut r = recs[0].clone();
    r.schema = RECORD_SCHEMA + 1;
    write_records(d.path(), &[r]);
    let e = load_run(d.path()).unwrap_err().to_string();
    assert!(e.contains("records.jsonl:1: record schema 2 is newer"), "{e}");
    // missing file
    let e = load_run(&d.path().join("nope")).unwrap_err().to_string();
    assert!(e.contains("nope/records.jsonl"), "{e}");
}

#[test]
fn retried_cell_supersedes_the_failed_record() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    let mut first = recs[0].clone();
    first.status = Status::Failed;
    first.error = Some("transient".into());
    let mut all = vec![first];
    all.extend(recs.iter().cloned());
    write_records(d.path(), &all);
    let run = load_run(d.path()).unwrap();
    assert_eq!(run.records.len(), 7);
    assert_eq!(run.superseded, vec![(1, recs[0].cell_id.clone())]);
    let lb = model::build(&run, &ReportOptions::default()).unwrap();
    assert!(lb.tables[0].failed.iter().all(|f| f.error != "transient"));
}

/// Tiny well-formedness check: every tag opened is closed in order (void `meta`, self-closing
/// `.../>` aside), and only the elements the renderer emits appear.
fn check_html(h: &str) {
    const ALLOWED: &[&str] = &[
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "p",
        "section",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "figure",
        "figcaption",
        "svg",
        "line",
        "text",
        "circle",
        "polyline",
        "rect",
        "ul",
        "li",
    ];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = h.strip_prefix("<!DOCTYPE html>").expect("doctype");
    while let Some(i) = rest.find('<') {
        let end = rest[i..].find('>').expect("unclosed <") + i;
        let tag = &rest[i + 1..end];
        assert!(!tag.contains('<'), "stray < in {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else {
            let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            assert!(ALLOWED.contains(&name.as_str()), "unexpected element <{name}>");
            // attribute values are double-quoted and contain no raw quote
            assert_eq!(tag.matches('"').count() % 2, 0, "odd quotes in <{tag}>");
            if !(tag.ends_with('/') || name == "meta") {
                stack.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn hostile_strings_are_escaped_everywhere() {
    let d = tempfile::tempdir().unwrap();
    let mut m = method("evil", HOSTILE, "q2", Some(7_000_000_000));
    m.variant = HOSTILE.into();
    let mut recs = fixture(d.path());
    let mut evil = write_cell(
        d.path(),
        &Cell {
            protocol: FULL,
            view: "full",
            method: m.clone(),
            seed: 0,
            metric: "ndcg@10",
            values: values(200, 0.45, "evil"),
        },
    );
    evil.suite = HOSTILE.into();
    recs.push(evil);
    recs.push(failed("evil-fail", FULL, "full", m.clone(), HOSTILE));
    // a hostile protocol id (its own table)
    let mut p = write_cell(
        d.path(),
        &Cell {
            protocol: HOSTILE,
            view: "full",
            method: m,
            seed: 1,
            metric: "ndcg@10",
            values: values(10, 0.2, "p"),
        },
    );
    p.dataset = HOSTILE.into();
    recs.push(p);
    write_records(d.path(), &recs);
    let out = d.path().join("report");
    let files = render_all(d.path(), &out, &ReportOptions::default()).unwrap();
    assert_eq!(files.n_tables, 3);
    assert_eq!(files.n_failed, 2);

    let html = std::fs::read_to_string(&files.html).unwrap();
    check_html(&html);
    assert!(!html.contains("<script") && !html.contains("alert(\"p\")"));
    assert!(
        html.contains(
            "x|y`z&lt;script&gt;alert(&quot;p&quot;)&lt;/script&gt;&amp;amp; &#39;q&#39;"
        )
    );
    // self-contained: no external resource or script
    for bad in ["src=", "href=", "<link", "@import", "url("] {
        assert!(!html.contains(bad), "{bad}");
    }
    // plots present: scatter with the Pareto front, CI bars, quadrant map
    assert!(html.contains("class=\"front\""));
    assert!(html.contains("Measured quadrant map"));

    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(!md.contains("<script"));
    // every table line of the Markdown has as many unescaped pipes as its header line
    let unescaped = |l: &str| {
        let b = l.as_bytes();
        (0..b.len()).filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\')).count()
    };
    let mut header_pipes = None;
    for l in md.lines() {
        if l.starts_with('|') {
            let n = unescaped(l);
            match header_pipes {
                None => header_pipes = Some(n),
                Some(h) => assert_eq!(n, h, "{l}"),
            }
        } else {
            header_pipes = None;
        }
    }
    assert!(md.contains("x\\|y\\`z&lt;script&gt;"), "{md}");

    // CSV round-trips the exact strings
    let mut rdr = csv::Reader::from_path(&files.csv).unwrap();
    let hdr = rdr.headers().unwrap().clone();
    let col = |n: &str| hdr.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert!(rows.iter().any(|r| &r[col("error")] == HOSTILE && &r[col("status")] == "failed"));
    assert!(rows.iter().any(|r| &r[col("protocol")] == HOSTILE && &r[col("method")] == HOSTILE));

    // terminal: one line per row, no raw control characters
    let run = load_run(d.path()).unwrap();
    let term = render_terminal(&run, &ReportOptions::default());
    assert!(term.contains("FAILED: x|y`z<script>"));
    assert!(!term.contains("script>&amp; 'q'\n"));
}

#[test]
fn render_all_writes_three_files_and_nothing_else() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    write_records(d.path(), &recs);
    let out = d.path().join("out");
    let files = render_all(d.path(), &out, &ReportOptions::default()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["leaderboard.csv", "leaderboard.md", "report.html"]);
    assert_eq!(files.n_tables, 2);
    assert_eq!(files.n_failed, 1);
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(
        md.contains("## Protocol ml\\-100k/loo/full")
            || md.contains("## Protocol ml-100k/loo/full"),
        "{md}"
    );
    assert!(md.contains("FAILED: out of memory<br>at step 3"));
    let n_csv = csv::Reader::from_path(&files.csv).unwrap().records().count();
    assert_eq!(n_csv, 6 + 1, "6 metric lines (ndcg@10 of 3 methods x 2 protocols) + 1 failed cell");
    // rendering twice gives identical bytes (no HashMap order, seeded tests)
    let again = render_all(d.path(), &d.path().join("out2"), &ReportOptions::default()).unwrap();
    for (a, b) in
        [(&files.html, &again.html), (&files.csv, &again.csv), (&files.markdown, &again.markdown)]
    {
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
    // bad options: typed error naming the option
    let mut o = ReportOptions::default();
    o.main_metric.insert(quadrec_report::ViewKind::Full, "ndgc@10".into());
    let e = render_all(d.path(), &out, &o).unwrap_err().to_string();
    assert!(e.contains("main_metric.full"), "{e}");
}

#[test]
fn quadrant_map_colours_by_best_baseline_beaten() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    write_records(d.path(), &recs);
    let lb = model::build(&load_run(d.path()).unwrap(), &ReportOptions::default()).unwrap();
    // full: SASRec 0.5 > LLMRank 0.4 > BPR 0.3: LLMRank beats BPR (second baseline colour)
    let svg = quadrec_report::render::html::render(&lb);
    assert!(
        svg.contains("LLMRank (Q3, LM parameters 135.00M): best baseline beaten: BPR"),
        "{svg}"
    );
    // sampled: LLMRank 0.8 beats SASRec, the best baseline
    assert!(svg.contains("best baseline beaten: SASRec"));
    // the failed TIGER cell has no marker (no measurement), but it is in the table
    assert!(!svg.contains("TIGER (Q4"));
    assert!(svg.contains("FAILED: out of memory"));
}

#[test]
fn pointwise_tables_use_auc_gauc_logloss() {
    let d = tempfile::tempdir().unwrap();
    let mut recs = Vec::new();
    for (id, mean) in [("din", 0.7), ("tallrec", 0.75)] {
        let mut r = write_cell(
            d.path(),
            &Cell {
                protocol: "ml-100k/loo/pointwise",
                view: "pointwise",
                method: method(id, id, "crm", None),
                seed: 0,
                metric: "auc",
                values: values(60, mean, id),
            },
        );
        r.test.insert(
            "logloss".into(),
            MetricValue { mean: 0.6, ci_low: 0.55, ci_high: 0.65, n: 60 },
        );
        recs.push(r);
    }
    write_records(d.path(), &recs);
    let lb = model::build(&load_run(d.path()).unwrap(), &ReportOptions::default()).unwrap();
    let t = &lb.tables[0];
    assert_eq!(
        t.metrics.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["auc", "gauc", "logloss"]
    );
    assert_eq!(t.main, Some(0));
    assert!(!t.metrics[2].higher_is_better);
    assert_eq!(t.rows[0].method.id, "tallrec");
    assert!(matches!(t.rows[1].sig, Sig::Compared(_)));
    let (h, _) = quadrec_report::render::cells(t);
    assert_eq!(h[6], "auc ↑ (main)");
    assert_eq!(h[8], "logloss ↓");
}

/// Writes a sample report to `$QUADREC_REPORT_SAMPLE` when set (for looking at the HTML by eye);
/// otherwise checks that the terminal rendering lists every row and the robustness line.
#[test]
fn terminal_rendering_lists_rows_failures_and_robustness() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    write_records(d.path(), &recs);
    let run = load_run(d.path()).unwrap();
    let term = render_terminal(&run, &ReportOptions::default());
    for needle in [
        "== Protocol ml-100k/loo/full ==",
        "SASRec",
        "LLMRank",
        "BPR",
        "FAILED: out of memory\\nat step 3",
        "tau = 0.333 over 3 methods",
    ] {
        assert!(term.contains(needle), "{needle} missing in\n{term}");
    }
    if let Ok(out) = std::env::var("QUADREC_REPORT_SAMPLE") {
        render_all(d.path(), Path::new(&out), &ReportOptions::default()).unwrap();
        println!("{term}");
    }
}

#[test]
fn seeds_are_averaged_per_user_before_pairing() {
    let d = tempfile::tempdir().unwrap();
    let mut recs = Vec::new();
    let mut per: BTreeMap<&str, Vec<Vec<f64>>> = BTreeMap::new();
    for (id, mean) in [("a", 0.5), ("b", 0.45)] {
        for seed in 0..2 {
            let v = values(40, mean, &format!("{id}{seed}"));
            per.entry(id).or_default().push(v.clone());
            recs.push(write_cell(
                d.path(),
                &Cell {
                    protocol: FULL,
                    view: "full",
                    method: method(id, id, "crm", None),
                    seed,
                    metric: "ndcg@10",
                    values: v,
                },
            ));
        }
    }
    write_records(d.path(), &recs);
    let lb = model::build(&load_run(d.path()).unwrap(), &ReportOptions::default()).unwrap();
    let t = &lb.tables[0];
    assert_eq!(t.rows[0].method.id, "a");
    let Sig::Compared(c) = &t.rows[1].sig else { panic!("{:?}", t.rows[1].sig) };
    assert_eq!(c.n_pairs, 40);
    let avg = |id: &str, u: usize| (per[id][0][u] + per[id][1][u]) / 2.0;
    let want = (0..40).map(|u| avg("b", u) - avg("a", u)).sum::<f64>() / 40.0;
    assert!((c.mean_diff - want).abs() < 1e-12, "{} vs {want}", c.mean_diff);
}

#[test]
fn missing_per_user_file_is_reported_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    write_records(d.path(), &recs);
    let bpr_full = recs.iter().find(|r| r.protocol == FULL && r.method.id == "bpr").unwrap();
    std::fs::remove_file(d.path().join(bpr_full.per_user.as_ref().unwrap())).unwrap();
    let lb = model::build(&load_run(d.path()).unwrap(), &ReportOptions::default()).unwrap();
    let row = lb.tables[0].rows.iter().find(|r| r.method.id == "bpr").unwrap();
    let Sig::Unavailable(why) = &row.sig else { panic!("{:?}", row.sig) };
    assert!(why.contains(&bpr_full.cell_id) && why.contains(".parquet"), "{why}");
    // its numbers are still in the table
    assert!(row.values[0].is_some());
    // the other comparison still ran, and Holm counts only the comparisons that ran
    let llm = lb.tables[0].rows.iter().find(|r| r.method.id == "llmrank").unwrap();
    let Sig::Compared(c) = &llm.sig else { panic!() };
    assert_eq!(c.p_holm, c.p);
}

/// Every coordinate of every plot lies inside its SVG canvas.
#[test]
fn plots_stay_inside_their_canvas() {
    let d = tempfile::tempdir().unwrap();
    let recs = fixture(d.path());
    write_records(d.path(), &recs);
    let lb = model::build(&load_run(d.path()).unwrap(), &ReportOptions::default()).unwrap();
    let html = quadrec_report::render::html::render(&lb);
    let mut n_svg = 0;
    for svg in html.split("<svg ").skip(1) {
        n_svg += 1;
        let svg = &svg[..svg.find("</svg>").unwrap()];
        let vb = &svg[svg.find("viewBox=\"0 0 ").unwrap() + 13..];
        let vb: Vec<f64> =
            vb[..vb.find('"').unwrap()].split(' ').map(|x| x.parse().unwrap()).collect();
        for (attr, lim) in [
            (" x=\"", vb[0]),
            (" cx=\"", vb[0]),
            (" x1=\"", vb[0]),
            (" x2=\"", vb[0]),
            (" y=\"", vb[1]),
            (" cy=\"", vb[1]),
            (" y1=\"", vb[1]),
            (" y2=\"", vb[1]),
        ] {
            for part in svg.split(attr).skip(1) {
                let v: f64 = part[..part.find('"').unwrap()].parse().unwrap();
                assert!((0.0..=lim).contains(&v), "{attr}{v} outside 0..{lim}");
            }
        }
    }
    assert_eq!(n_svg, 6, "scatter, CI bars and quadrant map for each of the two protocols");
}

#[test]
fn empty_run_renders_an_empty_report() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("records.jsonl"), "").unwrap();
    let files = render_all(d.path(), d.path(), &ReportOptions::default()).unwrap();
    assert_eq!((files.n_tables, files.n_failed), (0, 0));
    let html = std::fs::read_to_string(&files.html).unwrap();
    check_html(&html);
    assert!(html.contains("No records."));
}

// ---------------------------------------------------------------------------------------------
// `quadrec compare`: pairwise tests between any two methods.

mod compare {
    use super::*;
    use quadrec_report::compare::{CompareOptions, compare_methods, render_json, render_terminal};
    use quadrec_report::{PairedTestKind, ReportError};

    fn variant(id: &str, label: &str) -> MethodInfo {
        let mut m = method(id, id, "q4", Some(1));
        m.variant = label.into();
        m
    }

    fn cell(
        dir: &Path,
        protocol: &str,
        view: &str,
        m: &MethodInfo,
        seed: u64,
        metric: &str,
        v: &[f64],
    ) -> CellRecord {
        let mut r = write_cell(
            dir,
            &Cell { protocol, view, method: m.clone(), seed, metric, values: v.to_vec() },
        );
        // Distinct cell ids for variants of one id.
        r.cell_id = format!("{}-{}", r.cell_id, m.variant);
        let rel = format!("per_user/{}.parquet", r.cell_id);
        std::fs::rename(dir.join(r.per_user.as_ref().unwrap()), dir.join(&rel)).unwrap();
        r.per_user = Some(rel);
        r
    }

    // Six users; B = A - d with d = [0.10, 0.20, 0.05, 0.30, 0.15, 0.25] (all positive).
    const A: [f64; 6] = [0.50, 0.70, 0.20, 0.90, 0.40, 0.60];
    const D: [f64; 6] = [0.10, 0.20, 0.05, 0.30, 0.15, 0.25];

    fn b_values() -> Vec<f64> {
        A.iter().zip(D).map(|(a, d)| a - d).collect()
    }

    /// Methods `tallrec:k64` (A, two seeds averaging to A per user), `collm` (B) and `collm2`
    /// (identical to B) in the full protocol; `collm` and `tallrec:k64` also in the sampled one.
    fn fixture(dir: &Path) {
        let ta = variant("tallrec", "k64");
        let co = method("collm", "CoLLM", "q1", Some(1));
        let co2 = method("collm2", "CoLLM copy", "q1", Some(1));
        let mut recs = Vec::new();
        // Seed 0 = A + 0.1, seed 1 = A - 0.1: per-user means are A.
        let up: Vec<f64> = A.iter().map(|x| x + 0.1).collect();
        let down: Vec<f64> = A.iter().map(|x| x - 0.1).collect();
        recs.push(cell(dir, FULL, "full", &ta, 0, "ndcg@10", &up));
        recs.push(cell(dir, FULL, "full", &ta, 1, "ndcg@10", &down));
        recs.push(cell(dir, FULL, "full", &co, 0, "ndcg@10", &b_values()));
        recs.push(cell(dir, FULL, "full", &co2, 0, "ndcg@10", &b_values()));
        let sampled_a = values(30, 0.6, "cmp/a");
        let sampled_b = values(30, 0.5, "cmp/b");
        recs.push(cell(dir, SAMPLED, "sampled-100", &ta, 0, "ndcg@10", &sampled_a));
        recs.push(cell(dir, SAMPLED, "sampled-100", &co, 0, "ndcg@10", &sampled_b));
        write_records(dir, &recs);
    }

    #[test]
    fn hand_computed_case_matches_the_stats_functions() {
        let d = tempfile::tempdir().unwrap();
        fixture(d.path());
        let run = load_run(d.path()).unwrap();
        let opts = CompareOptions::default();
        let out = compare_methods(&run, "tallrec:k64", "collm", &opts).unwrap();
        assert_eq!(out.len(), 2, "both protocols where both methods have cells");
        let full = &out[0];
        assert_eq!(full.protocol, FULL);
        assert_eq!(full.metric, "ndcg@10", "the main metric of the full table");
        assert_eq!(full.seeds_a, [0, 1]);
        let r = full.result.as_ref().unwrap();
        assert_eq!(r.n_pairs, 6);
        let want_diff = D.iter().sum::<f64>() / 6.0; // 0.175
        assert!((r.mean_diff - want_diff).abs() < 1e-12, "{}", r.mean_diff);
        let mean_a = A.iter().sum::<f64>() / 6.0;
        assert!((full.mean_a.unwrap() - mean_a).abs() < 1e-12);
        assert!((full.mean_b.unwrap() - (mean_a - want_diff)).abs() < 1e-12);
        // Same numbers as calling the statistics directly on the seed-averaged values.
        let a_avg: Vec<f64> = A.iter().map(|x| ((x + 0.1) + (x - 0.1)) / 2.0).collect();
        let b = b_values();
        let w = stats::wilcoxon_signed_rank(&a_avg, &b, false).unwrap();
        assert_eq!(r.wilcoxon_p, w.p_value);
        // Exact Wilcoxon, n = 6, all differences positive: p = 2 / 2^6.
        assert!((r.wilcoxon_p - 2.0 / 64.0).abs() < 1e-12, "{}", r.wilcoxon_p);
        let seed =
            Seed::new(0).child(&format!("compare/{FULL}/tallrec:k64/collm")).child("bootstrap");
        let boot = stats::paired_bootstrap(&a_avg, &b, 10_000, seed).unwrap();
        assert_eq!((r.p, r.ci_low, r.ci_high), (boot.p_value, boot.ci_lo, boot.ci_hi));
        assert!(r.ci_low > 0.0 && r.ci_high < 0.31);
        // Holm over the two protocols compared.
        let s = out[1].result.as_ref().unwrap();
        let holm = stats::holm(&[r.p, s.p]);
        assert_eq!((r.p_holm, s.p_holm), (holm[0], holm[1]));
        let holm_w = stats::holm(&[r.wilcoxon_p, s.wilcoxon_p]);
        assert_eq!((r.wilcoxon_holm, s.wilcoxon_holm), (holm_w[0], holm_w[1]));

        // Exact sign-flip permutation: all six differences positive, so only the identity and
        // the all-flipped vector reach |sum|: p = 2 / 64. Swapping A and B negates the difference.
        let perm = CompareOptions {
            report: ReportOptions { test: PairedTestKind::Permutation, ..Default::default() },
            protocol: Some("full".into()),
            ..Default::default()
        };
        let out = compare_methods(&run, "collm", "tallrec [k64]", &perm).unwrap();
        assert_eq!(out.len(), 1, "--protocol filters");
        let r = out[0].result.as_ref().unwrap();
        assert_eq!(r.p, 2.0 / 64.0);
        assert_eq!(r.n_resamples, 64);
        assert!((r.mean_diff + want_diff).abs() < 1e-12);
        // The CI is still the paired bootstrap's.
        assert!(r.ci_low < 0.0 && r.ci_high < 0.0);

        // Deterministic given the seed.
        let again = compare_methods(&run, "tallrec:k64", "collm", &opts).unwrap();
        assert_eq!(again, compare_methods(&run, "tallrec:k64", "collm", &opts).unwrap());
        let text = render_terminal(&again, &opts);
        for needle in ["A = tallrec:k64, B = collm", "+0.1750 [", "ml-100k/loo/full", "0.0312"] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
        let json: serde_json::Value = serde_json::from_str(&render_json(&again, &opts)).unwrap();
        assert_eq!(json["comparisons"][0]["result"]["n_pairs"], 6);
        assert_eq!(json["test"], "bootstrap");
    }

    #[test]
    fn identical_methods_differ_by_zero_with_p_one() {
        let d = tempfile::tempdir().unwrap();
        fixture(d.path());
        let run = load_run(d.path()).unwrap();
        for (x, y) in [("collm", "collm2"), ("collm", "collm")] {
            for test in [PairedTestKind::Bootstrap, PairedTestKind::Permutation] {
                let opts = CompareOptions {
                    report: ReportOptions { test, ..Default::default() },
                    protocol: Some(FULL.into()),
                    ..Default::default()
                };
                let out = compare_methods(&run, x, y, &opts).unwrap();
                let r = out[0].result.as_ref().unwrap();
                assert_eq!(r.mean_diff, 0.0);
                assert_eq!((r.p, r.p_holm, r.wilcoxon_p), (1.0, 1.0, 1.0), "{x} {y} {test:?}");
                assert_eq!((r.ci_low, r.ci_high), (0.0, 0.0));
                assert!(!r.significant);
            }
        }
    }

    #[test]
    fn unknown_key_metric_or_protocol_are_clear_errors() {
        let d = tempfile::tempdir().unwrap();
        fixture(d.path());
        let run = load_run(d.path()).unwrap();
        let opts = CompareOptions::default();
        let e = compare_methods(&run, "talrec:k64", "collm", &opts).unwrap_err();
        assert!(matches!(e, ReportError::UnknownMethod { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("no method `talrec:k64`")
                && msg.contains("did you mean `tallrec:k64`?")
                && msg.contains("collm, collm2, tallrec:k64"),
            "{msg}"
        );
        let bad_metric = CompareOptions { metric: Some("ndgc@10".into()), ..Default::default() };
        let msg = compare_methods(&run, "collm", "collm2", &bad_metric).unwrap_err().to_string();
        assert!(msg.contains("`metric`") && msg.contains("did you mean `ndcg`"), "{msg}");
        let absent = CompareOptions { metric: Some("HR@10".into()), ..Default::default() };
        let msg = compare_methods(&run, "collm", "collm2", &absent).unwrap_err().to_string();
        assert!(
            msg.contains("`hr@10` is recorded for neither") && msg.contains("ndcg@10"),
            "{msg}"
        );
        let proto = CompareOptions { protocol: Some("pointwise".into()), ..Default::default() };
        let msg = compare_methods(&run, "collm", "collm2", &proto).unwrap_err().to_string();
        assert!(msg.contains("no protocol id contains `pointwise`"), "{msg}");
        // collm2 ran in the full protocol only.
        let sampled = CompareOptions { protocol: Some("sampled".into()), ..Default::default() };
        let msg = compare_methods(&run, "collm", "collm2", &sampled).unwrap_err().to_string();
        assert!(msg.contains("no protocol matching `sampled` where both"), "{msg}");
        let msg = quadrec_report::compare::compare_run(&d.path().join("nope"), "a", "b", &opts)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("nope") && msg.contains("records.jsonl"), "{msg}");
    }

    #[test]
    fn global_metric_says_so_instead_of_a_p_value() {
        let d = tempfile::tempdir().unwrap();
        let mut recs = Vec::new();
        for (id, auc) in [("din", 0.7), ("tallrec", 0.75)] {
            // As the runner writes a pointwise cell: AUC over all labelled rows, NaN per user.
            let p = "ml-100k/loo/pointwise";
            let mut r = base_record(id, p, "pointwise", method(id, id, "crm", None), 0);
            let rel = format!("per_user/{id}.parquet");
            let t = PerUserTable {
                users: (0..5).collect(),
                columns: vec![("auc".into(), vec![f64::NAN; 5])],
            };
            t.write_parquet(&d.path().join(&rel), &BTreeMap::new()).unwrap();
            r.per_user = Some(rel);
            r.test.insert("auc".into(), MetricValue { mean: auc, ci_low: auc, ci_high: auc, n: 0 });
            recs.push(r);
        }
        write_records(d.path(), &recs);
        let run = load_run(d.path()).unwrap();
        let opts = CompareOptions::default();
        let out = compare_methods(&run, "din", "tallrec", &opts).unwrap();
        assert_eq!(out[0].metric, "auc");
        assert!(out[0].result.is_none());
        assert_eq!((out[0].mean_a, out[0].mean_b), (Some(0.7), Some(0.75)));
        let why = out[0].unavailable.as_deref().unwrap();
        assert!(why.contains("no per-user values (global metric)"), "{why}");
        let text = render_terminal(&out, &opts);
        assert!(text.contains("global metric") && text.contains("0.7000"), "{text}");
    }
}

#[test]
fn diagnostics_round_trip_render_and_old_records_still_load() {
    let d = tempfile::tempdir().unwrap();
    let mut recs = fixture(d.path());
    // Records without diagnostics serialise without the field (the pre-diagnostics format) and
    // render no Diagnostics section.
    let old_line = serde_json::to_string(&recs[0]).unwrap();
    assert!(!old_line.contains("diagnostics"), "{old_line}");
    write_records(d.path(), &recs);
    let lb = model::build(&load_run(d.path()).unwrap(), &ReportOptions::default()).unwrap();
    assert!(lb.diagnostics.is_empty());
    assert!(!quadrec_report::render::markdown::render(&lb).contains("Diagnostics"));
    assert!(!quadrec_report::render::html::render(&lb).contains("Diagnostics"));
    // A record written before the field existed (the key removed from its JSON) still loads.
    let mut v: serde_json::Value = serde_json::from_str(&old_line).unwrap();
    assert!(v.as_object_mut().unwrap().remove("diagnostics").is_none());
    let back: CellRecord = serde_json::from_value(v).unwrap();
    assert!(back.diagnostics.is_empty());
    assert_eq!(back, recs[0]);

    // With diagnostics: they round-trip through records.jsonl and are rendered, escaped.
    let i = recs.iter().position(|r| r.method.id == "llmrank" && r.protocol == FULL).unwrap();
    recs[i].diagnostics = BTreeMap::from([
        ("yes_no_outside_mass".to_string(), 0.123_456),
        ("yes_no_prompts".to_string(), 943.0),
        (HOSTILE.to_string(), 0.5),
    ]);
    write_records(d.path(), &recs);
    let run = load_run(d.path()).unwrap();
    let loaded = run.records.iter().find(|r| r.cell_id == recs[i].cell_id).unwrap();
    assert_eq!(loaded.diagnostics, recs[i].diagnostics);
    let lb = model::build(&run, &ReportOptions::default()).unwrap();
    assert_eq!(lb.diagnostics.len(), 3);
    assert!(lb.diagnostics.iter().all(|e| e.key == "llmrank" && e.view == "full"));
    let mass = lb.diagnostics.iter().find(|e| e.name == "yes_no_outside_mass").unwrap();
    assert_eq!(mass.value, 0.123_456);
    assert_eq!(mass.display(), "0.1235");
    let n = lb.diagnostics.iter().find(|e| e.name == "yes_no_prompts").unwrap();
    assert_eq!(n.display(), "943");
    let md = quadrec_report::render::markdown::render(&lb);
    assert!(md.contains("## Diagnostics"), "{md}");
    assert!(md.contains("| llmrank | full | 0 | yes\\_no\\_outside\\_mass | 0.1235 |"), "{md}");
    assert!(md.contains("| 943 |"), "{md}");
    assert!(!md.contains("<script>"), "hostile name not escaped in Markdown");
    let html = quadrec_report::render::html::render(&lb);
    assert!(html.contains("<h2>Diagnostics</h2>"));
    assert!(html.contains("<td>0.1235</td>"), "{html}");
    check_html(&html);
}
