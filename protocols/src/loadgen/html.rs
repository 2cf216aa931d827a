//! `loadgen report` output: the merged logs ([`Merged`]) as a text table and as one
//! self-contained HTML page with inline SVG plots (no script, no network): throughput over
//! time, the percentile spectrum on a log-scale x axis (as HdrHistogram's plotter draws it),
//! and latency percentiles over time.
//!
//! Every marked percentile in the spectrum is a `<circle class="pct">` carrying
//! `data-percentile` and `data-us` (the value in microseconds), so a test (or a user with
//! a browser's inspector) can check the plot against the numbers.

use std::fmt::Write as _;

use super::hdrlog::{Merged, Point};

/// The percentiles the table lists and the spectrum marks.
pub const MARKED: [f64; 7] = [50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999];

/// A latency in microseconds, in the unit that reads best.
pub fn fmt_us(us: u64) -> String {
    match us {
        0..=999 => format!("{us} µs"),
        1_000..=999_999 => format!("{:.2} ms", us as f64 / 1e3),
        _ => format!("{:.3} s", us as f64 / 1e6),
    }
}

/// Seconds from the first interval's start to the last one's end (a warm-up before the
/// first interval is not part of the rate).
fn span(m: &Merged) -> f64 {
    match (m.points.first(), m.points.last()) {
        (Some(a), Some(b)) => b.t + b.length - a.t,
        _ => 0.0,
    }
}

/// The text summary: the logs merged, then the percentile table.
pub fn render_text(m: &Merged) -> String {
    let mut s = String::new();
    let secs = span(m);
    let _ = writeln!(s, "{} log(s) merged", m.files.len());
    let _ = writeln!(
        s,
        "{:<40} {:>10} {:>10} {:>12}",
        "file", "start", "intervals", "samples"
    );
    for f in &m.files {
        let _ = writeln!(
            s,
            "{:<40} {:>+9.3}s {:>10} {:>12}",
            f.name, f.offset, f.intervals, f.count
        );
    }
    let _ = writeln!(
        s,
        "samples {} over {:.1} s ({:.0}/s)",
        m.total.len(),
        secs,
        m.total.len() as f64 / secs.max(1e-9)
    );
    if m.total.is_empty() {
        let _ = writeln!(s, "no latency samples");
        return s;
    }
    let _ = writeln!(s, "{:>10} {:>12}", "percentile", "latency");
    for p in MARKED {
        let _ = writeln!(
            s,
            "{:>9}% {:>12}",
            p,
            fmt_us(m.total.value_at_quantile(p / 100.0))
        );
    }
    let _ = writeln!(s, "{:>10} {:>12}", "max", fmt_us(m.total.max()));
    let _ = writeln!(
        s,
        "{:>10} {:>12}",
        "mean",
        fmt_us(m.total.mean().round() as u64)
    );
    s
}

/// Plot area inside the SVG.
const W: f64 = 1000.0;
const H: f64 = 280.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 50.0;

struct Series<'a> {
    name: &'a str,
    color: &'a str,
    points: Vec<(f64, f64)>,
}

/// A round step giving about `n` ticks up to `max`.
fn nice_step(max: f64, n: f64) -> f64 {
    let raw = (max / n).max(1e-12);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|k| k * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag)
}

fn fmt_tick(v: f64) -> String {
    if v == v.round() {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// One chart. `x_ticks` are (position in x units, label); y runs from 0 to a round maximum.
struct Chart<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    x_range: (f64, f64),
    x_ticks: Vec<(f64, String)>,
    series: Vec<Series<'a>>,
}

impl Chart<'_> {
    /// The y axis: (round maximum above the data, tick step).
    fn y_scale(&self) -> (f64, f64) {
        let y_data = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        // 5% headroom, so a flat line does not run along the frame.
        let y_data = y_data * 1.05;
        let step = nice_step(y_data.max(1e-9), 5.0);
        ((y_data / step).ceil().max(1.0) * step, step)
    }

    fn render(&self, out: &mut String, marks: &str) {
        let (y_max, step) = self.y_scale();
        let (x0, x1) = self.x_range;
        let sx = |x: f64| LEFT + (x - x0) / (x1 - x0).max(1e-12) * (W - LEFT - RIGHT);
        let sy = |y: f64| TOP + (1.0 - y / y_max) * (H - TOP - BOTTOM);
        let _ = writeln!(out, "<h2>{}</h2>", self.title);
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
            self.title
        );
        let _ = writeln!(out, "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#999\"/>", W - LEFT - RIGHT, H - TOP - BOTTOM);
        let mut y = 0.0;
        while y <= y_max + step / 2.0 {
            let py = sy(y);
            let _ = writeln!(out, "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#eee\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tick\">{}</text>", W - RIGHT, LEFT - 6.0, py + 4.0, fmt_tick(y));
            y += step;
        }
        for (x, label) in &self.x_ticks {
            let px = sx(*x);
            let _ = writeln!(out, "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#eee\"/><text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\" class=\"tick\">{label}</text>", H - BOTTOM, H - BOTTOM + 16.0);
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"axis\">{}</text>",
            (LEFT + W - RIGHT) / 2.0,
            H - 10.0,
            self.x_label
        );
        let _ = writeln!(out, "<text x=\"16\" y=\"{}\" text-anchor=\"middle\" class=\"axis\" transform=\"rotate(-90 16 {})\">{}</text>", (TOP + H - BOTTOM) / 2.0, (TOP + H - BOTTOM) / 2.0, self.y_label);
        for (i, s) in self.series.iter().enumerate() {
            let pts: Vec<String> = s
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
                .collect();
            let _ = writeln!(out, "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>", s.name, s.color, pts.join(" "));
            let lx = LEFT + 10.0 + 130.0 * i as f64;
            let _ = writeln!(out, "<rect x=\"{lx}\" y=\"{}\" width=\"14\" height=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" class=\"legend\">{}</text>", TOP + 10.0, s.color, lx + 18.0, TOP + 15.0, s.name);
        }
        // Marks are drawn in the same coordinates: the caller passes them pre-placed.
        out.push_str(marks);
        out.push_str("</svg>\n");
    }
}

