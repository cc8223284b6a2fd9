//! The sweep table: one row per (design point, workload), the content of `sweep.csv`.
//!
//! Columns, in order: `point` (index in the full expansion), `workload` (file stem), one
//! column per swept key (dotted name), then the derived hardware figures `sram_kib`,
//! `dram_gbps`, `pe_count`, then the search result `feasible`, `infeasible_reason`,
//! `step_s`, `optimal_step_s`, `memory_bytes`, `sram_peak_bytes`, `dram_peak_bytes`,
//! `ssd_peak_bytes`, the memory figures by what they count (`device_bytes`,
//! `activation_bytes`, `tuning_state_bytes`, `total_bytes`, `ssd_bytes`:
//! [`crate::cost::memory`]), `energy_j`, `energy_dynamic_j`, `energy_static_j`,
//! `ssd_write_bytes` (per optimizer step), `ssd_wear_out_steps` (steps until the SSD's
//! rated endurance; empty without writes), `bound`, `schedule`, `lower_bound_s`,
//! `gap_pct`, the bound's terms `lower_bound_compute_s`, `lower_bound_dram_s`,
//! `lower_bound_dram_compulsory_s` (DRAM with each operand moved once, no SRAM limit),
//! `lower_bound_ssd_s`, `sim_step_s` (cycle-level seconds with `--engine cycle`, else
//! empty) and `pareto`.
//!
//! Every column name ends in its unit where it has one: `_s` seconds (per optimizer
//! step), `_bytes`, `_j` joules, `_gbps` GB/s, `_kib` KiB, `_pct` percent. A feasible
//! row has `infeasible_reason` empty; an infeasible row leaves every figure of the chosen
//! schedule empty (there is none) and states the search's reason in
//! `infeasible_reason`; its hardware figures and lower bound stay. Numbers are written in
//! Rust's shortest round-trip form, so reading a cell back yields the same `f64` and a
//! merged table is byte-identical to a single run. No wall-clock or host column exists.

use crate::error::{Error, Result};

/// What one search returns for one (hardware, workload) pair, as the table records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// True when the best schedule fits every tier.
    pub feasible: bool,
    /// Seconds per optimizer step of the chosen schedule (the least memory within the
    /// search's time slack of the fastest).
    pub seconds_per_step: f64,
    /// Seconds per optimizer step of the fastest feasible schedule (the time optimum).
    pub optimal_seconds: f64,
    /// Total tuning memory (bytes) of the best schedule.
    pub memory_bytes: u64,
    /// Peak bytes held in SRAM, DRAM and SSD.
    pub peak_bytes: [u64; 3],
    /// The memory figures by what they count ([`crate::cost::memory`]; zero when
    /// infeasible).
    pub memory: crate::cost::MemoryMetrics,
    /// Energy per optimizer step (J): `energy_dynamic_j + energy_static_j`.
    pub energy_j: f64,
    /// Dynamic (activity) part of `energy_j` (J).
    pub energy_dynamic_j: f64,
    /// Static part of `energy_j`: `static_mw` x seconds per step (J).
    pub energy_static_j: f64,
    /// Bytes written to the SSD per optimizer step.
    pub ssd_write_bytes: f64,
    /// Optimizer steps until the SSD's rated endurance is written (`None`: no writes).
    pub ssd_wear_out_steps: Option<f64>,
    /// The bounding term (e.g. `compute`, `r_to_sram`).
    pub bound: String,
    /// One-line schedule summary.
    pub schedule: String,
    /// Lower bound on seconds per step.
    pub lower_bound_s: f64,
    /// Optimality gap in percent, `100 (seconds / lower_bound - 1)`.
    pub gap_pct: f64,
    /// The lower bound's terms (compute, DRAM, SSD, and the DRAM term with compulsory
    /// traffic only), so a gap can be read against each.
    pub lower_bound_terms: crate::cost::LowerBound,
    /// Seconds of the chosen schedule on the cycle-level simulator, when it was run.
    pub sim_seconds: Option<f64>,
}

