//! Renderers of the leaderboard model. [`cells`] turns a table into plain strings once; each
//! format escapes them its own way (terminal, Markdown, CSV, HTML).

pub mod csv;
pub mod html;
pub mod markdown;
mod svg;
pub mod terminal;

use crate::model::{ProtocolTable, Sig};

/// Plain (unescaped) header and rows of a protocol table: finished rows best first, then one
/// row per failed cell with its error.
pub fn cells(t: &ProtocolTable) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> =
        ["#", "Method", "Variant", "Quadrant", "Stage", "Seeds"].map(String::from).to_vec();
    for (i, m) in t.metrics.iter().enumerate() {
        let arrow = if m.higher_is_better { "↑" } else { "↓" };
        let main = if Some(i) == t.main { " (main)" } else { "" };
        header.push(format!("{} {arrow}{main}", m.name));
    }
    header.extend(
        [
            "p vs best (Holm)",
            "Wilcoxon p (Holm)",
            "Train s",
            "Eval s",
            "p50 ms",
            "p99 ms",
            "Params",
            "Peak RSS",
            "LM tokens",
            "Status",
        ]
        .map(String::from),
    );
    let mut rows = Vec::new();
    for (k, r) in t.rows.iter().enumerate() {
        let mut c = vec![
            (k + 1).to_string(),
            r.method.display.clone(),
            r.method.variant.clone(),
            r.method.quadrant.clone(),
            r.method.stage.clone(),
            r.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(","),
        ];
        for (i, v) in r.values.iter().enumerate() {
            let mut s = v.as_ref().map(|v| v.display()).unwrap_or_else(|| "—".into());
            if Some(i) == t.main {
                s.push_str(&marks(&r.sig));
            }
            c.push(s);
        }
        let (p, w) = match &r.sig {
            Sig::Best => ("best".to_string(), "best".to_string()),
            Sig::Compared(x) => (fmt_p(x.p_holm), fmt_p(x.wilcoxon_holm)),
            Sig::Unavailable(why) => (format!("n/a: {why}"), "n/a".to_string()),
        };
        c.extend([
            p,
            w,
            fmt_secs(r.cost.train_seconds),
            fmt_secs(r.cost.eval_seconds),
            fmt_ms(r.cost.latency_p50_ms),
            fmt_ms(r.cost.latency_p99_ms),
            fmt_count(r.cost.n_parameters),
            fmt_bytes(r.cost.peak_rss_bytes),
            fmt_count(r.cost.lm_tokens),
            "ok".to_string(),
        ]);
        rows.push(c);
    }
    for f in &t.failed {
        let mut c = vec![
            "-".to_string(),
            f.method.display.clone(),
            f.method.variant.clone(),
            f.method.quadrant.clone(),
            f.method.stage.clone(),
            f.seed.to_string(),
        ];
        c.extend(t.metrics.iter().map(|_| "—".to_string()));
        c.extend((0..9).map(|_| "—".to_string()));
        c.push(format!("FAILED: {}", f.error));
        rows.push(c);
    }
    (header, rows)
}

/// Significance marks appended to the main metric: `(best)`, ` *` (primary test, Holm),
/// ` †` (Wilcoxon, Holm).
pub fn marks(sig: &Sig) -> String {
    match sig {
        Sig::Best => " (best)".into(),
        Sig::Compared(c) => {
            let mut s = String::new();
            if c.significant || c.wilcoxon_significant {
                s.push(' ');
            }
            if c.significant {
                s.push('*');
            }
            if c.wilcoxon_significant {
                s.push('†');
            }
            s
        }
        Sig::Unavailable(_) => String::new(),
    }
}

/// The legend under each table (plain text).
pub fn legend(t: &ProtocolTable) -> String {
    let main = t.main.map(|m| t.metrics[m].name.as_str()).unwrap_or("(none)");
    format!(
        "Protocol {}: dataset {}, split {}, view {}, users {}. Rows ordered by {main}. \
         Values: mean over users [95% bootstrap CI]; with several seeds, mean ± std over seeds. \
         Against the best row, per-user values of {main} (averaged over seeds per user) are paired: \
         * = {} p < {} after Holm correction across the {} comparisons of this table; \
         † = Wilcoxon signed-rank p < {} after Holm. Failed cells are listed with their error.",
        t.protocol,
        t.dataset,
        t.split,
        t.view,
        t.user_sample,
        t.test_label,
        t.alpha,
        t.rows.iter().filter(|r| matches!(r.sig, Sig::Compared(_))).count(),
        t.alpha,
    )
}

/// p-value with 4 decimals, or scientific below 1e-4.
pub fn fmt_p(p: f64) -> String {
    if p.is_nan() {
        "n/a".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// Seconds.
pub fn fmt_secs(s: f64) -> String {
    if s >= 100.0 { format!("{s:.0}") } else { format!("{s:.2}") }
}

/// Milliseconds.
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 100.0 { format!("{ms:.0}") } else { format!("{ms:.3}") }
}

/// Counts with k/M/B suffixes.
pub fn fmt_count(n: u64) -> String {
    let f = n as f64;
    if n >= 1_000_000_000 {
        format!("{:.2}B", f / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.2}M", f / 1e6)
    } else if n >= 10_000 {
        format!("{:.1}k", f / 1e3)
    } else {
        n.to_string()
    }
}

/// Bytes in MiB / GiB.
pub fn fmt_bytes(b: u64) -> String {
    let mib = b as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 { format!("{:.2} GiB", mib / 1024.0) } else { format!("{mib:.0} MiB") }
}
