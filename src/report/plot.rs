//! Plots shared by every report: a line chart with several series, a scatter with a
//! highlighted Pareto front, and a grouped bar chart. Each is drawn once per backend and
//! written as PNG (bitmap backend, encoded in memory), SVG and PDF (the SVG converted by
//! `svg2pdf`), atomically.
//!
//! Figures are sized for papers ([`FigureStyle`]): a physical width (default 3.4 in, one
//! column of a two-column IEEE/ACM page) and a font size in points (default 8 pt: tick
//! labels stay >= 7 pt when the figure is printed at its width). The PNG is rendered at
//! [`DPI`] dots per inch and says so (`pHYs`); the SVG and the PDF carry the width in
//! inches, so a figure included at its natural size shows text at the chosen size.
//!
//! Text is laid out with the bundled DejaVu Sans (`assets/fonts/DejaVuSans.ttf`,
//! registered with plotters' ab_glyph support as the `sans-serif` family), so rendering
//! needs no system fonts and gives the same pixels on every machine; the PDF embeds the
//! same font (subset).

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

/// Resolution of the PNG files (dots per inch); also the SVG's user units per inch.
pub const DPI: f64 = 300.0;

/// Height / width of the line, scatter and bar charts.
pub const ASPECT: f64 = 0.66;

/// Physical size and text size of figures (`--figure-width-in`, `--font-pt`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FigureStyle {
    /// Width of the figure as printed (inches). Default 3.4 in: one column of a
    /// two-column IEEE or ACM page (7 in text width, 0.33 in gap).
    pub width_in: f64,
    /// Axis-label and tick-label size as printed (points); titles are 1 pt larger,
    /// annotations 1 pt smaller. Default 8 pt (IEEE asks for figure text of at least 8
    /// pt; captions are 8 pt in IEEEtran).
    pub font_pt: f64,
}

impl Default for FigureStyle {
    fn default() -> Self {
        FigureStyle {
            width_in: 3.4,
            font_pt: 8.0,
        }
    }
}

impl FigureStyle {
    /// Accepted `--figure-width-in` range (inches): a thumbnail to a poster panel.
    pub const WIDTH_RANGE: (f64, f64) = (1.0, 20.0);
    /// Accepted `--font-pt` range (points).
    pub const FONT_RANGE: (f64, f64) = (5.0, 36.0);

    /// A style from the command-line values (defaults where `None`).
    ///
    /// # Errors
    /// [`Error::Input`] naming the flag and the allowed range when a value is outside
    /// [`Self::WIDTH_RANGE`] / [`Self::FONT_RANGE`] or not finite.
    pub fn new(width_in: Option<f64>, font_pt: Option<f64>) -> Result<FigureStyle> {
        let d = FigureStyle::default();
        let check = |v: f64, flag: &str, key: &str, (lo, hi): (f64, f64), unit: &str| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(Error::input(
                    flag,
                    key,
                    format!("{v} is out of range; allowed {lo} to {hi} {unit}"),
                ))
            }
        };
        Ok(FigureStyle {
            width_in: check(
                width_in.unwrap_or(d.width_in),
                "--figure-width-in",
                "figure_width_in",
                Self::WIDTH_RANGE,
                "inches",
            )?,
            font_pt: check(
                font_pt.unwrap_or(d.font_pt),
                "--font-pt",
                "font_pt",
                Self::FONT_RANGE,
                "points",
            )?,
        })
    }

    /// Pixels (at [`DPI`]) of a length in points.
    pub fn px(&self, pt: f64) -> f64 {
        pt * DPI / 72.0
    }

    /// Pixel size of a figure of this width and `aspect` (height / width).
    pub fn size(&self, aspect: f64) -> (u32, u32) {
        let w = (self.width_in * DPI).round().max(16.0);
        (w as u32, (w * aspect).round().max(16.0) as u32)
    }

    /// Tick-label font size (pixels).
    pub fn tick_px(&self) -> f64 {
        self.px(self.font_pt)
    }

    /// Axis-label font size (pixels).
    pub fn label_px(&self) -> f64 {
        self.px(self.font_pt)
    }

    /// Title font size (pixels).
    pub fn title_px(&self) -> f64 {
        self.px(self.font_pt + 1.0)
    }

    /// Annotation font size (pixels): bar values, point labels.
    pub fn note_px(&self) -> f64 {
        self.px((self.font_pt - 1.0).max(5.0))
    }

    /// Line width (pixels) of `pt` points, at least one pixel.
    pub fn stroke(&self, pt: f64) -> u32 {
        self.px(pt).round().max(1.0) as u32
    }
}