/// Column names after the swept keys.
pub const TAIL_COLUMNS: [&str; 31] = [
    "sram_kib",
    "dram_gbps",
    "pe_count",
    "feasible",
    "infeasible_reason",
    "step_s",
    "optimal_step_s",
    "memory_bytes",
    "sram_peak_bytes",
    "dram_peak_bytes",
    "ssd_peak_bytes",
    "device_bytes",
    "activation_bytes",
    "tuning_state_bytes",
    "total_bytes",
    "ssd_bytes",
    "energy_j",
    "energy_dynamic_j",
    "energy_static_j",
    "ssd_write_bytes",
    "ssd_wear_out_steps",
    "bound",
    "schedule",
    "lower_bound_s",
    "gap_pct",
    "lower_bound_compute_s",
    "lower_bound_dram_s",
    "lower_bound_dram_compulsory_s",
    "lower_bound_ssd_s",
    "sim_step_s",
    "pareto",
];

/// The objectives of the Pareto front, all minimised: time, memory, energy and SRAM size
/// (the area proxy).
pub const OBJECTIVE_COLUMNS: [&str; 4] = ["step_s", "memory_bytes", "energy_j", "sram_kib"];

/// The reason an infeasible outcome carries: the search's (in `schedule` when no
/// schedule fits, as `dse::evaluate` records it), else a generic one.
fn infeasible_reason(o: &Outcome) -> String {
    if o.bound == "infeasible" && !o.schedule.is_empty() {
        o.schedule.clone()
    } else {
        "the chosen schedule does not fit every memory tier".to_string()
    }
}

/// A sweep table: header plus string cells (exactly what the CSV holds).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepTable {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, in point order then workload order.
    pub rows: Vec<Vec<String>>,
}

/// One result row before it becomes strings.
#[derive(Debug, Clone)]
pub struct SweepRow {
    /// Point index in the full expansion.
    pub point: usize,
    /// Workload label.
    pub workload: String,
    /// Swept values formatted for the table.
    pub values: Vec<String>,
    /// SRAM capacity (KiB).
    pub sram_kib: f64,
    /// DRAM peak bandwidth (GB/s).
    pub dram_gbps: f64,
    /// Number of PEs.
    pub pe_count: u64,
    /// The search result.
    pub outcome: Outcome,
}

/// The header of a sweep table over the swept `keys`: `point`, `workload`, the keys,
/// then [`TAIL_COLUMNS`].
pub fn header(keys: &[String]) -> Vec<String> {
    let mut header = vec!["point".to_string(), "workload".to_string()];
    header.extend(keys.iter().cloned());
    header.extend(TAIL_COLUMNS.iter().map(|s| s.to_string()));
    header
}

