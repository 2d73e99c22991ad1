//! The suite's pictures, drawn from the reports of one run for `BENCHMARKS.md`:
//! - latency–throughput: end-to-end p50 and p99 (log scale) against the `latency` scenario's offered rates, one
//!   colour per backend;
//! - delivered beside the ceiling: deliveries per second of every other run, each beside the ceiling (plain
//!   keep-alive POSTs to the sink) measured in that same run, which is what makes runs of a noisy machine compare.
//!
//! SVG only: text is written as `<text>` elements and sized by plotters' built-in estimate, so neither drawing
//! nor building needs fonts or system libraries. Each SVG carries a `<title>` and a `<desc>` that states its
//! figures in words, for readers who cannot see it.

use std::path::Path;

use plotters::coord::combinators::IntoLogRange;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::benchmarks::Row;
use crate::report::{Percentiles, percent, round};

pub const LATENCY_FILE: &str = "latency-throughput.svg";
pub const DELIVERED_FILE: &str = "delivered-vs-ceiling.svg";

const SIZE: (u32, u32) = (960, 560);
const FONT: &str = "sans-serif";

/// What drawing into an in-memory SVG can fail with (plotters' error over the backend's).
pub type DrawError = DrawingAreaErrorKind<std::io::Error>;

/// One drawn chart.
#[derive(Debug)]
pub struct Chart {
    pub file_name: &'static str,
    /// Also the Markdown image's alternative text.
    pub title: &'static str,
    pub svg: String,
}

/// The charts the rows have data for: none, one or both.
pub fn draw(rows: &[Row]) -> Result<Vec<Chart>, DrawError> {
    let mut charts = Vec::new();
    let curves = curves(rows);
    if !curves.is_empty() {
        charts.push(latency_throughput(&curves)?);
    }
    let bars = bars(rows);
    if !bars.is_empty() {
        charts.push(delivered_vs_ceiling(&bars)?);
    }
    Ok(charts)
}

/// Writes each chart into `dir` (created if missing) under its file name.
pub fn write(dir: &Path, charts: &[Chart]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for chart in charts {
        std::fs::write(dir.join(chart.file_name), &chart.svg)?;
    }
    Ok(())
}

/// One backend's latency runs, by increasing offered rate.
#[derive(Debug, PartialEq)]
struct Curve {
    backend: &'static str,
    points: Vec<(u64, Percentiles)>,
}

/// The `latency` runs (open loop, `latency@<rate>`), one curve per backend in the order the suite ran them.
fn curves(rows: &[Row]) -> Vec<Curve> {
    let mut curves: Vec<Curve> = Vec::new();
    for row in rows {
        let (true, Some(rate)) = (is_latency(row), row.report.settings.rate) else {
            continue;
        };
        let point = (rate, row.report.end_to_end_ms.clone());
        match curves.iter_mut().find(|c| c.backend == row.backend) {
            Some(curve) => curve.points.push(point),
            None => curves.push(Curve {
                backend: row.backend,
                points: vec![point],
            }),
        }
    }
    for curve in &mut curves {
        curve.points.sort_by_key(|(rate, _)| *rate);
    }
    curves
}

fn is_latency(row: &Row) -> bool {
    row.report.scenario.starts_with("latency")
}

/// One closed-loop run: what it delivered and the ceiling of the same run.
#[derive(Debug, PartialEq)]
struct Bar {
    label: String,
    backend: &'static str,
    deliveries_per_sec: f64,
    ceiling: Option<f64>,
}

/// Every run but the latency ones: an open loop delivers the rate it was offered, so a bar would say nothing.
/// Deliveries (not messages) per second, because each delivery is one POST, as each request of the ceiling is;
/// with one endpoint per message the two are the same.
fn bars(rows: &[Row]) -> Vec<Bar> {
    rows.iter()
        .filter(|row| !is_latency(row))
        .map(|row| Bar {
            label: format!("{} · {}", row.report.scenario, row.backend),
            backend: row.backend,
            deliveries_per_sec: row.report.delivered.deliveries_per_sec,
            ceiling: row.report.ceiling.as_ref().map(|c| c.requests_per_sec),
        })
        .collect()
}

/// Okabe–Ito colours: told apart with any common colour-vision deficiency, and dark enough on white.
fn colour(backend: &str) -> RGBColor {
    match backend {
        "embedded" => RGBColor(0x00, 0x72, 0xB2),
        "redis" => RGBColor(0xD5, 0x5E, 0x00),
        "postgres" => RGBColor(0x00, 0x9E, 0x73),
        _ => RGBColor(0x44, 0x44, 0x44),
    }
}