/// x position of quantile `q` on the spectrum: log10(1 / (1 - q)), 0 for the median's 50%
/// at 0.301, 99.9% at 3.
fn spectrum_x(q: f64) -> f64 {
    (1.0 / (1.0 - q.min(0.999_999))).log10()
}

const SPECTRUM_X_MAX: f64 = 6.0;

/// The self-contained HTML page.
pub fn render_html(m: &Merged, title: &str) -> String {
    let mut out = String::new();
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n\
<style>body{{font:14px sans-serif;margin:20px;color:#222}}table{{border-collapse:collapse}}\
td,th{{padding:2px 10px;text-align:right;border-bottom:1px solid #ddd}}th:first-child,td:first-child{{text-align:left}}\
.tick{{font-size:11px;fill:#555}}.axis{{font-size:12px;fill:#222}}.legend{{font-size:12px}}.label{{font-size:11px}}\
pre{{background:#f6f6f6;padding:8px}}.tables{{display:flex;gap:40px;align-items:flex-start}}</style></head><body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    let secs = span(m);
    let _ = writeln!(
        out,
        "<p>{} log(s), {} samples over {:.1} s ({:.0}/s on average).</p>",
        m.files.len(),
        m.total.len(),
        secs,
        m.total.len() as f64 / secs.max(1e-9)
    );
    out.push_str("<div class=\"tables\"><table><tr><th>file</th><th>start</th><th>intervals</th><th>samples</th></tr>\n");
    for f in &m.files {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{:+.3} s</td><td>{}</td><td>{}</td></tr>",
            esc(&f.name),
            f.offset,
            f.intervals,
            f.count
        );
    }
    out.push_str(
        "</table>\n<table class=\"percentiles\"><tr><th>percentile</th><th>latency</th></tr>\n",
    );
    if !m.total.is_empty() {
        for p in MARKED {
            let us = m.total.value_at_quantile(p / 100.0);
            let _ = writeln!(
                out,
                "<tr><td>{p}%</td><td data-us=\"{us}\">{}</td></tr>",
                fmt_us(us)
            );
        }
        let _ = writeln!(
            out,
            "<tr><td>max</td><td data-us=\"{}\">{}</td></tr>",
            m.total.max(),
            fmt_us(m.total.max())
        );
    }
    out.push_str("</table></div>\n");

    // Throughput over time (on the axis of seconds since the earliest start). A last interval much shorter than a second (the run ended just
    // after a second began) says little about a rate: the time plots leave it out.
    let timed: Vec<&Point> = m.points.iter().filter(|p| p.length >= 0.5).collect();
    let x_end = m.points.last().map_or(1.0, |p| (p.t + p.length).max(1.0));
    let step = nice_step(x_end, 10.0);
    let time_ticks: Vec<(f64, String)> = (0..=((x_end / step) as usize))
        .map(|i| (i as f64 * step, fmt_tick(i as f64 * step)))
        .collect();
    Chart {
        title: "Throughput over time",
        x_label: "seconds",
        y_label: "responses/s",
        x_range: (0.0, x_end),
        x_ticks: time_ticks.clone(),
        series: vec![Series {
            name: "responses/s",
            color: "#1f77b4",
            points: timed
                .iter()
                .map(|p| (p.t + p.length / 2.0, p.count as f64 / p.length))
                .collect(),
        }],
    }
    .render(&mut out, "");

    // The percentile spectrum.
    let mut curve = Vec::new();
    if !m.total.is_empty() {
        for v in m.total.iter_quantiles(5) {
            let q = v.quantile_iterated_to();
            if q > 0.999_999 {
                break;
            }
            curve.push((spectrum_x(q), v.value_iterated_to() as f64 / 1e3));
        }
        curve.push((SPECTRUM_X_MAX, m.total.max() as f64 / 1e3));
    }
    let spectrum_ticks = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"]
        .iter()
        .enumerate()
        .map(|(i, l)| (i as f64, l.to_string()))
        .collect();
    let chart = Chart {
        title: "Latency by percentile",
        x_label: "percentile (log scale of 1/(1-p))",
        y_label: "latency (ms)",
        x_range: (0.0, SPECTRUM_X_MAX),
        x_ticks: spectrum_ticks,
        series: vec![Series {
            name: "latency",
            color: "#d62728",
            points: curve,
        }],
    };
    let mut marks = String::new();
    if !m.total.is_empty() {
        let (y_max, _) = chart.y_scale();
        for p in MARKED {
            let us = m.total.value_at_quantile(p / 100.0);
            let cx = LEFT + spectrum_x(p / 100.0) / SPECTRUM_X_MAX * (W - LEFT - RIGHT);
            let cy = TOP + (1.0 - us as f64 / 1e3 / y_max) * (H - TOP - BOTTOM);
            let _ = writeln!(marks, "<circle class=\"pct\" data-percentile=\"{p}\" data-us=\"{us}\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"4\" fill=\"#d62728\"><title>p{p}: {}</title></circle><text class=\"label\" x=\"{:.1}\" y=\"{:.1}\">{}</text>", fmt_us(us), cx + 5.0, cy - 6.0, fmt_us(us));
        }
    }
    chart.render(&mut out, &marks);

    // Latency over time.
    let ms = |us: u64| us as f64 / 1e3;
    let at = |p: &&Point| p.t + p.length / 2.0;
    Chart {
        title: "Latency over time",
        x_label: "seconds",
        y_label: "latency (ms)",
        x_range: (0.0, x_end),
        x_ticks: time_ticks,
        series: vec![
            Series {
                name: "p50",
                color: "#2ca02c",
                points: timed.iter().map(|p| (at(p), ms(p.p50))).collect(),
            },
            Series {
                name: "p99",
                color: "#ff7f0e",
                points: timed.iter().map(|p| (at(p), ms(p.p99))).collect(),
            },
            Series {
                name: "p99.9",
                color: "#9467bd",
                points: timed.iter().map(|p| (at(p), ms(p.p999))).collect(),
            },
            Series {
                name: "max",
                color: "#d62728",
                points: timed.iter().map(|p| (at(p), ms(p.max))).collect(),
            },
        ],
    }
    .render(&mut out, "");
    let _ = writeln!(
        out,
        "<h2>Text summary</h2><pre>{}</pre>",
        esc(&render_text(m))
    );
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::hdrlog::FileInfo;
    use hdrhistogram::Histogram;

    fn merged() -> Merged {
        let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for v in 1..=100_000u64 {
            total.record(v).unwrap();
        }
        let point = |t| Point {
            t,
            length: 1.0,
            count: 50_000,
            p50: 50_000,
            p99: 99_000,
            p999: 99_900,
            max: 100_000,
        };
        Merged {
            t0: 0.0,
            files: vec![FileInfo {
                name: "a<b>.hlog".into(),
                offset: 0.0,
                intervals: 2,
                count: 100_000,
            }],
            total,
            points: vec![point(0.0), point(1.0)],
        }
    }

    #[test]
    fn latencies_read_in_their_unit() {
        assert_eq!(fmt_us(950), "950 µs");
        assert_eq!(fmt_us(1_234), "1.23 ms");
        assert_eq!(fmt_us(2_500_000), "2.500 s");
    }

    #[test]
    fn text_lists_files_and_every_marked_percentile() {
        let t = render_text(&merged());
        assert!(t.contains("a<b>.hlog"), "{t}");
        assert!(t.contains("samples 100000 over 2.0 s (50000/s)"), "{t}");
        assert!(t.contains("       99% ") && t.contains("99.999% "), "{t}");
        assert!(
            t.contains(&fmt_us(merged().total.value_at_quantile(0.999))),
            "{t}"
        );
    }

    #[test]
    fn html_is_self_contained_and_marks_the_percentiles() {
        let m = merged();
        let h = render_html(&m, "run <1>");
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(!h.contains("<script") && !h.contains("src=\"http") && !h.contains("href=\"http"));
        assert!(h.contains("<title>run &lt;1&gt;</title>"));
        assert_eq!(h.matches("<svg").count(), 3);
        for p in MARKED {
            let us = m.total.value_at_quantile(p / 100.0);
            let want = format!("data-percentile=\"{p}\" data-us=\"{us}\"");
            assert!(h.contains(&want), "missing {want}");
        }
    }

    #[test]
    fn spectrum_x_is_the_log_of_one_over_the_tail() {
        assert!((spectrum_x(0.9) - 1.0).abs() < 1e-9);
        assert!((spectrum_x(0.999) - 3.0).abs() < 1e-9);
        assert_eq!(spectrum_x(0.0), 0.0);
        assert!((spectrum_x(1.0) - 6.0).abs() < 1e-6);
    }

    #[test]
    fn nice_steps_are_round() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(7.0, 5.0), 2.0);
        assert_eq!(nice_step(0.3, 5.0), 0.1);
    }
}
