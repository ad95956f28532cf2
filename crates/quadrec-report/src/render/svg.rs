//! Inline SVG plots of one protocol table: quality vs cost with the Pareto front, CI bars per
//! method, and the measured quadrant map (the survey's Figure 4). Every label is HTML-escaped.

use std::fmt::Write;

use crate::analysis::pareto_front;
use crate::escape::html as esc;
use crate::model::{ProtocolTable, Row};

/// Colours for conventional baselines in the quadrant map (colour-blind-safe Okabe-Ito order).
const PALETTE: &[&str] =
    &["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
/// Colour of "beats no baseline".
const NONE_COLOUR: &str = "#BBBBBB";

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// Whether a row is a method with an LM (survey quadrants Q1-Q4).
pub fn quadrant_of(r: &Row) -> Option<u8> {
    match r.method.quadrant.to_ascii_lowercase().as_str() {
        "q1" => Some(1),
        "q2" => Some(2),
        "q3" => Some(3),
        "q4" => Some(4),
        _ => None,
    }
}

/// Whether a row is a conventional baseline (no LM).
pub fn is_conventional(r: &Row) -> bool {
    quadrant_of(r).is_none()
        && (r.method.quadrant.eq_ignore_ascii_case("crm")
            || r.method.family.eq_ignore_ascii_case("conventional"))
}

/// Main-metric value as "goodness" (negated for lower-is-better metrics).
fn good(t: &ProtocolTable, r: &Row) -> Option<f64> {
    let m = t.main?;
    let v = r.values[m].as_ref()?.mean;
    if v.is_nan() {
        None
    } else if t.metrics[m].higher_is_better {
        Some(v)
    } else {
        Some(-v)
    }
}

/// Quality (main metric) vs training + evaluation seconds, log x axis, Pareto front dashed.
pub fn quality_vs_cost(t: &ProtocolTable) -> Option<String> {
    let m = t.main?;
    let metric = &t.metrics[m].name;
    let rows: Vec<&Row> = t.rows.iter().filter(|r| good(t, r).is_some()).collect();
    if rows.is_empty() {
        return None;
    }
    let pts: Vec<(f64, f64)> =
        rows.iter().map(|r| (r.cost.total_seconds().max(1e-3), good(t, r).unwrap())).collect();
    let front = pareto_front(&pts);
    let (w, h, l, rgt, top, bot) = (640.0, 360.0, 70.0, 20.0, 20.0, 50.0);
    let lx: Vec<f64> = pts.iter().map(|p| p.0.log10()).collect();
    let (x0, x1) = span(&lx);
    let ys: Vec<f64> = rows.iter().map(|r| r.values[m].as_ref().unwrap().mean).collect();
    let (y0, y1) = span(&ys);
    let sx = |x: f64| l + (x.log10() - x0) / (x1 - x0) * (w - l - rgt);
    let sy = |y: f64| h - bot - (y - y0) / (y1 - y0) * (h - top - bot);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{} vs cost, protocol {}</title>"##,
        esc(metric),
        esc(&t.protocol)
    );
    axes(&mut s, w, h, l, rgt, top, bot);
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle" class="ax">train + eval seconds (log scale): {} .. {}</text>"##,
        (l + w - rgt) / 2.0,
        h - 12.0,
        fmt_sig(10f64.powf(x0)),
        fmt_sig(10f64.powf(x1))
    );
    let _ = write!(
        s,
        r##"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle" class="ax">{} ({:.4} .. {:.4})</text>"##,
        (top + h - bot) / 2.0,
        (top + h - bot) / 2.0,
        esc(metric),
        y0,
        y1
    );
    let poly: Vec<String> =
        front.iter().map(|&i| format!("{:.1},{:.1}", sx(pts[i].0), sy(ys[i]))).collect();
    if poly.len() > 1 {
        let _ = write!(s, r##"<polyline points="{}" class="front"/>"##, poly.join(" "));
    }
    for (i, r) in rows.iter().enumerate() {
        let on = front.contains(&i);
        let fill = if quadrant_of(r).is_some() { "#D55E00" } else { "#0072B2" };
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{}" fill="{fill}" stroke="{}"><title>{}: {} = {:.4}, {:.2} s</title></circle><text x="{:.1}" y="{:.1}" class="lbl">{}</text>"##,
            sx(pts[i].0),
            sy(ys[i]),
            if on { 5 } else { 4 },
            if on { "#000" } else { "none" },
            esc(&r.label()),
            esc(metric),
            ys[i],
            pts[i].0,
            sx(pts[i].0) + 6.0,
            sy(ys[i]) - 6.0,
            esc(&short(&r.label(), 24))
        );
    }
    s.push_str("</svg>");
    Some(s)
}