const CEILING_GREY: RGBColor = RGBColor(0xA0, 0xA0, 0xA0);

const LATENCY_TITLE: &str = "End-to-end latency against offered rate, per backend";

fn latency_throughput(curves: &[Curve]) -> Result<Chart, DrawError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let all = || curves.iter().flat_map(|c| &c.points);
        let max_rate = all().map(|(rate, _)| *rate).max().unwrap_or(1) as f64;
        let floor = log_floor(all().map(|(_, p)| p.p50));
        let top = all().map(|(_, p)| p.p99).fold(floor, f64::max) * 2.0;
        let mut chart = ChartBuilder::on(&root)
            .caption(LATENCY_TITLE, (FONT, 22))
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(72)
            .build_cartesian_2d(0f64..max_rate * 1.08, (floor..top).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("offered rate (messages/s)")
            .y_desc("end-to-end latency (ms, log scale)")
            .x_label_formatter(&|rate| format!("{rate:.0}"))
            .y_label_formatter(&|ms| round(*ms))
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 14))
            .draw()?;
        for curve in curves {
            draw_curve(&mut chart, curve, floor)?;
        }
        draw_legend(&mut chart)?;
        root.present()?;
    }
    Ok(Chart {
        file_name: LATENCY_FILE,
        title: LATENCY_TITLE,
        svg: with_title(&svg, LATENCY_TITLE, &latency_description(curves)),
    })
}

/// The legend of either chart, top left over a light background.
fn draw_legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
) -> Result<(), DrawError> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
}

/// The bottom of a log axis: the power of ten at or below the smallest positive value, so that every value
/// (a zero, from an empty run, is drawn at the bottom) has a place.
fn log_floor(values: impl Iterator<Item = f64>) -> f64 {
    let smallest = values.filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
    if smallest.is_finite() {
        10f64.powf(smallest.log10().floor())
    } else {
        0.1
    }
}

type LatencyChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, LogCoord<f64>>>;

/// p99 as a solid line with filled dots, p50 dashed with hollow dots, both in the backend's colour.
fn draw_curve(chart: &mut LatencyChart<'_, '_>, curve: &Curve, floor: f64) -> Result<(), DrawError> {
    let colour = colour(curve.backend);
    let at = |pick: fn(&Percentiles) -> f64| {
        curve
            .points
            .iter()
            .map(move |(rate, p)| (*rate as f64, pick(p).max(floor)))
            .collect::<Vec<_>>()
    };
    let (p99, p50) = (at(|p| p.p99), at(|p| p.p50));
    let solid = colour.stroke_width(3);
    chart
        .draw_series(LineSeries::new(p99.clone(), solid))?
        .label(format!("{} p99", curve.backend))
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 28, y)], solid));
    chart.draw_series(p99.iter().map(|&at| Circle::new(at, 5, colour.filled())))?;
    let dashed = colour.stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(p50.clone(), 8, 5, dashed))?
        .label(format!("{} p50", curve.backend))
        .legend(move |(x, y)| DashedPathElement::new([(x, y), (x + 28, y)], 8, 5, dashed));
    chart.draw_series(p50.iter().map(|&at| Circle::new(at, 5, dashed)))?;
    Ok(())
}

fn latency_description(curves: &[Curve]) -> String {
    let backends = curves.iter().map(|curve| {
        let points = curve
            .points
            .iter()
            .map(|(rate, p)| format!("at {rate} msg/s p50 {} ms, p99 {} ms", round(p.p50), round(p.p99)));
        format!("{}: {}", curve.backend, points.collect::<Vec<_>>().join("; "))
    });
    format!(
        "End-to-end latency (send to accepted delivery) of the open-loop latency scenario. {}.",
        backends.collect::<Vec<_>>().join(". ")
    )
}

const DELIVERED_TITLE: &str = "Delivered per second beside the ceiling of the same run";

