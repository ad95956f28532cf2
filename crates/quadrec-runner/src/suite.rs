//! Suite files: datasets x split protocols x views x methods x seeds x parameter grids.
//!
//! A suite is TOML, parsed into typed structs. Unknown keys at any level are rejected with the
//! file, the table and a "did you mean" suggestion (serde's `deny_unknown_fields` alone gives no
//! suggestion, and burn's `Config` would silently ignore them). Method ids are checked against
//! the registry, and every method's params / grid keys against its typed params, before anything
//! runs: a misspelling fails in the first second, not after an hour of training.
//!
//! ```toml
//! name = "default"
//! seeds = [0]
//! select_by = "ndcg@10"
//!
//! [[dataset]]
//! id = "ml-100k"
//!
//! [[protocol]]
//! split = "loo"
//! views = ["full", "sampled", "closed"]
//!
//! [[method]]
//! id = "sasrec"
//! label = "ce"                          # variant label shown in the leaderboard
//! params = { recipe = "ce" }
//! grid = { lr = [0.001, 0.0005] }       # searched on VALIDATION
//! budget = 2                            # trials (grid points, or random draws if smaller)
//!
//! [[method]]
//! id = "tallrec-zs"
//! seeds = [0]                           # seed-invariant (frozen LM): one seed, not the suite's
//! ```

use quadrec_method::{MethodEntry, find_entry, suggest};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Suite errors, naming the file and the offending table/key.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// File unreadable.
    #[error("{path}: {source}")]
    Io {
        /// The suite file.
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
    /// TOML syntax or type error.
    #[error("{path}: {message}")]
    Syntax {
        /// The suite file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key the suite format does not have.
    #[error("{path}: unknown key `{key}` in {table}{}; valid keys: {}",
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        valid.join(", "))]
    UnknownKey {
        /// The suite file.
        path: PathBuf,
        /// Where (`[[method]] #2`).
        table: String,
        /// The key.
        key: String,
        /// Closest valid key.
        suggestion: Option<String>,
        /// Valid keys.
        valid: Vec<String>,
    },
    /// A semantic error (unknown method, bad view, empty grid...).
    #[error("{path}: {table}: {message}")]
    Invalid {
        /// The suite file.
        path: PathBuf,
        /// Where.
        table: String,
        /// What is wrong.
        message: String,
    },
}

/// A parsed, validated suite.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Suite name (recorded in every cell).
    pub name: String,
    /// What the suite is for.
    #[serde(default)]
    pub description: String,
    /// Seeds; every (dataset, protocol, method) runs once per seed.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Validation metric used for tuning and early stopping.
    #[serde(default = "default_select_by")]
    pub select_by: String,
    /// Test metrics of ranking views.
    #[serde(default = "default_ranking_metrics")]
    pub ranking_metrics: Vec<String>,
    /// Test metrics of the pointwise view.
    #[serde(default = "default_pointwise_metrics")]
    pub pointwise_metrics: Vec<String>,
    /// Bootstrap resamples for confidence intervals.
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    /// Datasets.
    #[serde(rename = "dataset")]
    pub datasets: Vec<DatasetSpec>,
    /// Split protocols, each with its evaluation views.
    #[serde(rename = "protocol")]
    pub protocols: Vec<ProtocolSpec>,
    /// Methods (with params and grids).
    #[serde(rename = "method")]
    pub methods: Vec<MethodSpec>,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}
fn default_select_by() -> String {
    "ndcg@10".into()
}
fn default_ranking_metrics() -> Vec<String> {
    ["ndcg@10", "hr@10", "recall@20", "mrr", "map@10", "coverage@10", "avg_pop@10", "gini@10"]
        .map(String::from)
        .to_vec()
}
fn default_pointwise_metrics() -> Vec<String> {
    ["auc", "gauc", "logloss", "accuracy"].map(String::from).to_vec()
}
fn default_bootstrap() -> usize {
    1000
}

