//! Files of `edgesim repro`: `table1.csv`, `ablation.csv`, `repro.md` (our figures next to
//! the paper's), `modes.csv` (the speed-ups under step-time modes `paper` and
//! `shared-bus`), and bar charts `speedup`, `memory`, `ablation` (PNG + SVG).
//!
//! Numbers are rounded for review (seconds to 4 significant digits, ratios to 2
//! decimals, GiB to 3 decimals), so the committed files change only when a model change
//! moves a figure visibly; the rounding is a pure function of the values.

use super::csv_table::write_csv;
use super::plot::{self, BarChart};
use crate::dse::Outcome;
use crate::dse::repro::{PAPER_MEMORY, PAPER_SPEEDUP, Repro};
use crate::error::Result;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `x` with `sig` significant digits, no exponent for ordinary magnitudes.
pub fn sig(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return "nan".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-4..9).contains(&mag) {
        return format!("{:.*e}", sig.saturating_sub(1), x);
    }
    let decimals = (sig as i32 - 1 - mag).max(0) as usize;
    format!("{x:.decimals$}")
}

fn fix(x: f64, d: usize) -> String {
    if x.is_finite() {
        format!("{x:.d$}")
    } else {
        "nan".into()
    }
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// Appends the per-hardware outcome columns (`<column>@<hw>`) shared by both CSVs.
fn push_outcome_header(header: &mut Vec<String>, hw_names: &[String]) {
    for h in hw_names {
        for c in [
            "feasible",
            "memory_gib",
            "norm_mem",
            "seconds_per_step",
            "speedup",
            "bound",
        ] {
            header.push(format!("{c}@{h}"));
        }
    }
}

/// Appends the cells under [`push_outcome_header`]'s columns, one group per hardware.
fn push_outcome_cells(
    row: &mut Vec<String>,
    outcomes: &[Outcome],
    norm_mem: &[f64],
    speedup: &[f64],
) {
    for (h, o) in outcomes.iter().enumerate() {
        row.extend([
            o.feasible.to_string(),
            fix(gib(o.memory_bytes), 3),
            fix(norm_mem[h], 2),
            sig(o.seconds_per_step, 4),
            fix(speedup[h], 2),
            o.bound.clone(),
        ]);
    }
}

/// One bar series `ours, <hw>` per hardware from per-row, per-hardware values.
fn ours_per_hw<'a>(
    hw_names: &[String],
    rows: impl Iterator<Item = &'a [f64]> + Clone,
) -> Vec<(String, Vec<f64>)> {
    hw_names
        .iter()
        .enumerate()
        .map(|(h, n)| (format!("ours, {n}"), rows.clone().map(|v| v[h]).collect()))
        .collect()
}

/// Header and rows of `table1.csv`.
pub fn table1_rows(r: &Repro) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = [
        "method",
        "workload",
        "paper_avg_bits",
        "avg_bits",
        "paper_sparsity",
        "sparsity",
        "paper_norm_mem",
        "norm_activation_vanilla",
        "norm_device_vanilla",
        "norm_total_vanilla",
        "activation_gib_vanilla",
        "device_gib_vanilla",
        "memory_gib_vanilla",
        "norm_mem_vanilla",
        "paper_speedup",
        "paper_mmlu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    push_outcome_header(&mut header, &r.hw_names);
    let rows = r
        .table1
        .iter()
        .map(|l| {
            let p = &l.paper;
            let mut c = vec![
                p.method.to_string(),
                p.workload.to_string(),
                fix(p.avg_bits, 1),
                fix(l.avg_bits, 3),
                fix(p.sparsity, 2),
                fix(l.sparsity, 3),
                fix(p.norm_mem, 2),
                fix(l.norm_vanilla.activation_bytes, 3),
                fix(l.norm_vanilla.device_bytes, 3),
                fix(l.norm_vanilla.total_bytes, 3),
                fix(l.vanilla_memory.activation_bytes / (1u64 << 30) as f64, 3),
                fix(l.vanilla_memory.device_bytes / (1u64 << 30) as f64, 3),
                fix(gib(l.vanilla_memory_bytes), 3),
                fix(l.norm_mem_vanilla, 2),
                if p.method == "Edge-LLM" {
                    fix(PAPER_SPEEDUP, 2)
                } else {
                    String::new()
                },
                fix(p.mmlu, 2),
            ];
            push_outcome_cells(&mut c, &l.outcomes, &l.norm_mem, &l.speedup);
            c
        })
        .collect();
    (header, rows)
}