fn delivered_vs_ceiling(bars: &[Bar]) -> Result<Chart, DrawError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let heights = || {
            bars.iter()
                .flat_map(|b| [Some(b.deliveries_per_sec), b.ceiling])
                .flatten()
        };
        let floor = log_floor(heights());
        // Log scale: runs deliver a few percent of the ceiling, which a linear axis would draw as slivers. The
        // headroom above the tallest bar keeps the legend clear of the bars.
        let top = heights().fold(floor, f64::max) * 8.0;
        let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
        // One segment per run, its label under the segment's centre.
        let label = |slot: &SegmentValue<usize>| match slot {
            SegmentValue::CenterOf(i) => labels.get(*i).map_or(String::new(), |l| l.to_string()),
            _ => String::new(),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(DELIVERED_TITLE, (FONT, 22))
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(80)
            // An integer range is inclusive in plotters: `0..last` makes one segment per run.
            .build_cartesian_2d((0..bars.len() - 1).into_segmented(), (floor..top).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("scenario · backend")
            .y_desc("deliveries/s (ceiling: POSTs/s), log scale")
            .x_label_formatter(&label)
            .y_label_formatter(&|n| format!("{n:.0}"))
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .draw()?;
        draw_bars(&mut chart, bars, floor)?;
        draw_legend(&mut chart)?;
        root.present()?;
    }
    Ok(Chart {
        file_name: DELIVERED_FILE,
        title: DELIVERED_TITLE,
        svg: with_title(&svg, DELIVERED_TITLE, &delivered_description(bars)),
    })
}

type BarChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<SegmentedCoord<RangedCoordusize>, LogCoord<f64>>>;

/// Pixels between a bar and the edge of its half of the segment.
const BAR_GAP: u32 = 6;

/// In each run's segment, its deliveries/s in the left half (the backend's colour, its share of the ceiling above
/// it) and the ceiling in the right half (grey, its value above it). One legend entry per backend and one for the
/// ceiling.
fn draw_bars(chart: &mut BarChart<'_, '_>, bars: &[Bar], floor: f64) -> Result<(), DrawError> {
    let left = |i: usize| (SegmentValue::Exact(i), SegmentValue::CenterOf(i));
    let right = |i: usize| (SegmentValue::CenterOf(i), SegmentValue::Exact(i + 1));
    let bar = |(from, to): (SegmentValue<usize>, SegmentValue<usize>), height: f64, colour: RGBColor| {
        let mut rectangle = Rectangle::new([(from, floor), (to, height.max(floor))], colour.filled());
        rectangle.set_margin(0, 0, BAR_GAP, BAR_GAP);
        rectangle
    };
    let mut backends: Vec<&'static str> = bars.iter().map(|b| b.backend).collect();
    backends.dedup();
    for backend in backends {
        let colour = colour(backend);
        let mine = bars.iter().enumerate().filter(|(_, b)| b.backend == backend);
        chart
            .draw_series(mine.map(|(i, b)| bar(left(i), b.deliveries_per_sec, colour)))?
            .label(format!("{backend}: delivered"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    let with_ceiling = || {
        bars.iter()
            .enumerate()
            .filter_map(|(i, b)| Some((i, b, b.ceiling?)))
    };
    chart
        .draw_series(with_ceiling().map(|(i, _, ceiling)| bar(right(i), ceiling, CEILING_GREY)))?
        .label("ceiling (plain POSTs, same run)")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], CEILING_GREY.filled()));
    // A bar's centre is a quarter of a segment from the segment's centre.
    let quarter = chart.plotting_area().dim_in_pixel().0 as i32 / bars.len().max(1) as i32 / 4;
    let above = |i: usize, height: f64, dx: i32, text: String| {
        let style = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        EmptyElement::at((SegmentValue::CenterOf(i), height.max(floor))) + Text::new(text, (dx, -3), style)
    };
    chart.draw_series(with_ceiling().map(|(i, b, ceiling)| {
        above(
            i,
            b.deliveries_per_sec,
            -quarter,
            percent(b.deliveries_per_sec / ceiling),
        )
    }))?;
    chart.draw_series(with_ceiling().map(|(i, _, ceiling)| above(i, ceiling, quarter, round(ceiling))))?;
    Ok(())
}

fn delivered_description(bars: &[Bar]) -> String {
    let runs = bars.iter().map(|b| match b.ceiling {
        Some(ceiling) => format!(
            "{}: {} deliveries/s, {} of a ceiling of {} POSTs/s",
            b.label,
            round(b.deliveries_per_sec),
            percent(b.deliveries_per_sec / ceiling),
            round(ceiling)
        ),
        None => format!("{}: {} deliveries/s", b.label, round(b.deliveries_per_sec)),
    });
    format!(
        "Deliveries per second of each closed-loop run beside the ceiling measured in the same run. {}.",
        runs.collect::<Vec<_>>().join("; ")
    )
}