/// The style of figures drawn by this process: set once by the command from its flags
/// ([`set_figure_style`]), read by every chart.
static STYLE: std::sync::RwLock<FigureStyle> = std::sync::RwLock::new(FigureStyle {
    width_in: 3.4,
    font_pt: 8.0,
});

/// Sets the style of every figure drawn afterwards (a command's `--figure-width-in` and
/// `--font-pt`).
pub fn set_figure_style(s: FigureStyle) {
    if let Ok(mut g) = STYLE.write() {
        *g = s;
    }
}

/// The current figure style ([`FigureStyle::default`] unless a command set one).
pub fn figure_style() -> FigureStyle {
    STYLE.read().map(|g| *g).unwrap_or_default()
}

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
    /// A label per front point (its hardware point), drawn beside it where it does not
    /// collide with another label; empty for none.
    pub front_labels: Vec<String>,
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

/// Draws `fig` in the current [`figure_style`] at `aspect` (height / width) on PNG and
/// SVG backends, converts the SVG to PDF, and writes `<stem>.png`, `<stem>.svg` and
/// `<stem>.pdf` atomically (all rendered before any is written).
pub(crate) fn write_png_svg<F: Figure>(stem: &Path, fig: &F, aspect: f64) -> Result<Vec<PathBuf>> {
    write_figure(stem, fig, aspect, &figure_style())
}

/// [`write_png_svg`] in an explicit style.
pub(crate) fn write_figure<F: Figure>(
    stem: &Path,
    fig: &F,
    aspect: f64,
    style: &FigureStyle,
) -> Result<Vec<PathBuf>> {
    register_font()?;
    let png_path = stem.with_extension("png");
    let svg_path = stem.with_extension("svg");
    let pdf_path = stem.with_extension("pdf");
    let fail = |p: &Path, e: String| Error::Other(format!("{}: drawing failed: {e}", p.display()));

    let size = style.size(aspect);
    let (w, h) = size;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        fig.draw(&root, style).map_err(|e| fail(&png_path, e))?;
        root.present().map_err(|e| fail(&png_path, de(e)))?;
    }
    let png_bytes = encode_png(&rgb, w, h).map_err(|e| fail(&png_path, e))?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        fig.draw(&root, style).map_err(|e| fail(&svg_path, e))?;
        root.present().map_err(|e| fail(&svg_path, de(e)))?;
    }
    let svg = physical_svg(&svg, size, style.width_in);
    let pdf = svg_to_pdf(&svg).map_err(|e| fail(&pdf_path, e))?;
    crate::io_util::write_atomic(&png_path, &png_bytes)?;
    crate::io_util::write_atomic(&svg_path, svg.as_bytes())?;
    crate::io_util::write_atomic(&pdf_path, &pdf)?;
    Ok(vec![png_path, svg_path, pdf_path])
}