/// Main metric per row with its interval (95% CI, or mean ± std over seeds).
pub fn ci_bars(t: &ProtocolTable) -> Option<String> {
    let m = t.main?;
    let rows: Vec<&Row> = t.rows.iter().filter(|r| r.values[m].is_some()).collect();
    if rows.is_empty() {
        return None;
    }
    let mut lo_hi = Vec::new();
    for r in &rows {
        let v = r.values[m].as_ref().unwrap();
        let (a, b) = v.interval().unwrap_or((v.mean, v.mean));
        lo_hi.extend([a, b, v.mean]);
    }
    let (x0, x1) = span(&lo_hi);
    let (w, l, rgt, row_h, top) = (640.0, 200.0, 20.0, 22.0, 24.0);
    let h = top + row_h * rows.len() as f64 + 30.0;
    let sx = |x: f64| l + (x - x0) / (x1 - x0) * (w - l - rgt);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{} with intervals, protocol {}</title>"##,
        esc(&t.metrics[m].name),
        esc(&t.protocol)
    );
    let _ = write!(
        s,
        r##"<text x="{l}" y="14" class="ax">{}: {:.4} .. {:.4} (bars: 95% CI; several seeds: mean ± std)</text>"##,
        esc(&t.metrics[m].name),
        x0,
        x1
    );
    for (i, r) in rows.iter().enumerate() {
        let v = r.values[m].as_ref().unwrap();
        let y = top + row_h * i as f64 + row_h / 2.0;
        let (a, b) = v.interval().unwrap_or((v.mean, v.mean));
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" class="lbl">{}</text><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="bar"/><circle cx="{:.1}" cy="{y:.1}" r="4" fill="#0072B2"><title>{}: {}</title></circle>"##,
            l - 8.0,
            y + 4.0,
            esc(&short(&r.label(), 30)),
            sx(a),
            sx(b),
            sx(v.mean),
            esc(&r.label()),
            esc(&v.display())
        );
    }
    s.push_str("</svg>");
    Some(s)
}