impl SweepRow {
    /// The row's cells in [`header`] order, numbers in shortest round-trip form; the
    /// `pareto` cell is `false` (the front needs every row, see
    /// [`SweepTable::mark_pareto`]). An infeasible row's schedule figures are empty and
    /// its reason is in `infeasible_reason`.
    pub fn cells(&self) -> Vec<String> {
        let o = &self.outcome;
        let mut c = vec![self.point.to_string(), self.workload.clone()];
        c.extend(self.values.iter().cloned());
        let f = o.feasible;
        // A figure of the chosen schedule: empty when there is none.
        let fig = |s: String| if f { s } else { String::new() };
        c.extend([
            self.sram_kib.to_string(),
            self.dram_gbps.to_string(),
            self.pe_count.to_string(),
            f.to_string(),
            if f {
                String::new()
            } else {
                infeasible_reason(o)
            },
            fig(o.seconds_per_step.to_string()),
            fig(o.optimal_seconds.to_string()),
            fig(o.memory_bytes.to_string()),
            fig(o.peak_bytes[0].to_string()),
            fig(o.peak_bytes[1].to_string()),
            fig(o.peak_bytes[2].to_string()),
        ]);
        let m = &o.memory;
        c.extend(
            [
                m.device_bytes,
                m.activation_bytes,
                m.tuning_state_bytes,
                m.total_bytes,
                m.ssd_bytes,
            ]
            .map(|b| fig((b.round() as u64).to_string())),
        );
        c.extend([
            fig(o.energy_j.to_string()),
            fig(o.energy_dynamic_j.to_string()),
            fig(o.energy_static_j.to_string()),
            fig(o.ssd_write_bytes.to_string()),
            fig(o
                .ssd_wear_out_steps
                .map(|x| x.to_string())
                .unwrap_or_default()),
            fig(o.bound.clone()),
            fig(o.schedule.clone()),
            o.lower_bound_s.to_string(),
            fig(o.gap_pct.to_string()),
            o.lower_bound_terms.compute_seconds.to_string(),
            o.lower_bound_terms.dram_seconds.to_string(),
            o.lower_bound_terms.dram_compulsory_seconds.to_string(),
            o.lower_bound_terms.ssd_seconds.to_string(),
            o.sim_seconds.map(|x| x.to_string()).unwrap_or_default(),
            "false".to_string(),
        ]);
        c
    }
}

impl SweepTable {
    /// Builds the table of `rows` (already in order) for the swept `keys`, and marks the
    /// Pareto front per workload.
    pub fn from_rows(keys: &[String], rows: &[SweepRow]) -> SweepTable {
        let header = header(keys);
        let rows = rows.iter().map(SweepRow::cells).collect();
        let mut t = SweepTable { header, rows };
        // Cannot fail: the columns were just written.
        let _ = t.mark_pareto();
        t
    }