/// A dataset of the suite.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// `ml-100k` (fetched and verified automatically), `fixture:tiny` (committed test data),
    /// or a folder holding a processed dataset (`quadrec data import` output).
    pub id: String,
}

/// A split protocol and its views.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSpec {
    /// `loo` (leave-one-out by time), `temporal` or `ratio`.
    pub split: String,
    /// Evaluation views: `full`, `sampled` (1 + N negatives), `closed` (target + random unseen
    /// candidates), `hard` (target + the top unseen items of `hard_retriever`), `pointwise`
    /// (the held-out interactions labelled `rating > pointwise_threshold`), `conv` (each user's
    /// natural-language request composed from the held-out item, scored by the methods that
    /// read requests, and only by them; see `Method::reads_requests`). A suffix `@u<N>`
    /// evaluates the view on a pinned sample of N test users (seeded, recorded, the same users for
    /// every method): `closed@u100`. See [`parse_view`].
    #[serde(default = "default_views")]
    pub views: Vec<String>,
    /// Negatives of the sampled view.
    #[serde(default = "default_sampled_n")]
    pub sampled_negatives: usize,
    /// Candidates of the closed-set and hard views.
    #[serde(default = "default_closed_n")]
    pub closed_candidates: usize,
    /// Registry id of the conventional retriever whose top unseen items fill the `hard` view
    /// (fitted on train with its default params and the view seed, no early stopping).
    #[serde(default = "default_hard_retriever")]
    pub hard_retriever: String,
    /// Pointwise label rule: `label = rating > pointwise_threshold` (TALLRec on MovieLens: 3).
    #[serde(default = "default_pointwise_threshold")]
    pub pointwise_threshold: f32,
}

fn default_hard_retriever() -> String {
    "bpr".into()
}
fn default_pointwise_threshold() -> f32 {
    3.0
}

/// A parsed view name: the kind and the optional pinned user-sample size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewName<'a> {
    /// One of [`VIEWS`].
    pub kind: &'a str,
    /// `Some(n)` for `kind@u<n>`.
    pub users: Option<usize>,
}

/// Parse `kind` or `kind@u<N>` (N >= 1).
pub fn parse_view(v: &str) -> Result<ViewName<'_>, String> {
    let (kind, users) = match v.split_once('@') {
        None => (v, None),
        Some((k, s)) => {
            let n = s
                .strip_prefix('u')
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    format!("view `{v}`: the user sample is written `@u<N>` with N >= 1, e.g. `{k}@u100`")
                })?;
            (k, Some(n))
        }
    };
    if !VIEWS.contains(&kind) {
        let hint = suggest(kind, VIEWS.iter().copied())
            .map(|x| format!(" (did you mean `{x}`?)"))
            .unwrap_or_default();
        return Err(format!(
            "unknown view `{v}`{hint}; valid: {} (optionally with `@u<N>`)",
            VIEWS.join(", ")
        ));
    }
    Ok(ViewName { kind, users })
}

fn default_views() -> Vec<String> {
    vec!["full".into()]
}
fn default_sampled_n() -> usize {
    100
}
fn default_closed_n() -> usize {
    20
}

/// The views a protocol may declare.
pub const VIEWS: &[&str] = &["full", "sampled", "closed", "hard", "pointwise", "conv"];
/// The split protocols.
pub const SPLITS: &[&str] = &["loo", "temporal", "ratio"];

/// A method of the suite.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// Registry id.
    pub id: String,
    /// Variant label (defaults to empty); distinguishes two entries of one method.
    #[serde(default)]
    pub label: String,
    /// Fixed params over the method's defaults.
    #[serde(default = "empty_table")]
    pub params: Value,
    /// Parameter grid searched on validation: key -> list of values.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<Value>>,
    /// Trial budget (0 = the whole grid). Recorded with the results.
    #[serde(default)]
    pub budget: usize,
    /// Views this method is evaluated on (labels of the protocols' views, e.g. `closed@u100`);
    /// empty = every view. Methods too slow for full ranking (language models scoring pairs) are
    /// restricted here. The FIRST listed view that a protocol has also drives the validation probe
    /// (its validation-stage counterpart on the same users).
    #[serde(default)]
    pub views: Vec<String>,
    /// Seeds of this method (empty = the suite's `seeds`). A method whose results do not depend
    /// on the seed (a frozen model scoring fixed prompts) needs only one: running it three
    /// times would spend hours on identical numbers. The leaderboard's Seeds column shows it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<u64>,
}