/// The SVG with its `width`/`height` in inches (the drawing keeps its pixel `viewBox`),
/// so it is included at its physical size.
fn physical_svg(svg: &str, (w, h): (u32, u32), width_in: f64) -> String {
    let from = format!("width=\"{w}\" height=\"{h}\"");
    let height_in = width_in * h as f64 / w as f64;
    let to = format!(
        "width=\"{}in\" height=\"{}in\"",
        round4(width_in),
        round4(height_in)
    );
    let mut out = svg.replacen(&from, &to, 1);
    if !out.contains("viewBox") {
        out = out.replacen("<svg ", &format!("<svg viewBox=\"0 0 {w} {h}\" "), 1);
    }
    out
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Converts an SVG drawn by this module to PDF (`svg2pdf`, text as the bundled DejaVu
/// Sans embedded as a subset). The page has the SVG's physical size.
pub(crate) fn svg_to_pdf(svg: &str) -> std::result::Result<Vec<u8>, String> {
    use svg2pdf::usvg;
    static DB: std::sync::OnceLock<std::sync::Arc<usvg::fontdb::Database>> =
        std::sync::OnceLock::new();
    let db = DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        std::sync::Arc::new(db)
    });
    let opts = usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: db.clone(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &opts).map_err(de)?;
    // usvg reads lengths in inches at `opts.dpi` (96) user units per inch; the page uses
    // the same DPI, so the PDF page is exactly the figure's physical size.
    let page = svg2pdf::PageOptions { dpi: opts.dpi };
    let pdf = svg2pdf::to_pdf(&tree, svg2pdf::ConversionOptions::default(), page)
        .map_err(|e| e.to_string())?;
    Ok(canonical_pdf(pdf))
}

/// svg2pdf writes resource dictionaries (`/XObject << /xo3 14 0 R ... >>`) from hash maps,
/// so the same figure gives a different byte order on every run. Sorting each run of
/// consecutive one-entry lines `/Name N 0 R` outside streams makes the file deterministic;
/// a run's lines only swap places, so every object keeps its length and the cross-reference
/// offsets stay valid.
fn canonical_pdf(pdf: Vec<u8>) -> Vec<u8> {
    fn is_entry(line: &[u8]) -> bool {
        let t = line.trim_ascii();
        let mut parts = t.split(|&b| b == b' ');
        let (Some(name), Some(num), Some(generation), Some(r), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return false;
        };
        name.len() > 1
            && name[0] == b'/'
            && name[1..].iter().all(|b| b.is_ascii_alphanumeric())
            && !num.is_empty()
            && num.iter().all(u8::is_ascii_digit)
            && generation == b"0"
            && r == b"R"
    }
    let lines: Vec<&[u8]> = pdf.split(|&b| b == b'\n').collect();
    let mut out: Vec<&[u8]> = Vec::with_capacity(lines.len());
    let mut in_stream = false;
    let mut run: Vec<&[u8]> = Vec::new();
    for line in lines {
        if !in_stream && is_entry(line) {
            run.push(line);
            continue;
        }
        run.sort_unstable();
        out.append(&mut run);
        if line.trim_ascii() == b"stream" {
            in_stream = true;
        } else if line.trim_ascii().ends_with(b"endstream") {
            in_stream = false;
        }
        out.push(line);
    }
    run.sort_unstable();
    out.append(&mut run);
    out.join(&b'\n')
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // The print resolution, so a viewer or LaTeX sizes the figure at its width.
        let ppm = (DPI / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
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

/// plotters' font size is a line height: its SVG backend writes `size / 1.24` as the
/// em size (`plotters-svg` 0.3.7, `svg.rs`), and so do its font layouts.
const PLOTTERS_SIZE_PER_EM: f64 = 1.24;

/// The bundled font at an em size of `px` pixels (the size a reader measures in points:
/// `FigureStyle::px(pt)` gives `pt` points as printed).
pub(crate) fn font(px: f64) -> TextStyle<'static> {
    ("sans-serif", px * PLOTTERS_SIZE_PER_EM).into_font().into()
}

/// The font of `px` pixels, shrunk (to no less than `min` pixels) until `text` fits in
/// `avail` pixels.
fn fit_font<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
    px: f64,
    min: f64,
    avail: f64,
) -> TextStyle<'static> {
    let mut px = px;
    while px > min && text_width(root, text, px) > avail {
        px *= 0.95;
    }
    font(px.max(min))
}

