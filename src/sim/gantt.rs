//! Gantt-style timeline of the first steps of a simulation as PNG, SVG and PDF (through
//! the shared [`crate::report::plot`] writer, palette, font and [`FigureStyle`]).
//!
//! One row per engine shows the intervals the engine is busy (`Simulation::busy_spans`:
//! the same cycles the report's utilisation counts, so a DMA engine busy a third of the
//! time shows a third of its row filled), coloured by step and labelled with the step's
//! name (`L12 bwd mb0-3`) where the bar is wide enough. The top row, `steps`, shows each
//! step's window, from its first engine starting to its last finishing, on as many lanes
//! as overlapping windows need.

use super::engine::Span;
use super::report::Simulation;
use super::step::Engine;
use crate::error::Result;
use crate::report::plot::{COLORS, DrawResult, Figure, FigureStyle, de, font, tick, write_png_svg};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Height / width of the chart.
pub const GANTT_ASPECT: f64 = 0.55;

/// Rows from the top: the step windows, then one per engine.
const ROWS: usize = Engine::ALL.len() + 1;

/// Row names, short enough for a column-wide figure (the Perfetto trace and the report
/// use the engines' full names).
const ROW_NAMES: [&str; ROWS] = [
    "steps",
    "DMA in",
    "MAC array",
    "vector",
    "DMA out",
    "SSD in",
    "SSD out",
];

/// An engine's busy time per time bucket (a pixel column): `buckets` equal buckets over
/// `[0, end)` cycles, each the busy fraction of the bucket (0 to 1) and the step that
/// filled most of it. Drawn as bar heights, so an engine busy 40% of a stretch shows
/// 40%-high bars there whatever the zoom (a bar per interval would round every sub-pixel
/// interval up to a pixel and make a 40%-busy DMA look full).
pub fn busy_profile(spans: &[&Span], end: u64, buckets: usize) -> Vec<(f64, u32)> {
    let n = buckets.max(1);
    let width = (end.max(1) as f64) / n as f64;
    let mut busy = vec![0.0f64; n];
    let mut top: Vec<(f64, u32)> = vec![(0.0, 0); n];
    for s in spans {
        let (a, b) = (s.start as f64, s.end.min(end) as f64);
        if b <= a {
            continue;
        }
        let first = ((a / width) as usize).min(n - 1);
        let last = (((b / width).ceil() as usize).max(first + 1)).min(n);
        for (k, (slot, best)) in busy[first..last]
            .iter_mut()
            .zip(&mut top[first..last])
            .enumerate()
        {
            let lo = (first + k) as f64 * width;
            let part = (b.min(lo + width) - a.max(lo)).max(0.0);
            *slot += part;
            if part > best.0 {
                *best = (part, s.step);
            }
        }
    }
    busy.iter()
        .zip(&top)
        .map(|(&t, &(_, step))| ((t / width).min(1.0), step))
        .collect()
}

/// The first `steps` steps of a simulation, drawn with the shared plot helpers.
struct Gantt<'a> {
    sim: &'a Simulation,
    steps: u32,
    title: &'a str,
}

impl Figure for Gantt<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        style: &FigureStyle,
    ) -> DrawResult {
        draw(root, self.sim, self.steps, self.title, style)
    }
}

/// Each step's window over every engine: `(step, first start, last end)`, by start.
pub fn step_windows(spans: &[Span]) -> Vec<(u32, u64, u64)> {
    let mut w: std::collections::BTreeMap<u32, (u64, u64)> = Default::default();
    for s in spans {
        let e = w.entry(s.step).or_insert((s.start, s.end));
        e.0 = e.0.min(s.start);
        e.1 = e.1.max(s.end);
    }
    let mut out: Vec<(u32, u64, u64)> = w.into_iter().map(|(k, (a, b))| (k, a, b)).collect();
    out.sort_by_key(|&(k, a, _)| (a, k));
    out
}

