//! Markdown rendering (GitHub-flavoured tables). Every data string goes through
//! [`crate::escape::markdown`].

use crate::escape::markdown as md;
use crate::model::Leaderboard;

/// Render the leaderboard as Markdown.
pub fn render(lb: &Leaderboard) -> String {
    let mut o = format!("# {}\n\n", md(&lb.title));
    o.push_str(&format!(
        "Rendered from {} cell records by quadrec-report; do not edit by hand.\n\n",
        lb.n_records
    ));
    if lb.tables.is_empty() {
        o.push_str("No records.\n");
    }
    for t in &lb.tables {
        o.push_str(&format!("## Protocol {}\n\n", md(&t.protocol)));
        let (header, rows) = super::cells(t);
        let line = |cells: &[String]| {
            format!("| {} |\n", cells.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | "))
        };
        o.push_str(&line(&header));
        o.push_str(&format!("|{}\n", "---|".repeat(header.len())));
        for r in &rows {
            o.push_str(&line(r));
        }
        o.push('\n');
        o.push_str(&md(&super::legend(t)));
        o.push_str("\n\n");
    }
    if !lb.robustness.is_empty() {
        o.push_str("## Protocol robustness\n\n");
        o.push_str("Kendall tau-b between the method orderings of two views of the same dataset and split.\n\n");
        o.push_str("| Dataset | Split | Protocol A | Protocol B | Methods | tau-b |\n|---|---|---|---|---|---|\n");
        for e in &lb.robustness {
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                md(&e.dataset),
                md(&e.split),
                md(&format!("{} ({})", e.protocol_a.0, e.protocol_a.1)),
                md(&format!("{} ({})", e.protocol_b.0, e.protocol_b.1)),
                e.methods.len(),
                e.tau.map(|t| format!("{t:.3}")).unwrap_or_else(|| "undefined".into())
            ));
        }
        o.push('\n');
    }
    if !lb.environments.is_empty() {
        o.push_str("## Environment\n\n| CPU | Cores | GPU | Backend | quadrec | rustc | OS |\n|---|---|---|---|---|---|---|\n");
        for e in &lb.environments {
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                md(&e.cpu),
                e.cores,
                md(e.gpu.as_deref().unwrap_or("none")),
                md(&e.backend),
                md(&e.quadrec_version),
                md(&e.rustc),
                md(&e.os)
            ));
        }
        o.push('\n');
    }
    if !lb.configurations.is_empty() {
        o.push_str("## Configurations and budgets\n\nThe resolved params of each method's selected trial (every budget is a param: epochs, k-shot sizes, LoRA steps, beams, generated tokens) and where it was scored.\n\n| Method | Quadrant | Params | Tuning | Views |\n|---|---|---|---|---|\n");
        for c in &lb.configurations {
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                md(&c.key),
                md(&c.quadrant),
                md(&c.params),
                md(&c.tuning),
                md(&c.views)
            ));
        }
        o.push('\n');
    }
    if !lb.diagnostics.is_empty() {
        o.push_str("## Diagnostics\n\nMethod-specific measurements of each cell's test pass (e.g. `yes_no_outside_mass`: mean probability mass outside the Yes/No answer tokens over `yes_no_prompts` prompts). Not metrics: never ranked.\n\n| Method | View | Seed | Name | Value |\n|---|---|---|---|---|\n");
        for d in &lb.diagnostics {
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                md(&d.key),
                md(&d.view),
                d.seed,
                md(&d.name),
                d.display()
            ));
        }
        o.push('\n');
    }
    if !lb.notes.is_empty() {
        o.push_str("## Notes\n\n");
        for n in &lb.notes {
            o.push_str(&format!("- {}\n", md(n)));
        }
    }
    o
}
