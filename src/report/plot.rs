//! Plots shared by every report: a line chart with several series, a scatter with a
//! highlighted Pareto front, and a grouped bar chart. Each is drawn once per backend and
//! written as both PNG (bitmap backend, encoded in memory) and SVG, atomically.
//!
//! Text is laid out with the bundled DejaVu Sans (`assets/fonts/DejaVuSans.ttf`,
//! registered with plotters' ab_glyph support as the `sans-serif` family), so rendering
//! needs no system fonts and gives the same pixels on every machine.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged, ValueFormatter};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font once per process as `sans-serif` (all styles fall back to it).
pub fn register_font() -> Result<()> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Other(
            "bundled font DejaVuSans.ttf is not a valid font".into(),
        ))
    }
}

/// Image size in pixels (PNG) and user units (SVG).
pub const SIZE: (u32, u32) = (1000, 640);

/// Distinguishable colours (Tableau 10), shared by every chart of the crate.
pub(crate) const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// One named series of `(x, y)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// A line chart with markers, one line per series.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// X-axis label with unit.
    pub x_label: String,
    /// Y-axis label with unit.
    pub y_label: String,
    /// Space the x axis logarithmically (base 2), e.g. for capacities.
    pub log2_x: bool,
    /// The series.
    pub series: Vec<Series>,
}

/// A scatter plot of all points with the Pareto front highlighted and connected.
#[derive(Debug, Clone)]
pub struct ScatterChart {
    /// Title above the plot.
    pub title: String,
    /// X-axis label with unit.
    pub x_label: String,
    /// Y-axis label with unit.
    pub y_label: String,
    /// Points off the front.
    pub others: Vec<(f64, f64)>,
    /// Points on the front.
    pub front: Vec<(f64, f64)>,
}

/// A grouped bar chart: one group of bars per category, one bar per series.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Title above the plot.
    pub title: String,
    /// Y-axis label with unit.
    pub y_label: String,
    /// Category names along the x axis.
    pub categories: Vec<String>,
    /// `(series label, one value per category)`; NaN leaves a gap.
    pub series: Vec<(String, Vec<f64>)>,
}

/// Outcome of drawing one figure on one backend (the error is the backend's, as text).
pub(crate) type DrawResult = std::result::Result<(), String>;

/// Turns a plotters error into the text carried by [`DrawResult`].
pub(crate) fn de<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draws `fig` at `size` (pixels / SVG units) on PNG and SVG backends and writes
/// `<stem>.png` and `<stem>.svg` atomically (both rendered before either is written).
pub(crate) fn write_png_svg<F: Figure>(
    stem: &Path,
    fig: &F,
    size: (u32, u32),
) -> Result<Vec<PathBuf>> {
    register_font()?;
    let png_path = stem.with_extension("png");
    let svg_path = stem.with_extension("svg");
    let fail = |p: &Path, e: String| Error::Other(format!("{}: drawing failed: {e}", p.display()));

    let (w, h) = size;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        fig.draw(&root).map_err(|e| fail(&png_path, e))?;
        root.present().map_err(|e| fail(&png_path, de(e)))?;
    }
    let png_bytes = encode_png(&rgb, w, h).map_err(|e| fail(&png_path, e))?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        fig.draw(&root).map_err(|e| fail(&svg_path, e))?;
        root.present().map_err(|e| fail(&svg_path, de(e)))?;
    }
    crate::io_util::write_atomic(&png_path, &png_bytes)?;
    crate::io_util::write_atomic(&svg_path, svg.as_bytes())?;
    Ok(vec![png_path, svg_path])
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().map_err(de)?;
        wr.write_image_data(rgb).map_err(de)?;
    }
    Ok(out)
}

/// A padded `[lo, hi]` range covering `values` (a flat range around a single value).
fn span(values: impl Iterator<Item = f64>, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if from_zero && lo > 0.0 {
        lo = 0.0;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.06
    } else {
        hi.abs().max(1.0) * 0.1
    };
    (
        if from_zero && lo == 0.0 {
            0.0
        } else {
            lo - pad
        },
        hi + pad,
    )
}

/// Tick label for a number: integers without decimals, others with up to 3 significant.
pub fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (a - a.round()).abs() < 1e-9 * a.max(1.0) && a < 1e7 {
        format!("{}", v.round() as i64)
    } else if (1e-3..1e7).contains(&a) {
        let digits = (2 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.2e}")
    }
}

fn title_font() -> TextStyle<'static> {
    ("sans-serif", 26).into_font().into()
}

fn label_font() -> TextStyle<'static> {
    ("sans-serif", 20).into_font().into()
}