/// Header and rows of `ablation.csv`.
pub fn ablation_rows(r: &Repro) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = ["component", "workload", "schedule", "paper_speedup"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    push_outcome_header(&mut header, &r.hw_names);
    let last = r.ablation.len().saturating_sub(1);
    let rows = r
        .ablation
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut c = vec![
                l.case.component.to_string(),
                l.case.workload.to_string(),
                l.case.schedule.as_str().to_string(),
                if i == last {
                    fix(PAPER_SPEEDUP, 2)
                } else {
                    String::new()
                },
            ];
            push_outcome_cells(&mut c, &l.outcomes, &l.norm_mem, &l.speedup);
            c
        })
        .collect();
    (header, rows)
}

fn feas(ok: bool) -> &'static str {
    if ok { "" } else { " (infeasible)" }
}

/// The Markdown report.
pub fn markdown(r: &Repro) -> String {
    let (p, b) = (&r.hw_names[0], &r.hw_names[1]);
    let mut s = String::new();
    let _ = writeln!(s, "# Reproduction of the Edge-LLM paper's comparisons\n");
    let _ = writeln!(
        s,
        "Generated by `edgesim repro`; do not edit. Hardware: `{p}` (the paper's accelerator, \
         `hw_configs/edge_llm_paper.toml`) and `{b}` (the paper's hardware baseline, \
         `hw_configs/shao_vlsi23.toml`). Workloads: the Table 1 workloads `workloads/*.toml`. \
         Time is seconds per optimizer step (16 sequences of 1280 tokens) under the searched \
         schedule (the search's default: the least memory within 1% of the fastest time). \
         Table 1's workloads keep what the reference code saves for backward \
         (`saved = \"reference\"`: fp32 and fp16 softmax probabilities, LoRA dropout masks \
         and 16-bit dropped inputs; `workload::saved`). Memory is reported by what it \
         counts: *activations* are the peak bytes saved in forward for backward (the \
         tensors adaptive layer tuning shrinks, which scale with the backprop depth); \
         *device* is the peak DRAM + SRAM occupancy (what must fit on the device); \
         *total* counts every tensor of tuning once wherever it lives (DRAM or SSD: \
         weights, saved activations, gradients, optimizer state, working set). The \
         method's footprint is its memory under the vanilla schedule (one sequence at a \
         time, row traversal), so every row is compared at the same batch; the searched \
         schedule may keep several micro-batches' activations at once to save time, so \
         its memory is shown separately. The paper's Norm. mem. is 0.25x for every \
         Edge-LLM and partial row at 3, 4 and 5 bits, so it cannot include the compressed \
         weights; 0.25 = 8/32 backprop layers: it is compared with the activation ratio. \
         Speed-ups and normalised memory are relative to LoRA on the same hardware. The paper does not say at which bit-width \
         its 2.92x headline was measured, so it is shown beside every Edge-LLM row. The \
         simulator does not model accuracy; MMLU is the paper's, for reference.\n"
    );
    let _ = writeln!(s, "## Table 1: memory and speed-up vs LoRA\n");
    let _ = writeln!(
        s,
        "| Method | Avg. bit (paper / ours) | Sparsity (paper / ours) | Norm. mem. (paper) | Norm. activations (ours, footprint) | Norm. device (ours, footprint) | Norm. total (ours, footprint) | Total footprint (GiB) | Total, searched (GiB) | Norm. total (ours, searched) | s/step on {p} | Speed-up on {p} | s/step on {b} | Speed-up on {b} | Speed-up (paper) | MMLU (paper) |"
    );
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for l in &r.table1 {
        let q = &l.paper;
        let (o0, o1) = (&l.outcomes[0], &l.outcomes[1]);
        let _ = writeln!(
            s,
            "| {} | {} / {} | {}% / {}% | {}x | **{}x** | {}x | {}x | {} | {} | {}x | {}{} | **{}x** | {}{} | {}x | {} | {} |",
            q.method,
            fix(q.avg_bits, 1),
            fix(l.avg_bits, 2),
            fix(q.sparsity * 100.0, 0),
            fix(l.sparsity * 100.0, 1),
            fix(q.norm_mem, 2),
            fix(l.norm_vanilla.activation_bytes, 2),
            fix(l.norm_vanilla.device_bytes, 2),
            fix(l.norm_mem_vanilla, 2),
            fix(gib(l.vanilla_memory_bytes), 2),
            fix(gib(o0.memory_bytes), 2),
            fix(l.norm_mem[0], 2),
            sig(o0.seconds_per_step, 4),
            feas(o0.feasible),
            fix(l.speedup[0], 2),
            sig(o1.seconds_per_step, 4),
            feas(o1.feasible),
            fix(l.speedup[1], 2),
            if q.method == "Edge-LLM" {
                format!("{}x", fix(PAPER_SPEEDUP, 2))
            } else {
                "-".into()
            },
            fix(q.mmlu, 2),
        );
    }
    let _ = writeln!(s, "\n## Ablation: where the speed-up comes from\n");
    let _ = writeln!(
        s,
        "Every case is compared with the baseline (vanilla LoRA) on the same hardware. The \
         four scheduling knobs are each enabled alone over the vanilla schedule (`prefetch \
         only`, `placement only`, `traversal only`, `recomputation only`); `scheduling only` \
         enables all four together (the full search), so the knobs' product need not equal \
         it.\n"
    );
    let _ = writeln!(
        s,
        "| Component | Setting | Workload | s/step on {p} | Speed-up on {p} | Norm. mem. on {p} | s/step on {b} | Speed-up on {b} | Speed-up (paper) |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    let last = r.ablation.len().saturating_sub(1);
    for (i, l) in r.ablation.iter().enumerate() {
        let (o0, o1) = (&l.outcomes[0], &l.outcomes[1]);
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {}{} | {}x | {}x | {}{} | {}x | {} |",
            l.case.component,
            l.case.description,
            l.case.workload,
            sig(o0.seconds_per_step, 4),
            feas(o0.feasible),
            fix(l.speedup[0], 2),
            fix(l.norm_mem[0], 2),
            sig(o1.seconds_per_step, 4),
            feas(o1.feasible),
            fix(l.speedup[1], 2),
            if i == last {
                format!("{}x", fix(PAPER_SPEEDUP, 2))
            } else {
                "-".into()
            },
        );
    }
    // Every hardware after the first two (the memory-bound variant): the same ablation.
    for (h, name) in r.hw_names.iter().enumerate().skip(2) {
        let _ = writeln!(
            s,
            "\n### The same ablation on `{name}` (memory-bound: DRAM traffic bounds most steps)\n"
        );
        let _ = writeln!(
            s,
            "| Component | Schedule | s/step | Speed-up | Norm. mem. | Bound |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for l in &r.ablation {
            let o = &l.outcomes[h];
            let _ = writeln!(
                s,
                "| {} | {} | {}{} | {}x | {}x | {} |",
                l.case.component,
                l.case.schedule.as_str(),
                sig(o.seconds_per_step, 4),
                feas(o.feasible),
                fix(l.speedup[h], 3),
                fix(l.norm_mem[h], 2),
                o.bound,
            );
        }
    }
    let _ = writeln!(
        s,
        "\nEnd to end, Edge-LLM (5.1 bit, searched schedule) on `{p}` vs vanilla LoRA on `{b}`: \
         **{}x** (paper: {}x speed-up, {}x memory).",
        fix(r.end_to_end_speedup, 2),
        fix(PAPER_SPEEDUP, 2),
        fix(PAPER_MEMORY, 2)
    );
    modes_markdown(&mut s, r);
    let _ = writeln!(
        s,
        "\nFigures: `speedup.png`, `memory.png`, `ablation.png` (SVG and PDF alongside)."
    );
    s
}

