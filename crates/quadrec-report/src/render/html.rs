//! One self-contained HTML file: inline CSS, inline SVG, no script, no external resource.
//! Every data string goes through [`crate::escape::html`].

use std::fmt::Write;

use crate::escape::html as esc;
use crate::model::Leaderboard;

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}\
table{border-collapse:collapse;margin:0.5em 0;font-size:13px}\
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right;vertical-align:top}\
th{background:#f3f3f3}td.t{text-align:left}tr.failed td{background:#fdecea}tr.best td{font-weight:bold}\
td.err{white-space:pre-wrap;text-align:left;color:#a00;max-width:40em}\
p.legend{font-size:12px;color:#555;max-width:70em}figure{display:inline-block;margin:0.5em 1em 0.5em 0}\
figcaption{font-size:12px;color:#555}.axis{stroke:#444;stroke-width:1}.front{fill:none;stroke:#000;stroke-dasharray:4 3}\
.bar{stroke:#0072B2;stroke-width:2}.cell{fill:#fafafa;stroke:#999}.q{font-size:14px;font-weight:bold;fill:#666}\
.ax{font-size:11px;fill:#333}.lbl{font-size:10px;fill:#222}";

/// Render the leaderboard as one HTML document.
pub fn render(lb: &Leaderboard) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>Rendered from {} cell records by quadrec-report; every number comes from the records.</p>\n",
        esc(&lb.title),
        esc(&lb.title),
        lb.n_records
    );
    if lb.tables.is_empty() {
        o.push_str("<p>No records.</p>\n");
    }
    for (k, t) in lb.tables.iter().enumerate() {
        let _ = write!(
            o,
            "<section id=\"p{k}\">\n<h2>Protocol {}</h2>\n<table>\n<thead><tr>",
            esc(&t.protocol)
        );
        let (header, rows) = super::cells(t);
        for h in &header {
            let _ = write!(o, "<th>{}</th>", esc(h));
        }
        o.push_str("</tr></thead>\n<tbody>\n");
        let n_ok = t.rows.len();
        for (i, r) in rows.iter().enumerate() {
            o.push_str(match (i, t.rows.get(i).map(|r| &r.sig)) {
                (_, Some(crate::model::Sig::Best)) => "<tr class=\"best\">",
                _ if i < n_ok => "<tr>",
                _ => "<tr class=\"failed\">",
            });
            for (j, c) in r.iter().enumerate() {
                let class = if j == r.len() - 1 && i >= n_ok {
                    " class=\"err\""
                } else if (1..=4).contains(&j) {
                    " class=\"t\""
                } else {
                    ""
                };
                let _ = write!(o, "<td{class}>{}</td>", esc(c));
            }
            o.push_str("</tr>\n");
        }
        let _ =
            write!(o, "</tbody>\n</table>\n<p class=\"legend\">{}</p>\n", esc(&super::legend(t)));
        let figures = [
            (
                super::svg::quality_vs_cost(t),
                "Quality vs cost; dashed: Pareto front (cheaper and better).",
            ),
            (super::svg::ci_bars(t), "Main metric per method with its interval."),
            (
                super::svg::quadrant_map(t),
                "Measured quadrant map (survey Figure 4): marker size = LM parameters, colour = best conventional baseline beaten.",
            ),
        ];
        for (svg, caption) in figures {
            if let Some(svg) = svg {
                let _ = write!(
                    o,
                    "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
                    esc(caption)
                );
            }
        }
        o.push_str("</section>\n");
    }
    if !lb.robustness.is_empty() {
        o.push_str("<section id=\"robustness\">\n<h2>Protocol robustness</h2>\n<p class=\"legend\">Kendall tau-b between the method orderings of two views (full ranking, sampled, closed-set) of the same dataset and split, over the methods both evaluated.</p>\n<table>\n<thead><tr><th>Dataset</th><th>Split</th><th>Protocol A</th><th>Protocol B</th><th>Methods</th><th>tau-b</th></tr></thead>\n<tbody>\n");
        for e in &lb.robustness {
            let _ = writeln!(
                o,
                "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{} ({})</td><td class=\"t\">{} ({})</td><td>{}</td><td>{}</td></tr>",
                esc(&e.dataset),
                esc(&e.split),
                esc(&e.protocol_a.0),
                esc(&e.protocol_a.1),
                esc(&e.protocol_b.0),
                esc(&e.protocol_b.1),
                e.methods.len(),
                e.tau.map(|t| format!("{t:.3}")).unwrap_or_else(|| "undefined".into())
            );
        }
        o.push_str("</tbody>\n</table>\n</section>\n");
    }
    if !lb.environments.is_empty() {
        o.push_str("<section id=\"env\">\n<h2>Environment</h2>\n<table>\n<thead><tr><th>CPU</th><th>Cores</th><th>GPU</th><th>Backend</th><th>quadrec</th><th>rustc</th><th>OS</th></tr></thead>\n<tbody>\n");
        for e in &lb.environments {
            let _ = writeln!(
                o,
                "<tr><td class=\"t\">{}</td><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td></tr>",
                esc(&e.cpu),
                e.cores,
                esc(e.gpu.as_deref().unwrap_or("none")),
                esc(&e.backend),
                esc(&e.quadrec_version),
                esc(&e.rustc),
                esc(&e.os)
            );
        }
        o.push_str("</tbody>\n</table>\n</section>\n");
    }
    if !lb.configurations.is_empty() {
        o.push_str("<section id=\"configs\">\n<h2>Configurations and budgets</h2>\n<p>The resolved params of each method's selected trial (every budget is a param) and where it was scored.</p>\n<table>\n<thead><tr><th>Method</th><th>Quadrant</th><th>Params</th><th>Tuning</th><th>Views</th></tr></thead>\n<tbody>\n");
        for c in &lb.configurations {
            let _ = writeln!(
                o,
                "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td></tr>",
                esc(&c.key),
                esc(&c.quadrant),
                esc(&c.params),
                esc(&c.tuning),
                esc(&c.views)
            );
        }
        o.push_str("</tbody>\n</table>\n</section>\n");
    }
    if !lb.diagnostics.is_empty() {
        o.push_str("<section id=\"diagnostics\">\n<h2>Diagnostics</h2>\n<p>Method-specific measurements of each cell's test pass (e.g. yes_no_outside_mass: mean probability mass outside the Yes/No answer tokens over yes_no_prompts prompts). Not metrics: never ranked.</p>\n<table>\n<thead><tr><th>Method</th><th>View</th><th>Seed</th><th>Name</th><th>Value</th></tr></thead>\n<tbody>\n");
        for d in &lb.diagnostics {
            let _ = writeln!(
                o,
                "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{}</td><td class=\"t\">{}</td><td>{}</td></tr>",
                esc(&d.key),
                esc(&d.view),
                d.seed,
                esc(&d.name),
                esc(&d.display())
            );
        }
        o.push_str("</tbody>\n</table>\n</section>\n");
    }
    if !lb.notes.is_empty() {
        o.push_str("<section id=\"notes\">\n<h2>Notes</h2>\n<ul>\n");
        for n in &lb.notes {
            let _ = writeln!(o, "<li>{}</li>", esc(n));
        }
        o.push_str("</ul>\n</section>\n");
    }
    o.push_str("</body>\n</html>\n");
    o
}