fn tick_font() -> TextStyle<'static> {
    ("sans-serif", 16).into_font().into()
}

/// A linear f64 axis whose ticks sit exactly at given values (data x values, bar centres),
/// so tick labels name the swept values instead of arbitrary round numbers.
struct KeyedAxis {
    range: std::ops::Range<f64>,
    keys: Vec<f64>,
}

impl KeyedAxis {
    fn new(range: std::ops::Range<f64>, keys: Vec<f64>) -> Self {
        KeyedAxis { range, keys }
    }
}

impl Ranged for KeyedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (lo, hi) = (self.range.start, self.range.end);
        let f = if hi > lo {
            (value - lo) / (hi - lo)
        } else {
            0.5
        };
        limit.0 + (f * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.keys.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

/// Distinct finite values of `xs`, sorted, thinned to at most `max` evenly spaced ones.
fn key_points(xs: impl Iterator<Item = f64>, max: usize) -> Vec<f64> {
    let mut v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() > max {
        let step = v.len().div_ceil(max);
        v = v.into_iter().step_by(step).collect();
    }
    v
}

fn draw_line<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &LineChart) -> DrawResult {
    root.fill(&WHITE).map_err(de)?;
    let tx = |x: f64| if c.log2_x { x.log2() } else { x };
    let all = || c.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = span(all().map(|p| tx(p.0)), false);
    let (y0, y1) = span(all().map(|p| p.1), true);
    // Headroom above the data for the legend box (upper right).
    let y1 = y0 + (y1 - y0) * (1.0 + 0.09 * (c.series.len().min(10) as f64 + 1.0));
    let keys = key_points(all().map(|p| tx(p.0)), 12);
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, title_font())
        .margin(18)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(KeyedAxis::new(x0..x1, keys), y0..y1)
        .map_err(de)?;
    let log2 = c.log2_x;
    draw_mesh(&mut chart, &c.x_label, &c.y_label, &|v| {
        tick(if log2 { 2f64.powf(*v) } else { *v })
    })?;
    for (i, s) in c.series.iter().enumerate() {
        let col = color(i);
        // Earlier series are drawn wider so that coinciding lines stay visible as bands.
        let width = 6u32.saturating_sub(i as u32).max(2);
        let radius = width as i32 + 1;
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|p| (tx(p.0), p.1))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), col.stroke_width(width)))
            .map_err(de)?
            .label(&s.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], col.stroke_width(width))
            });
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, radius, col.filled())))
            .map_err(de)?;
    }
    draw_legend(&mut chart)
}

fn draw_scatter<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &ScatterChart) -> DrawResult {
    root.fill(&WHITE).map_err(de)?;
    let all = || c.others.iter().chain(c.front.iter());
    let (x0, x1) = span(all().map(|p| p.0), false);
    let (y0, y1) = span(all().map(|p| p.1), false);
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, title_font())
        .margin(18)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(de)?;
    draw_mesh(&mut chart, &c.x_label, &c.y_label, &|v| tick(*v))?;
    let grey = RGBColor(150, 150, 150);
    chart
        .draw_series(c.others.iter().map(|&p| Circle::new(p, 4, grey.filled())))
        .map_err(de)?
        .label("design point")
        .legend(move |(x, y)| Circle::new((x + 12, y), 4, grey.filled()));
    let red = COLORS[3];
    let mut front = c.front.clone();
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    chart
        .draw_series(LineSeries::new(front.clone(), red.mix(0.6).stroke_width(2)))
        .map_err(de)?;
    chart
        .draw_series(front.iter().map(|&p| Circle::new(p, 7, red.filled())))
        .map_err(de)?
        .label("Pareto front (time, memory, energy, SRAM)")
        .legend(move |(x, y)| Circle::new((x + 12, y), 6, red.filled()));
    draw_legend(&mut chart)
}

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &BarChart) -> DrawResult {
    root.fill(&WHITE).map_err(de)?;
    let n = c.categories.len().max(1) as f64;
    let (_, y1) = span(c.series.iter().flat_map(|s| s.1.iter().copied()), true);
    let y1 = y1 * 1.3; // room for value labels and the legend above the tallest bar
    let keys: Vec<f64> = (0..c.categories.len()).map(|i| i as f64 + 0.5).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, title_font())
        .margin(18)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(KeyedAxis::new(0.0..n, keys), 0.0..y1)
        .map_err(de)?;
    let cats = c.categories.clone();
    chart
        .configure_mesh()
        .y_desc(&c.y_label)
        .axis_desc_style(label_font())
        .label_style(tick_font())
        .x_label_formatter(&|v| {
            cats.get(v.floor().max(0.0) as usize)
                .cloned()
                .unwrap_or_default()
        })
        .y_label_formatter(&|v| tick(*v))
        .disable_x_mesh()
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(de)?;
    let g = c.series.len().max(1) as f64;
    let width = 0.8 / g;
    for (si, (label, values)) in c.series.iter().enumerate() {
        let col = color(si);
        let bars: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(ci, &v)| (ci as f64 + 0.1 + si as f64 * width, v))
            .collect();
        chart
            .draw_series(
                bars.iter()
                    .map(|&(x, v)| Rectangle::new([(x, 0.0), (x + width * 0.92, v)], col.filled())),
            )
            .map_err(de)?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], col.filled()));
        let small: TextStyle = ("sans-serif", 13).into_font().into();
        let small = small.pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Bottom,
        ));
        chart
            .draw_series(
                bars.iter()
                    .map(|&(x, v)| Text::new(tick_bar(v), (x + width * 0.46, v), small.clone())),
            )
            .map_err(de)?;
    }
    draw_legend(&mut chart)
}

