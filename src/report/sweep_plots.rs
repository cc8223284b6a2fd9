//! The plots of `edgesim sweep` / `edgesim merge`, drawn from a sweep table: per workload,
//! time per step against the PE count (when the array shape is swept), SRAM capacity, or
//! the first numeric swept key, with one line per combination of the other swept keys
//! (e.g. per DRAM bandwidth; distinct markers and nested widths keep coinciding lines
//! visible), and a scatter of time against memory with the Pareto front highlighted and
//! its points labelled with their hardware point (`512 KiB, 3200 MT/s`). Infeasible rows
//! (empty figures in `sweep.csv`) are left out of both.

use super::plot::{self, LineChart, ScatterChart, Series};
use crate::dse::SweepTable;
use crate::error::Result;
use std::path::{Path, PathBuf};

/// Axis label with unit for a dotted hardware key, from the unit suffix of its name.
pub fn key_label(key: &str) -> String {
    let known = [
        ("sram.capacity_kib", "SRAM capacity (KiB)"),
        ("dram.data_rate_mtps", "DRAM data rate (MT/s)"),
        ("dram.bus_width_bits", "DRAM bus width (bits)"),
        ("compute.pe_rows", "PE array rows"),
        ("compute.pe_cols", "PE array columns"),
        ("clock_ghz", "clock (GHz)"),
    ];
    if let Some((_, l)) = known.iter().find(|(k, _)| *k == key) {
        return l.to_string();
    }
    match key_unit(key) {
        Some((s, u)) => format!("{} ({u})", key.trim_end_matches(s)),
        None => key.to_string(),
    }
}

/// The unit suffix of a dotted key's name and its unit, e.g. (`_kib`, `KiB`).
fn key_unit(key: &str) -> Option<(&'static str, &'static str)> {
    [
        ("_kib", "KiB"),
        ("_gib", "GiB"),
        ("_gbps", "GB/s"),
        ("_mtps", "MT/s"),
        ("_ghz", "GHz"),
        ("_bits", "bits"),
        ("_ns", "ns"),
        ("_us", "us"),
        ("_pj", "pJ"),
        ("_pj_per_byte", "pJ/B"),
        ("_bytes_per_cycle", "B/cycle"),
    ]
    .iter()
    .filter(|(s, _)| key.ends_with(s))
    .max_by_key(|(s, _)| s.len())
    .copied()
}

/// A short name of a design point for a figure: the swept values with their units
/// (`512 KiB, 3200 MT/s`), the array shape as `16x32 PEs`.
pub fn point_label(keys: &[String], values: &[String]) -> String {
    let get = |k: &str| keys.iter().position(|x| x == k).map(|i| values[i].as_str());
    let mut parts = Vec::new();
    let shape = get("compute.pe_rows").zip(get("compute.pe_cols"));
    if let Some((r, c)) = shape {
        parts.push(format!("{r}x{c} PEs"));
    }
    for (k, v) in keys.iter().zip(values) {
        if shape.is_some() && (k == "compute.pe_rows" || k == "compute.pe_cols") {
            continue;
        }
        parts.push(match key_unit(k) {
            Some((_, u)) => format!("{v} {u}"),
            None => format!("{}={v}", k.rsplit('.').next().unwrap_or(k)),
        });
    }
    parts.join(", ")
}

fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Draws every sweep plot into `dir`; returns the written files.
pub fn write_sweep_plots(dir: &Path, t: &SweepTable) -> Result<Vec<PathBuf>> {
    let keys = t.key_columns();
    let wl = t.column("workload")?;
    let feas = t.column("feasible")?;
    let secs = t.column("step_s")?;
    let mem = t.column("memory_bytes")?;
    let par = t.column("pareto")?;
    let gbps = t.column("dram_gbps")?;

    // x axis: the PE count when the array shape is swept (fastest shape per count), else
    // SRAM capacity when swept, else the first numeric swept key. Lines: one per value
    // combination of the remaining swept keys.
    let numeric = |c: usize| t.rows.iter().all(|r| r[c].parse::<f64>().is_ok());
    let is_pe = |k: &str| k.starts_with("compute.pe_");
    let x_key: Option<String> = if keys.iter().any(|k| is_pe(k)) {
        Some("pe_count".into())
    } else {
        keys.iter()
            .find(|k| k.as_str() == "sram.capacity_kib")
            .or_else(|| {
                keys.iter()
                    .find(|k| t.column(k).map(numeric).unwrap_or(false))
            })
            .cloned()
    };
    let mut workloads: Vec<String> = Vec::new();
    for r in &t.rows {
        if !workloads.contains(&r[wl]) {
            workloads.push(r[wl].clone());
        }
    }

    let mut out = Vec::new();
    for w in &workloads {
        let rows: Vec<usize> = (0..t.rows.len())
            .filter(|&i| t.rows[i][wl] == *w && t.rows[i][feas] == "true")
            .collect();
        if let Some(xk) = &x_key {
            let xc = t.column(xk)?;
            let others: Vec<usize> = keys
                .iter()
                .filter(|k| *k != xk && !(xk == "pe_count" && is_pe(k)))
                .map(|k| t.column(k))
                .collect::<Result<_>>()?;
            let mut series: Vec<(Vec<String>, Series)> = Vec::new();
            for &i in &rows {
                let r = &t.rows[i];
                let group: Vec<String> = others.iter().map(|&c| r[c].clone()).collect();
                let label = if others.is_empty() {
                    w.clone()
                } else {
                    let mut parts: Vec<String> = Vec::new();
                    for &c in &others {
                        let part = match t.header[c].as_str() {
                            "sram.capacity_kib" => format!("SRAM {} KiB", r[c]),
                            "dram.data_rate_mtps" | "dram.bus_width_bits" => {
                                format!("DRAM {} GB/s", plot::tick(t.num(i, gbps)?))
                            }
                            h => format!("{h} = {}", r[c]),
                        };
                        if !parts.contains(&part) {
                            parts.push(part);
                        }
                    }
                    parts.join(", ")
                };
                let pt = (t.num(i, xc)?, t.num(i, secs)?);
                match series.iter_mut().find(|(g, _)| *g == group) {
                    Some((_, s)) => s.points.push(pt),
                    None => series.push((
                        group,
                        Series {
                            label,
                            points: vec![pt],
                        },
                    )),
                }
            }
            let mut series: Vec<Series> = series.into_iter().map(|(_, s)| s).collect();
            for s in &mut series {
                // Several points at one x (array shapes with the same PE count): keep the
                // fastest, the shape a designer would pick; sweep.csv has them all.
                s.points
                    .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
                s.points.dedup_by(|later, first| later.0 == first.0);
            }
            let log2_x = series
                .iter()
                .flat_map(|s| s.points.iter())
                .all(|p| p.0 > 0.0)
                && (xk.ends_with("_kib") || xk == "pe_count");
            // Titles name the workload only (the axes say the rest): a column-wide figure
            // has room for little more at a legible size.
            let (x_label, title) = if xk == "pe_count" {
                (
                    "PE count (rows x columns, fastest shape)".to_string(),
                    w.clone(),
                )
            } else {
                (key_label(xk), w.clone())
            };
            let chart = LineChart {
                title,
                x_label,
                y_label: "time per optimizer step (s)".into(),
                log2_x,
                series,
            };
            let stem = dir.join(format!("time_vs_{}_{}", safe(xk), safe(w)));
            out.extend(plot::line_chart(&stem, &chart)?);
        }
        let gib = (1u64 << 30) as f64;
        let key_cols: Vec<usize> = keys.iter().map(|k| t.column(k)).collect::<Result<_>>()?;
        let mut front = Vec::new();
        let mut front_labels = Vec::new();
        let mut others = Vec::new();
        for &i in &rows {
            let p = (t.num(i, mem)? / gib, t.num(i, secs)?);
            if t.rows[i][par] == "true" {
                front.push(p);
                let values: Vec<String> = key_cols.iter().map(|&c| t.rows[i][c].clone()).collect();
                front_labels.push(point_label(&keys, &values));
            } else {
                others.push(p);
            }
        }
        let chart = ScatterChart {
            title: format!("{w}: Pareto front"),
            x_label: "tuning memory (GiB)".into(),
            y_label: "time per optimizer step (s)".into(),
            others,
            front,
            front_labels,
        };
        out.extend(plot::scatter_chart(
            &dir.join(format!("pareto_{}", safe(w))),
            &chart,
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_carry_units() {
        assert_eq!(key_label("sram.capacity_kib"), "SRAM capacity (KiB)");
        assert_eq!(key_label("ssd.read_gbps"), "ssd.read (GB/s)");
        assert_eq!(key_label("dram.energy_pj_per_byte"), "dram.energy (pJ/B)");
        assert_eq!(key_label("compute.dataflow"), "compute.dataflow");
    }
}

#[cfg(test)]
mod plot_tests {
    use super::*;
    use crate::dse::table::TAIL_COLUMNS;

    /// A two-point table with the given swept keys and values.
    fn table(keys: &[&str], rows: &[(&[&str], f64)]) -> SweepTable {
        let mut header: Vec<String> = vec!["point".into(), "workload".into()];
        header.extend(keys.iter().map(|k| k.to_string()));
        header.extend(TAIL_COLUMNS.iter().map(|s| s.to_string()));
        let rows = rows
            .iter()
            .enumerate()
            .map(|(i, (vals, secs))| {
                let mut r = vec![i.to_string(), "w".to_string()];
                r.extend(vals.iter().map(|v| v.to_string()));
                r.extend(
                    [
                        "512",
                        "25.6",
                        "1024",
                        "true",
                        "",
                        &secs.to_string(),
                        &secs.to_string(),
                        "1073741824",
                        "1",
                        "2",
                        "3",
                        "4",
                        "5",
                        "6",
                        "1073741824",
                        "3",
                        "5",
                        "4",
                        "1",
                        "0",
                        "",
                        "compute",
                        "row",
                        "1",
                        "0.1",
                        "0.9",
                        "0.5",
                        "0.4",
                        "0",
                        "",
                        "true",
                    ]
                    .iter()
                    .map(|s| s.to_string()),
                );
                r
            })
            .collect();
        SweepTable { header, rows }
    }

    #[test]
    fn pareto_points_are_named_by_their_hardware_point() {
        let k = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            point_label(
                &k(&["sram.capacity_kib", "dram.data_rate_mtps"]),
                &k(&["512", "3200"])
            ),
            "512 KiB, 3200 MT/s"
        );
        assert_eq!(
            point_label(
                &k(&["compute.pe_cols", "compute.pe_rows", "compute.dataflow"]),
                &k(&["32", "16", "ws"])
            ),
            "16x32 PEs, dataflow=ws"
        );
    }

    #[test]
    fn x_axis_follows_the_swept_keys() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(
            &["dram.data_rate_mtps", "sram.capacity_kib"],
            &[(&["1600", "256"], 2.0), (&["1600", "512"], 1.0)],
        );
        let files = write_sweep_plots(dir.path(), &t).unwrap();
        assert!(
            files
                .iter()
                .any(|f| f.ends_with("time_vs_sram_capacity_kib_w.png"))
        );
        assert!(files.iter().any(|f| f.ends_with("pareto_w.svg")));
        let t = table(
            &["compute.pe_cols", "compute.pe_rows"],
            &[(&["16", "32"], 2.0), (&["32", "16"], 1.5)],
        );
        let files = write_sweep_plots(dir.path(), &t).unwrap();
        assert!(
            files.iter().any(|f| f.ends_with("time_vs_pe_count_w.png")),
            "{files:?}"
        );
    }
}