/// Width (pixels) of `text` at an em size of `px`: the larger of plotters' layout
/// estimate and 0.6 em per character (DejaVu Sans' mean advance is about 0.6 em), so a
/// backend whose estimate runs short still leaves room.
fn text_width<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, text: &str, px: f64) -> f64 {
    let est = root
        .estimate_text_size(text, &font(px))
        .map(|(w, _)| w as f64)
        .unwrap_or(0.0);
    est.max(0.6 * px * text.chars().count() as f64)
}

/// The smallest size a title or axis label is shrunk to so that it fits (6 pt).
const MIN_FIT_PT: f64 = 6.0;

/// The title font of `style`, shrunk (to no less than 6 pt) until `title` fits the
/// figure's width.
fn title_font<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    style: &FigureStyle,
    title: &str,
) -> TextStyle<'static> {
    let avail = root.dim_in_pixel().0 as f64 * 0.96;
    fit_font(root, title, style.title_px(), style.px(MIN_FIT_PT), avail)
}

/// The plot's frame: margins and label areas in proportion to the text size.
fn frame<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    style: &FigureStyle,
    title: &str,
    x_area: f64,
    y_area: f64,
) -> ChartBuilder<'a, 'b, DB> {
    let t = style.tick_px();
    let mut b = ChartBuilder::on(root);
    b.caption(title, title_font(root, style, title))
        .margin((0.6 * t) as u32)
        .margin_right((1.2 * t) as u32)
        .x_label_area_size((x_area * t) as u32)
        .y_label_area_size((y_area * t) as u32);
    b
}

/// At most this many tick labels fit along an axis of `px` pixels at `style`'s size.
fn max_ticks(px: f64, style: &FigureStyle) -> usize {
    ((px / (3.6 * style.tick_px())) as usize).clamp(2, 12)
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

/// Marker shapes cycled over the series of a line chart, so that series stay apart in
/// grey-scale print and where their lines coincide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Marker {
    const ALL: [Marker; 4] = [
        Marker::Circle,
        Marker::Square,
        Marker::Triangle,
        Marker::Diamond,
    ];
}

/// Line width (points) of series `i`: earlier series are drawn wider (and under later
/// ones), so coinciding lines stay visible as nested bands.
fn series_width_pt(i: usize) -> f64 {
    (2.2 - 0.4 * i as f64).max(0.6)
}

/// Marker radius (points) of series `i`: earlier series have larger markers, so points
/// that coincide show as concentric marks of every series' colour.
fn marker_radius_pt(i: usize) -> f64 {
    (3.6 - 0.5 * i as f64).max(1.3)
}

/// Draws `pts` as markers of `shape`, `r` pixels, filled in `col`.
fn draw_markers<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    pts: &[(f64, f64)],
    shape: Marker,
    r: i32,
    col: RGBColor,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let st = col.filled();
    match shape {
        Marker::Circle => chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, r, st)))
            .map(|_| ()),
        Marker::Square => chart
            .draw_series(
                pts.iter()
                    .map(|&p| EmptyElement::at(p) + Rectangle::new([(-r, -r), (r, r)], st)),
            )
            .map(|_| ()),
        Marker::Triangle => chart
            .draw_series(pts.iter().map(|&p| TriangleMarker::new(p, r + 1, st)))
            .map(|_| ()),
        Marker::Diamond => chart
            .draw_series(pts.iter().map(|&p| {
                EmptyElement::at(p)
                    + Polygon::new(vec![(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)], st)
            }))
            .map(|_| ()),
    }
    .map_err(de)
}