/// `svg` with an accessible name and description: `<title>` and `<desc>` as the root's first children.
fn with_title(svg: &str, title: &str, description: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg.to_owned();
    };
    let open = svg[..end].replacen("<svg", r#"<svg role="img" aria-labelledby="title desc""#, 1);
    format!(
        "{open}>\n<title id=\"title\">{}</title>\n<desc id=\"desc\">{}</desc>{}",
        escape(title),
        escape(description),
        &svg[end + 1..]
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::report;

    fn latency(backend: &'static str, rate: u64, p50: f64, p99: f64) -> Row {
        let mut report = report(&format!("latency@{rate}"), 0.0, p99);
        report.settings.rate = Some(rate);
        report.end_to_end_ms.p50 = p50;
        report.end_to_end_ms.p99 = p99;
        Row { backend, report }
    }

    fn closed(backend: &'static str, scenario: &str, deliveries_per_sec: f64) -> Row {
        let mut report = report(scenario, 0.0, 1.0);
        report.delivered.deliveries_per_sec = deliveries_per_sec;
        Row { backend, report }
    }

    /// Whether the SVG draws `text` as one `<text>` element (plotters puts its content on a line of its own).
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    fn rows() -> Vec<Row> {
        vec![
            closed("embedded", "throughput", 5000.0),
            latency("embedded", 5000, 3.0, 40.0),
            latency("embedded", 1000, 1.5, 4.0),
            closed("redis", "fanout", 12_000.0),
            latency("redis", 1000, 2.5, 9.0),
        ]
    }

    #[test]
    fn curves_are_per_backend_by_rate_and_bars_leave_the_open_loop_out() {
        let curves = curves(&rows());
        let shape: Vec<(&str, Vec<u64>)> = curves
            .iter()
            .map(|c| (c.backend, c.points.iter().map(|(rate, _)| *rate).collect()))
            .collect();
        assert_eq!(shape, [("embedded", vec![1000, 5000]), ("redis", vec![1000])]);
        let labels: Vec<String> = bars(&rows()).into_iter().map(|b| b.label).collect();
        assert_eq!(labels, ["throughput · embedded", "fanout · redis"]);
    }

    #[test]
    fn the_latency_chart_is_titled_labelled_and_has_both_percentiles_of_each_backend() {
        let charts = draw(&rows()).expect("drawn");
        let chart = &charts[0];
        assert_eq!(chart.file_name, LATENCY_FILE);
        let svg = &chart.svg;
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(
            svg.contains(&format!("<title id=\"title\">{LATENCY_TITLE}</title>")),
            "{svg}"
        );
        assert!(
            svg.contains(
                "embedded: at 1000 msg/s p50 1.50 ms, p99 4.00 ms; at 5000 msg/s p50 3.00 ms, p99 40.0 ms."
            ),
            "{svg}"
        );
        for label in [
            "embedded p99",
            "embedded p50",
            "redis p99",
            "redis p50",
            "offered rate (messages/s)",
        ] {
            assert!(has_text(svg, label), "{label} missing from {svg}");
        }
        assert!(svg.contains("end-to-end latency (ms, log scale)"), "{svg}");
        assert!(svg.contains("#D55E00"), "redis is drawn in its colour: {svg}");
    }

    #[test]
    fn the_delivered_chart_puts_each_run_beside_its_ceiling_with_its_share() {
        let charts = draw(&rows()).expect("drawn");
        let chart = &charts[1];
        assert_eq!(chart.file_name, DELIVERED_FILE);
        let svg = &chart.svg;
        assert!(
            svg.contains(&format!("<title id=\"title\">{DELIVERED_TITLE}</title>")),
            "{svg}"
        );
        assert!(
            svg.contains("fanout · redis: 12000 deliveries/s, 12.0 % of a ceiling of 100000 POSTs/s"),
            "{svg}"
        );
        for text in [
            "throughput · embedded",
            "embedded: delivered",
            "redis: delivered",
            "ceiling (plain POSTs, same run)",
            "5.00 %",
            "100000",
            "deliveries/s (ceiling: POSTs/s), log scale",
        ] {
            assert!(has_text(svg, text), "{text} missing from {svg}");
        }
    }

    #[test]
    fn no_runs_no_charts_and_titles_are_escaped() {
        assert!(draw(&[]).expect("nothing to draw").is_empty());
        let only_closed = [closed("redis", "throughput", 10.0)];
        assert_eq!(draw(&only_closed).expect("drawn").len(), 1);
        assert_eq!(
            with_title("<svg a=\"1\">\n<rect/></svg>", "a<b", "x & y"),
            "<svg role=\"img\" aria-labelledby=\"title desc\" a=\"1\">\n<title id=\"title\">a&lt;b</title>\n\
             <desc id=\"desc\">x &amp; y</desc>\n<rect/></svg>"
        );
    }
}