fn empty_table() -> Value {
    Value::Object(Default::default())
}

impl Suite {
    /// Checks the method keys of a `--only` selection against this suite's (`id` or
    /// `id:label`). A misspelt key would otherwise select nothing, and the run would finish
    /// with nothing done; the error names the key, the closest one and every valid one.
    pub fn check_only(&self, only: &[String]) -> Result<(), String> {
        let keys: Vec<String> = self.methods.iter().map(MethodSpec::key).collect();
        match only.iter().find(|k| !keys.contains(k)) {
            None => Ok(()),
            Some(k) => {
                let hint = suggest(k, keys.iter().map(String::as_str))
                    .map(|x| format!(" (did you mean `{x}`?)"))
                    .unwrap_or_default();
                Err(format!(
                    "--only: `{k}` is not a method key of suite `{}`{hint}; its keys: {}",
                    self.name,
                    keys.join(", ")
                ))
            }
        }
    }
}

impl MethodSpec {
    /// The seeds this method runs with: its own `seeds` if given, else the suite's.
    pub fn seeds_in<'a>(&'a self, suite: &'a Suite) -> &'a [u64] {
        if self.seeds.is_empty() { &suite.seeds } else { &self.seeds }
    }

    /// The label used in cell ids and tables: `id` or `id:label`.
    pub fn key(&self) -> String {
        if self.label.is_empty() { self.id.clone() } else { format!("{}:{}", self.id, self.label) }
    }

    /// All grid points in a deterministic order (keys sorted; last key varies fastest).
    pub fn grid_points(&self) -> Vec<Value> {
        let mut points = vec![serde_json::Map::new()];
        for (k, vs) in &self.grid {
            let mut next = Vec::with_capacity(points.len() * vs.len());
            for p in &points {
                for v in vs {
                    let mut q = p.clone();
                    q.insert(k.clone(), v.clone());
                    next.push(q);
                }
            }
            points = next;
        }
        points.into_iter().map(Value::Object).collect()
    }

    /// The grid points actually tried under the budget: the whole grid when it fits, else an
    /// evenly spaced deterministic subset (first and last included), so the choice is recorded
    /// by the budget alone.
    pub fn trials(&self) -> Vec<Value> {
        let all = self.grid_points();
        if self.budget == 0 || self.budget >= all.len() {
            return all;
        }
        let b = self.budget.max(1);
        if b == 1 {
            return vec![all[0].clone()];
        }
        (0..b).map(|i| all[i * (all.len() - 1) / (b - 1)].clone()).collect()
    }
}

const SUITE_KEYS: &[&str] = &[
    "name",
    "description",
    "seeds",
    "select_by",
    "ranking_metrics",
    "pointwise_metrics",
    "bootstrap",
    "dataset",
    "protocol",
    "method",
];
const DATASET_KEYS: &[&str] = &["id"];
const PROTOCOL_KEYS: &[&str] = &[
    "split",
    "views",
    "sampled_negatives",
    "closed_candidates",
    "hard_retriever",
    "pointwise_threshold",
];
const METHOD_KEYS: &[&str] = &["id", "label", "params", "grid", "budget", "views", "seeds"];