fn draw_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &LineChart,
    style: &FigureStyle,
) -> DrawResult {
    root.fill(&WHITE).map_err(de)?;
    let tx = |x: f64| if c.log2_x { x.log2() } else { x };
    let all = || c.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = span(all().map(|p| tx(p.0)), false);
    let (y0, y1) = span(all().map(|p| p.1), true);
    // Headroom above the data for the legend box (upper right): one text line per series.
    let (_, h) = root.dim_in_pixel();
    let line_frac = 1.35 * style.tick_px() / h as f64;
    let rows = c.series.len().min(10) as f64 + 0.6;
    let y1 = y0 + (y1 - y0) / (1.0 - (line_frac * rows).min(0.6));
    let x_px = root.dim_in_pixel().0 as f64 - 5.0 * style.tick_px();
    let keys = key_points(all().map(|p| tx(p.0)), max_ticks(x_px, style));
    let mut chart = frame(root, style, &c.title, 2.6, 4.6)
        .build_cartesian_2d(KeyedAxis::new(x0..x1, keys), y0..y1)
        .map_err(de)?;
    let log2 = c.log2_x;
    draw_mesh(&mut chart, style, &c.x_label, &c.y_label, &|v| {
        tick(if log2 { 2f64.powf(*v) } else { *v })
    })?;
    for (i, s) in c.series.iter().enumerate() {
        let col = color(i);
        let width = style.stroke(series_width_pt(i));
        let r = style.px(marker_radius_pt(i)).round().max(2.0) as i32;
        let shape = Marker::ALL[i % Marker::ALL.len()];
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|p| (tx(p.0), p.1))
            .collect();
        let legend_len = style.px(14.0) as i32;
        chart
            .draw_series(LineSeries::new(pts.clone(), col.stroke_width(width)))
            .map_err(de)?
            .label(&s.label)
            .legend(move |(x, y)| {
                let body =
                    PathElement::new(vec![(x, y), (x + legend_len, y)], col.stroke_width(width));
                let mid = (x + legend_len / 2, y);
                let st = col.filled();
                let mark: DynElement<'static, _, _> = match shape {
                    Marker::Circle => Circle::new(mid, r, st).into_dyn(),
                    Marker::Square => {
                        Rectangle::new([(mid.0 - r, mid.1 - r), (mid.0 + r, mid.1 + r)], st)
                            .into_dyn()
                    }
                    Marker::Triangle => TriangleMarker::new(mid, r + 1, st).into_dyn(),
                    Marker::Diamond => Polygon::new(
                        vec![
                            (mid.0, mid.1 - r - 1),
                            (mid.0 + r + 1, mid.1),
                            (mid.0, mid.1 + r + 1),
                            (mid.0 - r - 1, mid.1),
                        ],
                        st,
                    )
                    .into_dyn(),
                };
                EmptyElement::at((0, 0)) + body + mark
            });
        draw_markers(&mut chart, &pts, shape, r, col)?;
    }
    draw_legend(&mut chart, style)
}

/// Axis-aligned pixel box `(x0, y0, x1, y1)`.
type PxBox = (i32, i32, i32, i32);

fn overlaps(a: PxBox, b: PxBox) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