/// Lane of each window (in the order given, sorted by start): the first lane whose last
/// window has ended, so windows on one lane never overlap.
pub fn lanes(windows: &[(u32, u64, u64)]) -> Vec<usize> {
    let mut ends: Vec<u64> = Vec::new();
    windows
        .iter()
        .map(|&(_, a, b)| match ends.iter().position(|&e| e <= a) {
            Some(l) => {
                ends[l] = b;
                l
            }
            None => {
                ends.push(b);
                ends.len() - 1
            }
        })
        .collect()
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    sim: &Simulation,
    steps: u32,
    title: &str,
    style: &FigureStyle,
) -> DrawResult {
    root.fill(&WHITE).map_err(de)?;
    let busy: Vec<&Span> = sim.busy_spans.iter().filter(|s| s.step < steps).collect();
    let shown: Vec<Span> = sim
        .spans
        .iter()
        .filter(|s| s.step < steps)
        .copied()
        .collect();
    let windows = step_windows(&shown);
    let lane = lanes(&windows);
    let n_lanes = lane.iter().max().map_or(1, |l| l + 1);
    let last = windows.iter().map(|w| w.2).max().unwrap_or(0) as f64 / sim.clock_hz;
    // Time unit chosen so the axis reads in small numbers.
    let (scale, unit) = if last >= 10.0 {
        (1.0, "s")
    } else if last >= 0.01 {
        (1e3, "ms")
    } else {
        (1e6, "us")
    };
    let t = |c: u64| c as f64 / sim.clock_hz * scale;
    let end = (last * scale).max(1e-9);
    let tick_px = style.tick_px();
    let mut names_w = 0u32;
    for n in ROW_NAMES {
        let (w, _) = root.estimate_text_size(n, &font(tick_px)).map_err(de)?;
        names_w = names_w.max(w);
    }
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(style.title_px()))
        .margin((0.6 * tick_px) as u32)
        .margin_right((1.2 * tick_px) as u32)
        .x_label_area_size((2.6 * tick_px) as u32)
        .y_label_area_size(names_w + (1.2 * tick_px) as u32)
        .build_cartesian_2d(0.0..end * 1.02, -0.6f64..(ROWS as f64 - 0.4))
        .map_err(de)?;
    let row_name = |i: usize| ROW_NAMES[i].to_string();
    let y_of = |i: usize| (ROWS - 1 - i) as f64;
    chart
        .configure_mesh()
        .x_desc(format!("time ({unit})"))
        .x_label_formatter(&|v| tick(*v))
        .x_labels(((root.dim_in_pixel().0 as f64 / (4.0 * tick_px)) as usize).clamp(2, 10))
        .y_labels(ROWS)
        .y_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && (0.0..ROWS as f64).contains(&i) {
                row_name(ROWS - 1 - i as usize)
            } else {
                String::new()
            }
        })
        .label_style(font(tick_px))
        .axis_desc_style(font(style.label_px()))
        .disable_y_mesh()
        .bold_line_style(BLACK.mix(0.1))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(de)?;
    let label_of = |step: u32| sim.labels.get(step as usize).map_or("", String::as_str);
    let note: TextStyle =
        font(style.note_px())
            .color(&WHITE)
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
    let plot_w = chart.plotting_area().dim_in_pixel().0 as f64;
    // A label fits when its estimated width (DejaVu Sans averages about 0.6 em per
    // character) is within the bar.
    let fits = |x0: f64, x1: f64, text: &str| {
        (x1 - x0) / (end * 1.02) * plot_w > 0.62 * style.note_px() * text.len() as f64 + 4.0
    };
    // Busy fraction per pixel column of each engine, as bar heights.
    let end_cycles = windows.iter().map(|w| w.2).max().unwrap_or(0);
    let columns = (plot_w / 1.02).max(1.0) as usize;
    for e in Engine::ALL {
        let spans: Vec<&Span> = busy.iter().copied().filter(|s| s.engine == e).collect();
        let y = y_of(e.idx() + 1);
        let profile = busy_profile(&spans, end_cycles, columns);
        let dx = end / columns as f64;
        let mut k = 0;
        while k < profile.len() {
            // Neighbouring columns of one step and (to 1%) one height form one bar.
            let (f, step) = profile[k];
            let mut j = k + 1;
            while j < profile.len() && profile[j].1 == step && (profile[j].0 - f).abs() < 0.01 {
                j += 1;
            }
            if f > 0.0 {
                let c = COLORS[step as usize % COLORS.len()];
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (k as f64 * dx, y - 0.38),
                            (j as f64 * dx, y - 0.38 + 0.76 * f),
                        ],
                        c.mix(0.9).filled(),
                    )))
                    .map_err(de)?;
            }
            k = j;
        }
    }
    let mut bar = |x0: f64, x1: f64, y0: f64, y1: f64, step: u32| -> DrawResult {
        let c = COLORS[step as usize % COLORS.len()];
        let x1 = x1.max(x0 + end * 2e-4);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x0, y0), (x1, y1)],
                c.mix(0.9).filled(),
            )))
            .map_err(de)?;
        let text = label_of(step);
        if !text.is_empty() && fits(x0, x1, text) {
            chart
                .draw_series(std::iter::once(Text::new(
                    text.to_string(),
                    ((x0 + x1) / 2.0, (y0 + y1) / 2.0),
                    note.clone(),
                )))
                .map_err(de)?;
        }
        Ok(())
    };
    let y = y_of(0);
    let h = 0.76 / n_lanes as f64;
    for (&(step, a, b), &l) in windows.iter().zip(&lane) {
        let top = y + 0.38 - l as f64 * h;
        bar(t(a), t(b), top - h * 0.9, top, step)?;
    }
    Ok(())
}