fn check_keys(path: &Path, table: &str, v: &toml::Value, valid: &[&str]) -> Result<(), SuiteError> {
    if let Some(t) = v.as_table() {
        for k in t.keys() {
            if !valid.contains(&k.as_str()) {
                return Err(SuiteError::UnknownKey {
                    path: path.into(),
                    table: table.into(),
                    key: k.clone(),
                    suggestion: suggest(k, valid.iter().copied()),
                    valid: valid.iter().map(|s| s.to_string()).collect(),
                });
            }
        }
    }
    Ok(())
}

/// Parse and validate a suite from TOML text against the method registry.
pub fn parse_suite(path: &Path, text: &str, registry: &[MethodEntry]) -> Result<Suite, SuiteError> {
    let raw: toml::Value = toml::from_str(text)
        .map_err(|e| SuiteError::Syntax { path: path.into(), message: e.to_string() })?;
    check_keys(path, "the top level", &raw, SUITE_KEYS)?;
    for (name, keys) in
        [("dataset", DATASET_KEYS), ("protocol", PROTOCOL_KEYS), ("method", METHOD_KEYS)]
    {
        if let Some(arr) = raw.get(name).and_then(|v| v.as_array()) {
            for (i, t) in arr.iter().enumerate() {
                check_keys(path, &format!("[[{name}]] #{}", i + 1), t, keys)?;
            }
        }
    }
    let suite: Suite = toml::from_str(text)
        .map_err(|e| SuiteError::Syntax { path: path.into(), message: e.to_string() })?;
    validate(path, &suite, registry)?;
    Ok(suite)
}

/// Read and parse a suite file.
pub fn load_suite(path: &Path, registry: &[MethodEntry]) -> Result<Suite, SuiteError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| SuiteError::Io { path: path.into(), source })?;
    parse_suite(path, &text, registry)
}

fn first_duplicate(seeds: &[u64]) -> Option<u64> {
    let mut seen = std::collections::BTreeSet::new();
    seeds.iter().copied().find(|s| !seen.insert(*s))
}

fn invalid(path: &Path, table: String, message: String) -> SuiteError {
    SuiteError::Invalid { path: path.into(), table, message }
}