fn draw_scatter<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &ScatterChart,
    style: &FigureStyle,
) -> DrawResult {
    root.fill(&WHITE).map_err(de)?;
    let all = || c.others.iter().chain(c.front.iter());
    let (x0, x1) = span(all().map(|p| p.0), false);
    let (y0, y1) = span(all().map(|p| p.1), false);
    // Room above the data for the legend (two entries).
    let (_, h) = root.dim_in_pixel();
    let line_frac = 1.35 * style.tick_px() / h as f64;
    let y1 = y0 + (y1 - y0) / (1.0 - (line_frac * 2.8).min(0.5));
    let mut chart = frame(root, style, &c.title, 2.6, 4.6)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(de)?;
    draw_mesh(&mut chart, style, &c.x_label, &c.y_label, &|v| tick(*v))?;
    let grey = RGBColor(150, 150, 150);
    let r_other = style.px(1.8).round().max(2.0) as i32;
    let r_front = style.px(2.8).round().max(3.0) as i32;
    chart
        .draw_series(
            c.others
                .iter()
                .map(|&p| Circle::new(p, r_other, grey.filled())),
        )
        .map_err(de)?
        .label("design point")
        .legend(move |(x, y)| Circle::new((x + r_front, y), r_other, grey.filled()));
    let red = COLORS[3];
    let mut order: Vec<usize> = (0..c.front.len()).collect();
    order.sort_by(|&a, &b| {
        let (p, q) = (c.front[a], c.front[b]);
        p.0.total_cmp(&q.0).then(p.1.total_cmp(&q.1))
    });
    let front: Vec<(f64, f64)> = order.iter().map(|&i| c.front[i]).collect();
    chart
        .draw_series(LineSeries::new(
            front.clone(),
            red.mix(0.6).stroke_width(style.stroke(1.0)),
        ))
        .map_err(de)?;
    chart
        .draw_series(front.iter().map(|&p| Circle::new(p, r_front, red.filled())))
        .map_err(de)?
        .label("Pareto front (time, memory, energy, SRAM)")
        .legend(move |(x, y)| Circle::new((x + r_front, y), r_front, red.filled()));
    // Each front point's hardware label, at the first of four places around it that
    // collides with no label or marker already placed (else left out: sweep.csv has it).
    let note = font(style.note_px());
    let mut taken: Vec<PxBox> = front
        .iter()
        .map(|&p| {
            let (x, y) = chart.backend_coord(&p);
            (x - r_front, y - r_front, x + r_front, y + r_front)
        })
        .collect();
    let area = chart.plotting_area().get_pixel_range();
    let gap = r_front + 2;
    for (k, &i) in order.iter().enumerate() {
        let Some(label) = c.front_labels.get(i).filter(|l| !l.is_empty()) else {
            continue;
        };
        let (w, h) = root
            .estimate_text_size(label, &note)
            .map(|(w, h)| (w as i32, h as i32))
            .map_err(de)?;
        let (px, py) = chart.backend_coord(&front[k]);
        let candidates = [
            (px + gap, py - gap - h),
            (px + gap, py + gap),
            (px - gap - w, py - gap - h),
            (px - gap - w, py + gap),
        ];
        let spot = candidates.into_iter().find(|&(x, y)| {
            let b = (x, y, x + w, y + h);
            b.0 >= area.0.start
                && b.2 <= area.0.end
                && b.1 >= area.1.start
                && b.3 <= area.1.end
                && !taken.iter().any(|&t| overlaps(t, b))
        });
        if let Some((x, y)) = spot {
            taken.push((x, y, x + w, y + h));
            root.draw(&Text::new(label.clone(), (x, y), note.clone()))
                .map_err(de)?;
        }
    }
    draw_legend(&mut chart, style)
}

fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &BarChart,
    style: &FigureStyle,
) -> DrawResult {
    root.fill(&WHITE).map_err(de)?;
    let n = c.categories.len().max(1) as f64;
    let (_, y1) = span(c.series.iter().flat_map(|s| s.1.iter().copied()), true);
    // Room for value labels and the legend (one line per series) above the tallest bar.
    let (_, h) = root.dim_in_pixel();
    let line_frac = 1.35 * style.tick_px() / h as f64;
    let y1 = y1 / (1.0 - (line_frac * (c.series.len() as f64 + 2.4)).min(0.6));
    // Category names are drawn below the axis by hand, on staggered rows when one row
    // would make neighbours collide.
    let tick = font(style.tick_px());
    let slot = (root.dim_in_pixel().0 as f64 - 5.0 * style.tick_px()) / n;
    let widest = c
        .categories
        .iter()
        .map(|s| text_width(root, s, style.tick_px()))
        .fold(0.0, f64::max);
    // Rows of category names: as many as make neighbours on one row clear each other.
    let rows = ((widest / (slot * 0.95)).ceil() as usize).clamp(1, 4);
    let mut chart = frame(root, style, &c.title, 0.4 + 1.15 * rows as f64, 4.6)
        .build_cartesian_2d(KeyedAxis::new(0.0..n, Vec::new()), 0.0..y1)
        .map_err(de)?;
    let plot_h = chart.plotting_area().dim_in_pixel().1 as f64;
    chart
        .configure_mesh()
        .y_desc(&c.y_label)
        .axis_desc_style(fit_font(
            root,
            &c.y_label,
            style.label_px(),
            style.px(MIN_FIT_PT),
            plot_h,
        ))
        .label_style(tick.clone())
        .y_label_formatter(&|v| self::tick(*v))
        .disable_x_mesh()
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(de)?;
    let top = tick.pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Top,
    ));
    for (i, cat) in c.categories.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        let row = (i % rows) as f64;
        // Names at the figure's edges are moved inward to stay whole.
        let half = (text_width(root, cat, style.tick_px()) / 2.0) as i32;
        let x = x.clamp(half, (root.dim_in_pixel().0 as i32 - half).max(half));
        let dy = (style.tick_px() * (0.45 + 1.15 * row)) as i32;
        root.draw(&Text::new(cat.clone(), (x, y + dy), top.clone()))
            .map_err(de)?;
    }
    let g = c.series.len().max(1) as f64;
    let width = 0.8 / g;
    // Values on the bars only when every label fits its bar's width.
    let bar_px = chart.plotting_area().dim_in_pixel().0 as f64 / n * width;
    let widest_value = c
        .series
        .iter()
        .flat_map(|s| s.1.iter())
        .filter(|v| v.is_finite())
        .map(|&v| text_width(root, &tick_bar(v), style.note_px()))
        .fold(0.0, f64::max);
    let values_fit = widest_value <= bar_px * 1.1;
    let small = font(style.note_px()).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Bottom,
    ));
    for (si, (label, values)) in c.series.iter().enumerate() {
        let col = color(si);
        let bars: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(ci, &v)| (ci as f64 + 0.1 + si as f64 * width, v))
            .collect();
        let sq = (style.tick_px() * 0.35) as i32;
        chart
            .draw_series(
                bars.iter()
                    .map(|&(x, v)| Rectangle::new([(x, 0.0), (x + width * 0.92, v)], col.filled())),
            )
            .map_err(de)?
            .label(label)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - sq), (x + 2 * sq, y + sq)], col.filled())
            });
        if values_fit {
            chart
                .draw_series(
                    bars.iter().map(|&(x, v)| {
                        Text::new(tick_bar(v), (x + width * 0.46, v), small.clone())
                    }),
                )
                .map_err(de)?;
        }
    }
    draw_legend(&mut chart, style)
}

/// Axis titles, tick labels (x through `x_tick`) and major grid lines of the line and
/// scatter charts.
fn draw_mesh<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    style: &FigureStyle,
    x_desc: &str,
    y_desc: &str,
    x_tick: &dyn Fn(&f64) -> String,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let y_px = chart.plotting_area().dim_in_pixel().1 as f64;
    let area = chart.plotting_area().strip_coord_spec();
    let desc = fit_font(&area, y_desc, style.label_px(), style.px(MIN_FIT_PT), y_px);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(desc)
        .label_style(font(style.tick_px()))
        .y_labels(((y_px / (2.2 * style.tick_px())) as usize).clamp(2, 10))
        .x_label_formatter(x_tick)
        .y_label_formatter(&|v| tick(*v))
        .bold_line_style(BLACK.mix(0.12).stroke_width(style.stroke(0.4)))
        .light_line_style(WHITE.mix(0.0))
        .axis_style(BLACK.stroke_width(style.stroke(0.6)))
        .draw()
        .map_err(de)
}

/// The series legend every chart puts in its upper right corner.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    style: &FigureStyle,
) -> DrawResult {
    chart
        .configure_series_labels()
        .label_font(font(style.note_px()))
        .margin(style.px(3.0) as i32)
        .legend_area_size(style.px(16.0) as i32)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.stroke_width(style.stroke(0.4)))
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
    /// Draws the whole figure on `root` in `style` (the caller presents it).
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        style: &FigureStyle,
    ) -> DrawResult;
}