/// The speed-ups under each step-time mode (`Repro::modes`), after the tables above
/// (which are under `paper`).
fn modes_markdown(s: &mut String, r: &Repro) {
    if r.modes.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Speed-ups under both step-time modes\n");
    let _ = writeln!(
        s,
        "The tables above use mode `paper`: Edge-LLM's eq. 3 as printed, where DRAM reads \
         and writes each move at the full peak bandwidth at the same time. LPDDR4 is \
         half-duplex: mode `shared-bus` (the default of `run`, `sweep` and `sim`) puts all \
         DRAM-side traffic on the one bus, which is the physical figure. Seconds per \
         optimizer step and speed-ups (vs LoRA on the same hardware; ablation vs vanilla \
         LoRA) under each mode (`modes.csv`):\n"
    );
    let mut head = String::from("| Method | Avg. bit |");
    let mut rule = String::from("|---|---|");
    for h in &r.hw_names {
        for m in &r.modes {
            let _ = write!(
                head,
                " s/step on {h} ({}) | Speed-up on {h} ({}) |",
                m.mode, m.mode
            );
            rule.push_str("---|---|");
        }
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for (i, l) in r.table1.iter().enumerate() {
        let mut row = format!("| {} | {} |", l.paper.method, fix(l.paper.avg_bits, 1));
        for h in 0..r.hw_names.len() {
            for m in &r.modes {
                let _ = write!(
                    row,
                    " {} | {}x |",
                    sig(m.table1_seconds[i][h], 4),
                    fix(m.table1_speedup[i][h], 2)
                );
            }
        }
        let _ = writeln!(s, "{row}");
    }
    let mut head = String::from("\n| Ablation component |");
    let mut rule = String::from("|---|");
    for h in &r.hw_names {
        for m in &r.modes {
            let _ = write!(head, " Speed-up on {h} ({}) |", m.mode);
            rule.push_str("---|");
        }
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for (i, l) in r.ablation.iter().enumerate() {
        let mut row = format!("| {} |", l.case.component);
        for h in 0..r.hw_names.len() {
            for m in &r.modes {
                let _ = write!(row, " {}x |", fix(m.ablation_speedup[i][h], 2));
            }
        }
        let _ = writeln!(s, "{row}");
    }
    let e2e: Vec<String> = r
        .modes
        .iter()
        .map(|m| format!("{}x ({})", fix(m.end_to_end_speedup, 2), m.mode))
        .collect();
    let _ = writeln!(s, "\nEnd to end under each mode: {}.", e2e.join(", "));
}

/// Header and rows of `modes.csv`: one row per (mode, comparison), the Table 1 rows
/// (`table1:<method>@<bits>`) then the ablation cases (`ablation:<component>`) and the
/// end-to-end comparison, with seconds (Table 1 rows only) and speed-up per hardware.
pub fn modes_rows(r: &Repro) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = vec!["mode".into(), "comparison".into()];
    for h in &r.hw_names {
        header.push(format!("seconds_per_step@{h}"));
        header.push(format!("speedup@{h}"));
    }
    let mut rows = Vec::new();
    for m in &r.modes {
        for (i, l) in r.table1.iter().enumerate() {
            let mut c = vec![
                m.mode.clone(),
                format!("table1:{}@{}", l.paper.method, fix(l.paper.avg_bits, 1)),
            ];
            for h in 0..r.hw_names.len() {
                c.push(sig(m.table1_seconds[i][h], 4));
                c.push(fix(m.table1_speedup[i][h], 2));
            }
            rows.push(c);
        }
        for (i, l) in r.ablation.iter().enumerate() {
            let mut c = vec![m.mode.clone(), format!("ablation:{}", l.case.component)];
            for h in 0..r.hw_names.len() {
                c.push(String::new());
                c.push(fix(m.ablation_speedup[i][h], 2));
            }
            rows.push(c);
        }
        let mut c = vec![m.mode.clone(), "end_to_end".into()];
        for h in 0..r.hw_names.len() {
            c.push(String::new());
            c.push(if h == 0 {
                fix(m.end_to_end_speedup, 2)
            } else {
                String::new()
            });
        }
        rows.push(c);
    }
    (header, rows)
}

/// Writes every repro file into `dir`; returns the paths.
pub fn write_repro(dir: &Path, r: &Repro) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let (h, rows) = table1_rows(r);
    let p = dir.join("table1.csv");
    write_csv(&p, &h, &rows)?;
    files.push(p);
    let (h, rows) = ablation_rows(r);
    let p = dir.join("ablation.csv");
    write_csv(&p, &h, &rows)?;
    files.push(p);
    let p = dir.join("repro.md");
    crate::io_util::write_atomic(&p, markdown(r).as_bytes())?;
    files.push(p);
    if !r.modes.is_empty() {
        let (h, rows) = modes_rows(r);
        let p = dir.join("modes.csv");
        write_csv(&p, &h, &rows)?;
        files.push(p);
    }

    let cats: Vec<String> = r
        .table1
        .iter()
        .map(|l| short_label(l.paper.method, l.paper.avg_bits))
        .collect();
    let mut series = ours_per_hw(&r.hw_names, r.table1.iter().map(|l| &l.speedup[..]));
    series.push((
        "paper (headline, Edge-LLM)".into(),
        r.table1
            .iter()
            .map(|l| {
                if l.paper.method == "Edge-LLM" {
                    PAPER_SPEEDUP
                } else if l.paper.method == "LoRA" {
                    1.0
                } else {
                    f64::NAN
                }
            })
            .collect(),
    ));
    files.extend(plot::bar_chart(
        &dir.join("speedup"),
        &BarChart {
            title: "Speed-up over LoRA per optimizer step (Table 1 rows)".into(),
            y_label: "speed-up vs LoRA on the same hardware (x)".into(),
            categories: cats.clone(),
            series,
        },
    )?);
    files.extend(plot::bar_chart(
        &dir.join("memory"),
        &BarChart {
            title: "Memory normalised to LoRA by what it counts (Table 1 'Norm. mem.')".into(),
            y_label: "memory / LoRA memory (x)".into(),
            categories: cats,
            series: vec![
                (
                    "ours, activations (vanilla schedule)".into(),
                    r.table1
                        .iter()
                        .map(|l| l.norm_vanilla.activation_bytes)
                        .collect(),
                ),
                (
                    "ours, device (vanilla schedule)".into(),
                    r.table1
                        .iter()
                        .map(|l| l.norm_vanilla.device_bytes)
                        .collect(),
                ),
                (
                    "ours, total (vanilla schedule)".into(),
                    r.table1.iter().map(|l| l.norm_mem_vanilla).collect(),
                ),
                (
                    format!("ours, searched schedule on {}", r.hw_names[0]),
                    r.table1.iter().map(|l| l.norm_mem[0]).collect(),
                ),
                (
                    "paper".into(),
                    r.table1.iter().map(|l| l.paper.norm_mem).collect(),
                ),
            ],
        },
    )?);
    let last = r.ablation.len().saturating_sub(1);
    let mut series = ours_per_hw(&r.hw_names, r.ablation.iter().map(|l| &l.speedup[..]));
    series.push((
        "paper (headline)".into(),
        (0..r.ablation.len())
            .map(|i| if i == last { PAPER_SPEEDUP } else { f64::NAN })
            .collect(),
    ));
    files.extend(plot::bar_chart(
        &dir.join("ablation"),
        &BarChart {
            title: "Ablation: speed-up over vanilla LoRA by component".into(),
            y_label: "speed-up vs vanilla LoRA (x)".into(),
            categories: r
                .ablation
                .iter()
                .map(|l| ablation_label(l.case.component))
                .collect(),
            series,
        },
    )?);
    Ok(files)
}

fn short_label(method: &str, bits: f64) -> String {
    match method {
        "LoRA" => "LoRA".into(),
        "LST" => "LST".into(),
        "Partial tuning" => format!("Partial {bits:.0}b"),
        m => format!("{m} {bits:.1}b"),
    }
}

fn ablation_label(component: &str) -> String {
    match component {
        "compression only" => "compression".into(),
        "adaptive layer tuning only" => "layer tuning".into(),
        "scheduling only" => "scheduling".into(),
        "prefetch only" => "prefetch".into(),
        "placement only" => "placement".into(),
        "traversal only" => "traversal".into(),
        "recomputation only" => "recompute".into(),
        "compression + layer tuning" => "compr.+tuning".into(),
        c => c.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(sig(123.456789, 4), "123.5");
        assert_eq!(sig(0.012345, 3), "0.0123");
        assert_eq!(sig(98765.0, 4), "98765");
        assert_eq!(sig(f64::INFINITY, 4), "nan");
    }
}