/// Axis titles, tick labels (x through `x_tick`) and major grid lines of the line and
/// scatter charts.
fn draw_mesh<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
    x_tick: &dyn Fn(&f64) -> String,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(label_font())
        .label_style(tick_font())
        .x_label_formatter(x_tick)
        .y_label_formatter(&|v| tick(*v))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(de)
}

/// The series legend every chart puts in its upper right corner.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> DrawResult {
    chart
        .configure_series_labels()
        .label_font(tick_font())
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(de)
}

fn tick_bar(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Something drawable on any plotters backend.
pub(crate) trait Figure {
    /// Draws the whole figure on `root` (the caller presents it).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

impl Figure for LineChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        draw_line(root, self)
    }
}

impl Figure for ScatterChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        draw_scatter(root, self)
    }
}

impl Figure for BarChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        draw_bars(root, self)
    }
}

/// Writes a line chart as `<stem>.png` and `<stem>.svg`; returns the paths.
pub fn line_chart(stem: &Path, c: &LineChart) -> Result<Vec<PathBuf>> {
    write_png_svg(stem, c, SIZE)
}

/// Writes a Pareto scatter as `<stem>.png` and `<stem>.svg`; returns the paths.
pub fn scatter_chart(stem: &Path, c: &ScatterChart) -> Result<Vec<PathBuf>> {
    write_png_svg(stem, c, SIZE)
}

/// Writes a grouped bar chart as `<stem>.png` and `<stem>.svg`; returns the paths.
pub fn bar_chart(stem: &Path, c: &BarChart) -> Result<Vec<PathBuf>> {
    write_png_svg(stem, c, SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(1024.0), "1024");
        assert_eq!(tick(25.6), "25.6");
        assert_eq!(tick(0.1234), "0.123");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(3.5e-5), "3.50e-5");
    }

    #[test]
    fn all_three_charts_render_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let line = LineChart {
            title: "Time vs SRAM".into(),
            x_label: "SRAM capacity (KiB)".into(),
            y_label: "time per step (s)".into(),
            log2_x: true,
            series: vec![Series {
                label: "DRAM 25.6 GB/s".into(),
                points: vec![(256.0, 3.0), (512.0, 2.0), (1024.0, 1.5)],
            }],
        };
        let scatter = ScatterChart {
            title: "Pareto".into(),
            x_label: "memory (GiB)".into(),
            y_label: "time (s)".into(),
            others: vec![(2.0, 2.0)],
            front: vec![(1.0, 2.0), (2.0, 1.0)],
        };
        let bars = BarChart {
            title: "Speed-up".into(),
            y_label: "speed-up (x)".into(),
            categories: vec!["LoRA".into(), "Edge-LLM".into()],
            series: vec![
                ("ours".into(), vec![1.0, 2.5]),
                ("paper".into(), vec![1.0, f64::NAN]),
            ],
        };
        let mut paths = line_chart(&dir.path().join("line"), &line).unwrap();
        paths.extend(scatter_chart(&dir.path().join("scatter"), &scatter).unwrap());
        paths.extend(bar_chart(&dir.path().join("bars"), &bars).unwrap());
        for p in &paths {
            let bytes = std::fs::read(p).unwrap();
            assert!(bytes.len() > 1000, "{} is too small", p.display());
        }
        let png = std::fs::read(dir.path().join("line.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = std::fs::read_to_string(dir.path().join("bars.svg")).unwrap();
        assert!(svg.contains("Edge-LLM") && svg.contains("speed-up (x)"));
    }
}