impl Figure for LineChart {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        style: &FigureStyle,
    ) -> DrawResult {
        draw_line(root, self, style)
    }
}

impl Figure for ScatterChart {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        style: &FigureStyle,
    ) -> DrawResult {
        draw_scatter(root, self, style)
    }
}

impl Figure for BarChart {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        style: &FigureStyle,
    ) -> DrawResult {
        draw_bars(root, self, style)
    }
}

/// Writes a line chart as `<stem>.png`, `.svg` and `.pdf` in the current
/// [`figure_style`]; returns the paths.
pub fn line_chart(stem: &Path, c: &LineChart) -> Result<Vec<PathBuf>> {
    write_png_svg(stem, c, ASPECT)
}

/// Writes a Pareto scatter as `<stem>.png`, `.svg` and `.pdf`; returns the paths.
pub fn scatter_chart(stem: &Path, c: &ScatterChart) -> Result<Vec<PathBuf>> {
    write_png_svg(stem, c, ASPECT)
}

/// Writes a grouped bar chart as `<stem>.png`, `.svg` and `.pdf`; returns the paths.
pub fn bar_chart(stem: &Path, c: &BarChart) -> Result<Vec<PathBuf>> {
    write_png_svg(stem, c, ASPECT)
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
            front_labels: vec!["512 KiB".into(), "1024 KiB".into()],
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
        let svg = std::fs::read_to_string(dir.path().join("scatter.svg")).unwrap();
        assert!(
            svg.contains("512 KiB") && svg.contains("1024 KiB"),
            "Pareto labels"
        );
    }

    /// The PDF beside each PNG and SVG is a PDF with the bundled font embedded, on a page
    /// of the figure's physical size.
    #[test]
    fn pdf_embeds_the_font_at_the_figure_size() {
        let dir = tempfile::tempdir().unwrap();
        let bars = BarChart {
            title: "Speed-up".into(),
            y_label: "speed-up (x)".into(),
            categories: vec!["LoRA".into(), "Edge-LLM".into()],
            series: vec![("ours".into(), vec![1.0, 2.5])],
        };
        let style = FigureStyle::new(Some(3.4), Some(8.0)).unwrap();
        let files = write_figure(&dir.path().join("b"), &bars, ASPECT, &style).unwrap();
        assert_eq!(files.len(), 3);
        let pdf = std::fs::read(dir.path().join("b.pdf")).unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/FontFile2"), "no embedded TrueType font");
        assert!(text.contains("DejaVuSans"), "font is not DejaVu Sans");
        // MediaBox: 3.4 in = 244.8 pt wide, ASPECT x that high (rounded to pixels).
        let mb = text.split("/MediaBox [").nth(1).expect("MediaBox");
        let nums: Vec<f64> = mb
            .split(']')
            .next()
            .unwrap()
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        assert!((nums[2] - nums[0] - 244.8).abs() < 0.1, "{nums:?}");
        assert!((nums[3] - nums[1] - 244.8 * ASPECT).abs() < 0.5, "{nums:?}");
        let svg = std::fs::read_to_string(dir.path().join("b.svg")).unwrap();
        assert!(
            svg.contains("width=\"3.4in\""),
            "SVG without physical width"
        );
        // 8 pt at 300 dpi is 33 px: the tick labels' font size in the SVG.
        assert!(svg.contains("font-size=\"33"), "ticks are not 8 pt");
    }

    #[test]
    fn style_ranges_are_checked() {
        assert!(FigureStyle::new(Some(0.5), None).is_err());
        assert!(FigureStyle::new(None, Some(f64::NAN)).is_err());
        let e = FigureStyle::new(None, Some(100.0)).unwrap_err().to_string();
        assert!(e.contains("--font-pt") && e.contains("36"), "{e}");
        let d = FigureStyle::new(None, None).unwrap();
        assert_eq!(d, FigureStyle::default());
        assert!(d.font_pt >= 7.0 && d.width_in == 3.4);
        assert_eq!(d.size(0.5), (1020, 510));
    }
}