/// Draws the first `steps` steps in the current figure style and writes `<stem>.png`,
/// `<stem>.svg` and `<stem>.pdf` atomically (all rendered before any is written).
/// Returns the paths written.
pub fn write_gantt(sim: &Simulation, steps: u32, title: &str, path: &Path) -> Result<Vec<PathBuf>> {
    write_png_svg(path, &Gantt { sim, steps, title }, GANTT_ASPECT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::HwConfig;
    use crate::sim::{SimOptions, SimStep, simulate};

    fn sim() -> Simulation {
        let steps: Vec<SimStep> = (0..6)
            .map(|i| SimStep {
                label: format!("L{i} fwd mb0-0"),
                work: [1_000_000, 30_000, 2_000, 300_000, 50_000, 10_000],
                deps: if i > 0 { vec![i - 1] } else { vec![] },
                ..Default::default()
            })
            .collect();
        simulate(&HwConfig::paper_default(), &steps, &SimOptions::full()).unwrap()
    }

    #[test]
    fn gantt_writes_png_svg_pdf_with_busy_bars_and_a_step_row() {
        let sim = sim();
        let dir = tempfile::tempdir().unwrap();
        let written = write_gantt(&sim, 4, "test", &dir.path().join("g.png")).unwrap();
        assert_eq!(written.len(), 3);
        let png = std::fs::read(&written[0]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(std::fs::read(&written[2]).unwrap().starts_with(b"%PDF"));
        let svg = std::fs::read_to_string(&written[1]).unwrap();
        // At least one bar per engine with work, plus one window per step.
        let bars = 6 + 4;
        let rects = svg.matches("<rect").count();
        assert!(rects >= bars, "{rects} rects for {bars} bars");
        assert!(svg.contains("MAC array") && svg.contains("steps"));
    }

    #[test]
    fn profile_heights_are_busy_fractions_and_sum_to_busy_time() {
        let sp = |step, start, end| Span {
            engine: Engine::DmaIn,
            step,
            start,
            end,
        };
        // Bursts of 4 cycles every 10: 40% busy in every bucket of 100 cycles.
        let v: Vec<Span> = (0..100u64)
            .map(|i| sp((i / 50) as u32, 10 * i, 10 * i + 4))
            .collect();
        let r: Vec<&Span> = v.iter().collect();
        let p = busy_profile(&r, 1000, 10);
        assert_eq!(p.len(), 10);
        for (k, &(f, step)) in p.iter().enumerate() {
            assert!((f - 0.4).abs() < 1e-12, "bucket {k}: {f}");
            assert_eq!(step, if k < 5 { 0 } else { 1 });
        }
        // Buckets not aligned with the bursts: the area still equals the busy time.
        let p = busy_profile(&r, 1000, 7);
        let area: f64 = p.iter().map(|x| x.0 * 1000.0 / 7.0).sum();
        assert!((area - 400.0).abs() < 1e-9, "{area}");
    }

    #[test]
    fn windows_cover_their_spans_and_lanes_never_overlap() {
        let sim = sim();
        let w = step_windows(&sim.spans);
        assert_eq!(w.len(), 6);
        for s in &sim.spans {
            let &(_, a, b) = w.iter().find(|x| x.0 == s.step).unwrap();
            assert!(a <= s.start && s.end <= b);
        }
        let l = lanes(&w);
        for i in 0..w.len() {
            for j in 0..i {
                if l[i] == l[j] {
                    assert!(
                        w[j].2 <= w[i].1 || w[i].2 <= w[j].1,
                        "{:?} {:?}",
                        w[i],
                        w[j]
                    );
                }
            }
        }
        // Hand-made: [0,10) [5,8) [8,12) [10,20) -> lanes 0 1 1 0.
        let w = vec![(0, 0, 10), (1, 5, 8), (2, 8, 12), (3, 10, 20)];
        assert_eq!(lanes(&w), vec![0, 1, 1, 0]);
    }
}
