//! Terminal rendering (tabled): one table per protocol, then robustness and notes.

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::escape;
use crate::model::Leaderboard;

/// Render the leaderboard for a terminal.
pub fn render(lb: &Leaderboard) -> String {
    let mut out = format!("{}\n{} records\n", escape::terminal(&lb.title), lb.n_records);
    for t in &lb.tables {
        out.push_str(&format!("\n== Protocol {} ==\n", escape::terminal(&t.protocol)));
        let (header, rows) = super::cells(t);
        let mut b = Builder::default();
        b.push_record(header.iter().map(|s| escape::terminal(s)));
        for r in rows {
            b.push_record(r.iter().map(|s| escape::terminal(s)));
        }
        let mut table = b.build();
        table.with(Style::sharp());
        out.push_str(&table.to_string());
        out.push('\n');
        out.push_str(&escape::terminal(&super::legend(t)));
        out.push('\n');
    }
    if !lb.robustness.is_empty() {
        out.push_str("\n== Protocol robustness (Kendall tau-b between method orderings) ==\n");
        for e in &lb.robustness {
            out.push_str(&escape::terminal(&format!(
                "{}/{}: {} ({}) vs {} ({}): tau = {} over {} methods",
                e.dataset,
                e.split,
                e.protocol_a.0,
                e.protocol_a.1,
                e.protocol_b.0,
                e.protocol_b.1,
                e.tau.map(|t| format!("{t:.3}")).unwrap_or_else(|| "undefined".into()),
                e.methods.len()
            )));
            out.push('\n');
        }
    }
    for n in &lb.notes {
        out.push_str(&format!("note: {}\n", escape::terminal(n)));
    }
    out
}