/// The measured quadrant map: x = CRM at inference? (no | yes), y = tune LM? (no | yes); one
/// marker per LM method, size growing with log10 of its LM parameters, colour = the best
/// conventional baseline whose main-metric mean it exceeds (grey: none).
pub fn quadrant_map(t: &ProtocolTable) -> Option<String> {
    let lm: Vec<&Row> = t.rows.iter().filter(|r| quadrant_of(r).is_some()).collect();
    if lm.is_empty() {
        return None;
    }
    // Baselines best first (rows are already sorted best first).
    let base: Vec<&Row> =
        t.rows.iter().filter(|r| is_conventional(r) && good(t, r).is_some()).collect();
    let colour = |i: usize| PALETTE[i % PALETTE.len()];
    let (w, h, l, top, cw, ch) = (640.0, 470.0, 90.0, 30.0, 260.0, 180.0);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>Measured quadrant map, protocol {}</title>"##,
        esc(&t.protocol)
    );
    // Cells: column 0 = CRM at inference no, 1 = yes; row 0 (top) = tune LM yes, 1 = no.
    let cell = |q: u8| match q {
        1 => (1.0, 0.0),
        2 => (1.0, 1.0),
        3 => (0.0, 1.0),
        _ => (0.0, 0.0),
    };
    for q in 1u8..=4 {
        let (cx, cy) = cell(q);
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{cw}" height="{ch}" class="cell"/><text x="{:.1}" y="{:.1}" class="q">Q{q}</text>"##,
            l + cx * cw,
            top + cy * ch,
            l + cx * cw + 6.0,
            top + cy * ch + 16.0
        );
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="ax">CRM at inference? no</text><text x="{:.1}" y="{:.1}" text-anchor="middle" class="ax">yes</text>"##,
        l + cw / 2.0,
        top + 2.0 * ch + 18.0,
        l + 1.5 * cw,
        top + 2.0 * ch + 18.0
    );
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" class="ax">tune LM? yes</text><text x="{:.1}" y="{:.1}" text-anchor="end" class="ax">no</text>"##,
        l - 6.0,
        top + ch / 2.0,
        l - 6.0,
        top + 1.5 * ch
    );
    let mut placed = [0usize; 5];
    for r in &lm {
        let q = quadrant_of(r).unwrap();
        let (cx, cy) = cell(q);
        let k = placed[q as usize];
        placed[q as usize] += 1;
        // 3 markers per line inside the cell, 50 px apart.
        let x = l + cx * cw + 45.0 + (k % 3) as f64 * 85.0;
        let y = top + cy * ch + 50.0 + (k / 3) as f64 * 55.0;
        let radius = r
            .method
            .lm_parameters
            .map(|p| (4.0 + 3.0 * ((p as f64) / 1e6).max(1.0).log10()).clamp(4.0, 22.0))
            .unwrap_or(4.0);
        let beaten = good(t, r).and_then(|g| base.iter().position(|b| good(t, b).unwrap() < g));
        let (fill, beats) = match beaten {
            Some(i) => (colour(i), base[i].label()),
            None => (NONE_COLOUR, "none".to_string()),
        };
        let params = r
            .method
            .lm_parameters
            .map(crate::render::fmt_count)
            .unwrap_or_else(|| "unknown".into());
        let _ = write!(
            s,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{radius:.1}" fill="{fill}" fill-opacity="0.85" stroke="#333"><title>{} (Q{q}, LM parameters {}): best baseline beaten: {}</title></circle><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="lbl">{}</text>"##,
            esc(&r.label()),
            esc(&params),
            esc(&beats),
            y + radius + 11.0,
            esc(&short(&r.label(), 16))
        );
    }
    // Legend: baseline colours.
    let mut ly = top + 2.0 * ch + 40.0;
    let _ = write!(
        s,
        r##"<text x="{l}" y="{ly:.1}" class="ax">colour = best conventional baseline beaten on the main metric (mean):</text>"##
    );
    ly += 16.0;
    let mut lx = l;
    for (i, b) in base.iter().enumerate().take(PALETTE.len()) {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{}"/><text x="{:.1}" y="{:.1}" class="lbl">{}</text>"##,
            lx + 5.0,
            ly - 4.0,
            colour(i),
            lx + 13.0,
            ly,
            esc(&short(&b.label(), 14))
        );
        lx += 110.0;
        if lx > w - 110.0 {
            lx = l;
            ly += 16.0;
        }
    }
    let _ = write!(
        s,
        r##"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{NONE_COLOUR}"/><text x="{:.1}" y="{ly:.1}" class="lbl">none</text>"##,
        lx + 5.0,
        ly - 4.0,
        lx + 13.0
    );
    s.push_str("</svg>");
    Some(s)
}

/// Three significant digits.
fn fmt_sig(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// Min and max with a little padding; a non-empty range even for one value.
fn span(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().filter(|x| x.is_finite()).fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().filter(|x| x.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.08 } else { lo.abs().max(1.0) * 0.05 };
    (lo - pad, hi + pad)
}

fn axes(s: &mut String, w: f64, h: f64, l: f64, r: f64, top: f64, bot: f64) {
    let _ = write!(
        s,
        r##"<line x1="{l}" y1="{}" x2="{}" y2="{}" class="axis"/><line x1="{l}" y1="{top}" x2="{l}" y2="{}" class="axis"/>"##,
        h - bot,
        w - r,
        h - bot,
        h - bot
    );
}
