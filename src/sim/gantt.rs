//! Gantt-style timeline of the first steps of a simulation, one row per engine, as PNG
//! and SVG (plotters; text in the bundled DejaVu Sans registered by
//! [`crate::report::plot::register_font`]).

use super::report::Simulation;
use super::step::Engine;
use crate::error::Result;
use crate::report::plot::{COLORS, DrawResult, Figure, de, tick, write_png_svg};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Image size (pixels / SVG units).
pub const GANTT_SIZE: (u32, u32) = (1400, 520);

/// The first `steps` steps of a simulation, drawn with the shared plot helpers.
struct Gantt<'a> {
    sim: &'a Simulation,
    steps: u32,
    title: &'a str,
}

impl Figure for Gantt<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        draw(root, self.sim, self.steps, self.title)
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    sim: &Simulation,
    steps: u32,
    title: &str,
) -> DrawResult {
    root.fill(&WHITE).map_err(de)?;
    let spans: Vec<_> = sim.spans.iter().filter(|s| s.step < steps).collect();
    let last = spans.iter().map(|s| s.end).max().unwrap_or(0) as f64 / sim.clock_hz;
    // Time unit chosen so the axis reads in small numbers.
    let (scale, unit) = if last >= 10.0 {
        (1.0, "s")
    } else if last >= 0.01 {
        (1e3, "ms")
    } else {
        (1e6, "us")
    };
    let us = |c: u64| c as f64 / sim.clock_hz * scale;
    let end = (last * scale).max(1e-9);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(150)
        .build_cartesian_2d(0.0..end * 1.02, -0.6f64..5.6f64)
        .map_err(de)?;
    chart
        .configure_mesh()
        .x_desc(format!("time ({unit})"))
        .x_label_formatter(&|v| tick(*v))
        .y_labels(6)
        .y_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && (0.0..6.0).contains(&i) {
                Engine::ALL[5 - i as usize].name().to_string()
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 15))
        .disable_y_mesh()
        .draw()
        .map_err(de)?;
    for s in &spans {
        let row = 5.0 - s.engine.idx() as f64;
        let c = COLORS[s.step as usize % COLORS.len()];
        let (x0, x1) = (us(s.start), us(s.end).max(us(s.start) + end * 1e-4));
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x0, row - 0.38), (x1, row + 0.38)],
                c.mix(0.85).filled(),
            )))
            .map_err(de)?;
        // Step number inside bars wide enough to hold it.
        if (x1 - x0) / end > 0.02 {
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{}", s.step),
                    ((x0 + x1) / 2.0, row + 0.12),
                    ("sans-serif", 13).into_font().color(&WHITE),
                )))
                .map_err(de)?;
        }
    }
    Ok(())
}

/// Draws the first `steps` steps and writes `<stem>.png` and `<stem>.svg` atomically
/// (both rendered before either is written). Returns the paths written.
pub fn write_gantt(sim: &Simulation, steps: u32, title: &str, path: &Path) -> Result<Vec<PathBuf>> {
    write_png_svg(path, &Gantt { sim, steps, title }, GANTT_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::HwConfig;
    use crate::sim::{SimOptions, SimStep, simulate};

    #[test]
    fn gantt_writes_png_and_svg_with_one_bar_per_engine_step() {
        let steps: Vec<SimStep> = (0..6)
            .map(|i| SimStep {
                label: format!("L{i}"),
                work: [1_000_000, 30_000, 2_000, 300_000, 50_000, 10_000],
                deps: if i > 0 { vec![i - 1] } else { vec![] },
                ..Default::default()
            })
            .collect();
        let sim = simulate(&HwConfig::paper_default(), &steps, &SimOptions::full()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let written = write_gantt(&sim, 4, "test", &dir.path().join("g.png")).unwrap();
        assert_eq!(written.len(), 2);
        let png = std::fs::read(&written[0]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(&written[1]).unwrap();
        // 4 steps x 6 engines = 24 bars (plus the background and plot-frame rects).
        let rects = svg.matches("<rect").count();
        assert!(rects >= 24, "{rects} rects");
        assert!(svg.contains("mac_array"));
    }
}