    /// Index of column `name`.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::input("sweep table", name, "missing column"))
    }

    /// The swept key columns (between `workload` and `sram_kib`).
    pub fn key_columns(&self) -> Vec<String> {
        let end = self
            .header
            .iter()
            .position(|h| h == TAIL_COLUMNS[0])
            .unwrap_or(self.header.len());
        self.header[2.min(end)..end].to_vec()
    }

    /// A numeric cell, or an error naming the column and row.
    pub fn num(&self, row: usize, col: usize) -> Result<f64> {
        let cell = &self.rows[row][col];
        cell.parse::<f64>().map_err(|_| {
            Error::input(
                "sweep table",
                format!("row {} column {}", row + 2, self.header[col]),
                format!("`{cell}` is not a number"),
            )
        })
    }

    /// Recomputes the `pareto` column: per workload, among feasible rows, the rows no other
    /// row beats on all of time, memory, energy and SRAM size.
    pub fn mark_pareto(&mut self) -> Result<()> {
        let wl = self.column("workload")?;
        let feas = self.column("feasible")?;
        let par = self.column("pareto")?;
        let cols: Vec<usize> = OBJECTIVE_COLUMNS
            .iter()
            .map(|c| self.column(c))
            .collect::<Result<_>>()?;
        // Infeasible rows have empty objective cells and never join the front.
        let mut objectives = Vec::with_capacity(self.rows.len());
        for r in 0..self.rows.len() {
            objectives.push(if self.rows[r][feas] == "true" {
                cols.iter()
                    .map(|&c| self.num(r, c))
                    .collect::<Result<Vec<f64>>>()?
            } else {
                vec![f64::NAN; cols.len()]
            });
        }
        let eligible: Vec<bool> = (0..self.rows.len())
            .map(|r| self.rows[r][feas] == "true" && objectives[r].iter().all(|x| x.is_finite()))
            .collect();
        let groups: Vec<&str> = self.rows.iter().map(|r| r[wl].as_str()).collect();
        let front = super::pareto::front_by_group(&groups, &objectives, &eligible);
        for (row, on) in self.rows.iter_mut().zip(front) {
            row[par] = on.to_string();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(feasible: bool) -> SweepRow {
        SweepRow {
            point: 3,
            workload: "w".into(),
            values: vec!["512".into()],
            sram_kib: 512.0,
            dram_gbps: 25.6,
            pe_count: 1024,
            outcome: Outcome {
                feasible,
                seconds_per_step: if feasible { 2.0 } else { f64::INFINITY },
                optimal_seconds: if feasible { 1.98 } else { f64::INFINITY },
                memory_bytes: if feasible { 1 << 30 } else { 0 },
                peak_bytes: [1, 2, 3],
                memory: crate::cost::MemoryMetrics::default(),
                energy_j: if feasible { 5.0 } else { f64::INFINITY },
                energy_dynamic_j: if feasible { 4.0 } else { f64::INFINITY },
                energy_static_j: if feasible { 1.0 } else { f64::INFINITY },
                ssd_write_bytes: 0.0,
                ssd_wear_out_steps: None,
                bound: if feasible { "compute" } else { "infeasible" }.into(),
                schedule: if feasible {
                    "zigzag:4"
                } else {
                    "needs 40 GiB of DRAM, has 8"
                }
                .into(),
                lower_bound_s: 1.5,
                gap_pct: if feasible { 100.0 / 3.0 } else { f64::INFINITY },
                lower_bound_terms: Default::default(),
                sim_seconds: None,
            },
        }
    }

    /// Every column with a unit ends in one of the agreed spellings; no column spells a
    /// unit out (`seconds`) or carries a bare `gap`.
    #[test]
    fn column_names_share_one_unit_spelling() {
        let h = header(&["sram.capacity_kib".to_string()]);
        let units = ["_s", "_bytes", "_j", "_gbps", "_kib", "_pct"];
        let unitless = [
            "point",
            "workload",
            "pe_count",
            "ssd_wear_out_steps",
            "feasible",
            "infeasible_reason",
            "bound",
            "schedule",
            "pareto",
        ];
        for c in &h[3..] {
            assert!(
                unitless.contains(&c.as_str()) || units.iter().any(|u| c.ends_with(u)),
                "column `{c}` has no unit suffix"
            );
            assert!(!c.contains("seconds") && c != "gap", "column `{c}`");
        }
        for c in [
            "step_s",
            "optimal_step_s",
            "gap_pct",
            "sim_step_s",
            "energy_j",
        ] {
            assert!(h.iter().any(|x| x == c), "missing {c}");
        }
    }

    #[test]
    fn infeasible_rows_leave_figures_empty_and_carry_the_reason() {
        let h = header(&["sram.capacity_kib".to_string()]);
        let col = |n: &str| h.iter().position(|x| x == n).unwrap();
        let bad = row(false).cells();
        assert_eq!(bad.len(), h.len());
        assert_eq!(bad[col("infeasible_reason")], "needs 40 GiB of DRAM, has 8");
        for c in [
            "step_s",
            "optimal_step_s",
            "memory_bytes",
            "energy_j",
            "schedule",
            "gap_pct",
        ] {
            assert_eq!(bad[col(c)], "", "{c}");
        }
        assert_eq!(bad[col("lower_bound_s")], "1.5");
        let good = row(true).cells();
        assert_eq!(good[col("infeasible_reason")], "");
        assert_eq!(good[col("step_s")], "2");
        // The gap is a percentage: 2 s over a 1.5 s bound is 33.3%.
        let gap: f64 = good[col("gap_pct")].parse().unwrap();
        assert!((gap - 100.0 * (2.0 / 1.5 - 1.0)).abs() < 1e-9);
        // The front ignores the infeasible row and keeps the feasible one.
        let t = SweepTable::from_rows(&["sram.capacity_kib".to_string()], &[row(false), row(true)]);
        let par = t.column("pareto").unwrap();
        assert_eq!(t.rows[0][par], "false");
        assert_eq!(t.rows[1][par], "true");
    }
}