fn validate(path: &Path, s: &Suite, registry: &[MethodEntry]) -> Result<(), SuiteError> {
    if s.datasets.is_empty() || s.protocols.is_empty() || s.methods.is_empty() {
        return Err(invalid(
            path,
            "the top level".into(),
            "a suite needs at least one [[dataset]], one [[protocol]] and one [[method]]".into(),
        ));
    }
    if s.seeds.is_empty() {
        return Err(invalid(path, "seeds".into(), "at least one seed is needed".into()));
    }
    if let Some(dup) = first_duplicate(&s.seeds) {
        return Err(invalid(path, "seeds".into(), format!("seed {dup} is listed twice")));
    }
    for (i, m) in s.methods.iter().enumerate() {
        if let Some(dup) = first_duplicate(&m.seeds) {
            return Err(invalid(
                path,
                format!("[[method]] #{} ({})", i + 1, m.key()),
                format!("seed {dup} is listed twice in `seeds`"),
            ));
        }
    }
    for m in s.ranking_metrics.iter().chain(&s.pointwise_metrics).chain([&s.select_by]) {
        quadrec_eval::parse_metric(m)
            .map_err(|e| invalid(path, "metrics".into(), e.to_string()))?;
    }
    for (i, p) in s.protocols.iter().enumerate() {
        let table = format!("[[protocol]] #{}", i + 1);
        if !SPLITS.contains(&p.split.as_str()) {
            let hint = suggest(&p.split, SPLITS.iter().copied())
                .map(|x| format!(" (did you mean `{x}`?)"))
                .unwrap_or_default();
            return Err(invalid(
                path,
                table,
                format!("unknown split `{}`{hint}; valid: {}", p.split, SPLITS.join(", ")),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in &p.views {
            parse_view(v).map_err(|m| invalid(path, table.clone(), m))?;
            if !seen.insert(v) {
                return Err(invalid(path, table, format!("view `{v}` is listed twice")));
            }
        }
        if p.views.iter().any(|v| v.starts_with("hard")) {
            let e = find_entry(registry, &p.hard_retriever)
                .map_err(|e| invalid(path, table.clone(), format!("hard_retriever: {e}")))?;
            if e.family == quadrec_method::Family::LanguageModel {
                return Err(invalid(
                    path,
                    table,
                    format!("hard_retriever `{}` must be a conventional recommender", e.id),
                ));
            }
        }
        if !p.pointwise_threshold.is_finite() {
            return Err(invalid(path, table, "pointwise_threshold must be finite".into()));
        }
    }
    let all_views: Vec<&str> =
        s.protocols.iter().flat_map(|p| p.views.iter().map(String::as_str)).collect();
    let mut keys = std::collections::BTreeSet::new();
    for (i, m) in s.methods.iter().enumerate() {
        let table = format!("[[method]] #{} ({})", i + 1, m.id);
        let entry =
            find_entry(registry, &m.id).map_err(|e| invalid(path, table.clone(), e.to_string()))?;
        if !keys.insert(m.key()) {
            return Err(invalid(
                path,
                table,
                format!(
                    "duplicate method entry `{}`: give one of them a distinct `label`",
                    m.key()
                ),
            ));
        }
        for v in &m.views {
            if !all_views.contains(&v.as_str()) {
                let hint = suggest(v, all_views.iter().copied())
                    .map(|x| format!(" (did you mean `{x}`?)"))
                    .unwrap_or_default();
                return Err(invalid(
                    path,
                    table,
                    format!(
                        "view `{v}` is not declared by any [[protocol]]{hint}; declared: {}",
                        all_views.join(", ")
                    ),
                ));
            }
        }
        for (k, vs) in &m.grid {
            if vs.is_empty() {
                return Err(invalid(path, table, format!("grid key `{k}` has no values")));
            }
        }
        // Every trial's params must resolve now, not after hours of training.
        for point in m.trials() {
            let layers: [(&str, &Value); 2] = [("suite params", &m.params), ("suite grid", &point)];
            entry.build_with(&layers).map_err(|e| invalid(path, table.clone(), e.to_string()))?;
        }
        // Conversational views and request-reading methods go together (see
        // `exec::method_views`): an explicit pairing of one without the other is refused.
        let (_, built) = entry
            .build_with(&[("suite params", &m.params)])
            .map_err(|e| invalid(path, table.clone(), e.to_string()))?;
        let reads = built.reads_requests();
        for v in &m.views {
            let conv = parse_view(v).is_ok_and(|n| n.kind == "conv");
            if conv != reads {
                let why = if reads {
                    "reads natural-language requests and runs only on `conv` views"
                } else {
                    "does not read requests, so it cannot run on a `conv` view"
                };
                return Err(invalid(path, table, format!("view `{v}`: `{}` {why}", m.id)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(grid: &[(&str, Vec<Value>)], budget: usize) -> MethodSpec {
        MethodSpec {
            id: "x".into(),
            label: String::new(),
            params: empty_table(),
            grid: grid.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            budget,
            views: vec![],
            seeds: vec![],
        }
    }

    #[test]
    fn grid_is_cartesian_and_ordered() {
        let s = spec(
            &[("b", vec![1.into(), 2.into()]), ("a", vec!["x".into(), "y".into(), "z".into()])],
            0,
        );
        let pts = s.grid_points();
        assert_eq!(pts.len(), 6);
        // Keys sorted (a before b); the last key varies fastest.
        assert_eq!(pts[0], serde_json::json!({"a": "x", "b": 1}));
        assert_eq!(pts[1], serde_json::json!({"a": "x", "b": 2}));
        assert_eq!(pts[5], serde_json::json!({"a": "z", "b": 2}));
    }

    #[test]
    fn budget_picks_an_even_deterministic_subset() {
        let s = spec(&[("a", (0..10).map(Value::from).collect())], 3);
        let t = s.trials();
        assert_eq!(
            t,
            vec![
                serde_json::json!({"a": 0}),
                serde_json::json!({"a": 4}),
                serde_json::json!({"a": 9})
            ]
        );
        assert_eq!(spec(&[], 0).trials(), vec![serde_json::json!({})]);
    }

    #[test]
    fn unknown_top_level_key_gets_a_suggestion() {
        let text = "name = 'x'\nseed = [1]\n[[dataset]]\nid='fixture:tiny'\n[[protocol]]\nsplit='loo'\n[[method]]\nid='pop'\n";
        let err = parse_suite(Path::new("s.toml"), text, &[]).unwrap_err().to_string();
        assert!(
            err.contains("s.toml")
                && err.contains("`seed`")
                && err.contains("did you mean `seeds`"),
            "{err}"
        );
    }

    #[test]
    fn a_method_may_run_on_fewer_seeds_than_the_suite() {
        let reg = crate::registry::all();
        let head = "name = 'x'\nseeds = [0, 1, 2]\n[[dataset]]\nid='fixture:tiny'\n[[protocol]]\nsplit='loo'\n";
        let text = format!("{head}[[method]]\nid='pop'\nseeds=[0]\n[[method]]\nid='random'\n");
        let s = parse_suite(Path::new("s.toml"), &text, &reg).unwrap();
        assert_eq!(s.methods[0].seeds_in(&s), &[0]);
        assert_eq!(s.methods[1].seeds_in(&s), &[0, 1, 2]);
        // The override survives the suite.json round trip that `verify` reads back; a method
        // without one serialises exactly as before the field existed.
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json.matches("\"seeds\"").count(), 2, "{json}");
        let back: Suite = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let text = format!("{head}[[method]]\nid='pop'\nseeds=[0, 0]\n");
        let err = parse_suite(Path::new("s.toml"), &text, &reg).unwrap_err().to_string();
        assert!(
            err.contains("[[method]] #1 (pop)") && err.contains("seed 0 is listed twice"),
            "{err}"
        );
    }

    #[test]
    fn unknown_method_key_and_bad_view_are_named() {
        let text = "name = 'x'\n[[dataset]]\nid='fixture:tiny'\n[[protocol]]\nsplit='loo'\n[[method]]\nid='pop'\nparmas={}\n";
        let err = parse_suite(Path::new("s.toml"), text, &[]).unwrap_err().to_string();
        assert!(err.contains("[[method]] #1") && err.contains("did you mean `params`"), "{err}");
        let text = "name = 'x'\n[[dataset]]\nid='fixture:tiny'\n[[protocol]]\nsplit='loo'\nviews=['ful']\n[[method]]\nid='pop'\n";
        let err = parse_suite(Path::new("s.toml"), text, &[]).unwrap_err().to_string();
        assert!(err.contains("unknown view `ful`") && err.contains("did you mean `full`"), "{err}");
    }

    #[test]
    fn only_keys_are_checked_against_the_suite() {
        let reg = crate::registry::all();
        let text = "name = 'x'\n[[dataset]]\nid='fixture:tiny'\n[[protocol]]\nsplit='loo'\n[[method]]\nid='pop'\n[[method]]\nid='itemknn'\nlabel='k50'\n";
        let s = parse_suite(Path::new("s.toml"), text, &reg).unwrap();
        let keys = |v: &[&str]| v.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(s.check_only(&[]), Ok(()));
        assert_eq!(s.check_only(&keys(&["itemknn:k50", "pop"])), Ok(()));
        let err = s.check_only(&keys(&["pop", "itemknn:k5O"])).unwrap_err();
        assert_eq!(
            err,
            "--only: `itemknn:k5O` is not a method key of suite `x` (did you mean `itemknn:k50`?); \
             its keys: pop, itemknn:k50"
        );
        // The bare id of a labelled entry is not its key.
        let err = s.check_only(&keys(&["itemknn"])).unwrap_err();
        assert!(err.starts_with("--only: `itemknn` is not a method key"), "{err}");
    }
}
