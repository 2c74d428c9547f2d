//! Self-contained SVG charts (no script, no external resources): a horizontal bar chart of landed
//! costs and a line chart of a monthly series. Values are fen; pixel positions are integers.

use std::fmt::Write as _;

use waiver_domain::Fen;

const PALETTE: [&str; 8] = [
    "#1f5fa8", "#2e8b3d", "#c0392b", "#8e44ad", "#d68910", "#17838f", "#7f6000", "#555555",
];

/// Escapes text for SVG content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// The colour of series number `i`.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A tick step (in fen) giving about five ticks over `span` fen: 1, 2 or 5 × 10ⁿ yuan.
fn tick_step(span: i64) -> i64 {
    let mut step = 100; // 1 CNY
    loop {
        for m in [1, 2, 5] {
            if span / (step * m) <= 6 {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// One bar: the cost as charged, and optionally the cost without the exclusion (drawn as an
/// outline behind it).
pub struct Bar {
    pub label: String,
    pub group: String,
    pub value: Fen,
    pub without_exclusion: Option<Fen>,
}

/// A horizontal bar chart, bars in the given order, a group heading whenever `group` changes.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let (left, right, row_h, top) = (220i64, 120i64, 26i64, 60i64);
    let plot_w = 560i64;
    let headings = bars.windows(2).filter(|w| w[0].group != w[1].group).count() as i64
        + i64::from(!bars.is_empty());
    let height = top + (bars.len() as i64 + headings) * row_h + 50;
    let width = left + plot_w + right;
    let max = bars
        .iter()
        .map(|b| b.value.0.max(b.without_exclusion.map_or(0, |f| f.0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let step = tick_step(max);
    let max = (max + step - 1) / step * step;
    let x = |v: i64| left + v.max(0) * plot_w / max;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="24" font-size="16" font-weight="bold">{}</text>
<text x="{left}" y="42" fill="#555">landed cost, CNY per tonne (outline: without the exclusion)</text>
"##,
        esc(title)
    );
    let bottom = height - 40;
    let mut t = 0;
    while t <= max {
        let _ = writeln!(
            s,
            r##"<line x1="{0}" y1="{top}" x2="{0}" y2="{bottom}" stroke="#ddd"/><text x="{0}" y="{1}" text-anchor="middle" fill="#555">{2}</text>"##,
            x(t),
            bottom + 16,
            t / 100
        );
        t += step;
    }
    let mut y = top;
    let mut last_group: Option<&str> = None;
    for b in bars {
        if last_group != Some(b.group.as_str()) {
            let _ = writeln!(
                s,
                r#"<text x="8" y="{}" font-weight="bold">{}</text>"#,
                y + 17,
                esc(&b.group)
            );
            y += row_h;
            last_group = Some(&b.group);
        }
        if let Some(full) = b.without_exclusion.filter(|f| *f != b.value) {
            let _ = writeln!(
                s,
                r##"<rect x="{left}" y="{}" width="{}" height="{}" fill="none" stroke="#999" stroke-dasharray="4 3"/>"##,
                y + 4,
                x(full.0) - left,
                row_h - 8
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{left}" y="{}" width="{}" height="{}" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            left - 8,
            y + 17,
            esc(&b.label),
            y + 4,
            x(b.value.0) - left,
            row_h - 8,
            colour(0),
            x(b.value.0.max(b.without_exclusion.map_or(0, |f| f.0))) + 6,
            y + 17,
            b.value
        );
        y += row_h;
    }
    s.push_str("</svg>\n");
    s
}

/// One line of a line chart: a value (or a gap) per x position.
pub struct Line {
    pub name: String,
    pub colour: &'static str,
    pub dashed: bool,
    pub points: Vec<Option<Fen>>,
}

/// A line chart over `x_labels` (e.g. months); `markers` are (x index, text) notes drawn as
/// vertical lines (e.g. tariff changes). Every 12th label (or so) is printed.
pub fn line_chart(
    title: &str,
    subtitle: &str,
    x_labels: &[String],
    lines: &[Line],
    markers: &[(usize, String)],
) -> String {
    let (left, right, top, plot_h) = (70i64, 190i64, 70i64, 380i64);
    let n = x_labels.len().max(2) as i64;
    let plot_w = (n * 8).clamp(480, 1200);
    let width = left + plot_w + right;
    let height = top + plot_h + 60 + 14 * markers.len().min(12) as i64;
    let values = lines.iter().flat_map(|l| l.points.iter().flatten());
    let (mut lo, mut hi) = values.fold((i64::MAX, i64::MIN), |(lo, hi), v| {
        (lo.min(v.0), hi.max(v.0))
    });
    if lo > hi {
        (lo, hi) = (0, 100);
    }
    let step = tick_step((hi - lo).max(100));
    lo = lo.div_euclid(step) * step;
    hi = (hi + step - 1).div_euclid(step) * step;
    if hi == lo {
        hi = lo + step;
    }
    let x = |i: usize| left + i as i64 * plot_w / (n - 1);
    let y = |v: i64| top + (hi - v) * plot_h / (hi - lo);
    let bottom = top + plot_h;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="24" font-size="16" font-weight="bold">{}</text>
<text x="{left}" y="42" fill="#555">{}</text>
"##,
        esc(title),
        esc(subtitle)
    );
    let mut t = lo;
    while t <= hi {
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="#e4e4e4"/><text x="{2}" y="{3}" text-anchor="end" fill="#555">{4}</text>"##,
            y(t),
            left + plot_w,
            left - 6,
            y(t) + 4,
            t / 100
        );
        t += step;
    }
    let label_every = (x_labels.len() / 10).max(1);
    for (i, l) in x_labels.iter().enumerate() {
        if i % label_every == 0 {
            let _ = writeln!(
                s,
                r##"<line x1="{0}" y1="{bottom}" x2="{0}" y2="{1}" stroke="#999"/><text x="{0}" y="{2}" text-anchor="middle" fill="#555">{3}</text>"##,
                x(i),
                bottom + 4,
                bottom + 18,
                esc(l)
            );
        }
    }
    for (k, (i, text)) in markers.iter().enumerate().take(12) {
        let _ = writeln!(
            s,
            r##"<line x1="{0}" y1="{top}" x2="{0}" y2="{bottom}" stroke="#c77" stroke-dasharray="2 3"/><text x="{0}" y="{1}" font-size="10" fill="#a33" text-anchor="middle">{2}</text><text x="{left}" y="{3}" font-size="11" fill="#a33">{2}: {4}</text>"##,
            x(*i),
            top - 4,
            k + 1,
            bottom + 38 + 14 * k as i64,
            esc(text)
        );
    }
    for (k, line) in lines.iter().enumerate() {
        let mut d = String::new();
        let mut pen_down = false;
        for (i, p) in line.points.iter().enumerate() {
            match p {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{},{} ",
                        if pen_down { "L" } else { "M" },
                        x(i),
                        y(v.0)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let dash = if line.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            s,
            r#"<path d="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
            d.trim_end(),
            line.colour
        );
        let ly = top + 10 + 18 * k as i64;
        let _ = writeln!(
            s,
            r#"<line x1="{0}" y1="{ly}" x2="{1}" y2="{ly}" stroke="{2}" stroke-width="2"{dash}/><text x="{3}" y="{4}">{5}</text>"#,
            left + plot_w + 12,
            left + plot_w + 40,
            line.colour,
            left + plot_w + 46,
            ly + 4,
            esc(&line.name)
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="14" y="{}" fill="#555" transform="rotate(-90 14 {})" text-anchor="middle">CNY per tonne</text>"##,
        top + plot_h / 2,
        top + plot_h / 2
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_and_escape_text() {
        let svg = bar_chart(
            "a <b> & c",
            &[Bar {
                label: "US \"Gulf\"".into(),
                group: "g".into(),
                value: Fen(403_915),
                without_exclusion: Some(Fen(500_000)),
            }],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt; &amp; c") && svg.contains("US &quot;Gulf&quot;"));
        let svg = line_chart(
            "t",
            "s",
            &["2017-01".into(), "2017-02".into(), "2017-03".into()],
            &[Line {
                name: "US".into(),
                colour: colour(0),
                dashed: true,
                points: vec![Some(Fen(300_000)), None, Some(Fen(310_000))],
            }],
            &[(1, "x".into())],
        );
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(
            svg.contains("M70,") && !svg.contains("L"),
            "a gap lifts the pen"
        );
    }
}
