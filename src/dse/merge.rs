//! Joining shard tables into the table a single run writes: rows ordered by point index
//! (each shard already holds its points' workloads in spec order), the Pareto front
//! recomputed over all rows.

use super::SweepTable;
use crate::error::{Error, Result};

/// Merges shard tables. `names` label the inputs in errors. Fails when headers differ, a
/// (point, workload) pair appears twice, or point indices have a gap (a missing shard).
pub fn merge(tables: Vec<(String, SweepTable)>) -> Result<SweepTable> {
    let Some((first_name, first)) = tables.first() else {
        return Err(Error::input("merge", "inputs", "no input tables"));
    };
    let header = first.header.clone();
    let point_col = first.column("point")?;
    let wl_col = first.column("workload")?;
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    for (name, t) in &tables {
        if t.header != header {
            return Err(Error::input(
                name,
                "header",
                format!("columns differ from {first_name}; shards must come from the same spec"),
            ));
        }
        for (i, r) in t.rows.iter().enumerate() {
            let p: usize = r[point_col].parse().map_err(|_| {
                Error::input(
                    name,
                    format!("line {} column point", i + 2),
                    format!("`{}` is not a point index", r[point_col]),
                )
            })?;
            rows.push((p, r.clone()));
        }
    }
    // Stable: rows of one point keep their (spec) workload order.
    rows.sort_by_key(|(p, _)| *p);
    let mut seen = std::collections::BTreeSet::new();
    for (p, r) in &rows {
        if !seen.insert((*p, r[wl_col].as_str())) {
            return Err(Error::input(
                "merge",
                format!("point {p} workload {}", r[wl_col]),
                "appears in more than one input; each shard must be given once",
            ));
        }
    }
    let mut expected = 0usize;
    for (p, _) in &rows {
        if *p > expected {
            return Err(Error::input(
                "merge",
                format!("point {expected}"),
                "missing from every input; is a shard missing?",
            ));
        }
        expected = p + 1;
    }
    let mut out = SweepTable {
        header,
        rows: rows.into_iter().map(|(_, r)| r).collect(),
    };
    out.mark_pareto()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dse::sweep::{NamedTrace, run};
    use crate::dse::{Outcome, Shard, SweepSpec};
    use crate::report::csv_table;

    fn tiny_trace(name: &str) -> NamedTrace {
        NamedTrace {
            name: name.into(),
            trace: crate::workload::Trace {
                workload: name.into(),
                model: "tiny".into(),
                method: "lora".into(),
                seq_len: 8,
                sequences_per_step: 1,
                micro_batch_size: 1,
                entries: Vec::new(),
                idle_weight_bytes: 0,
            },
        }
    }

    /// A closed-form stand-in for the search, so these tests exercise only the table,
    /// shard and merge machinery: time falls with SRAM and DRAM bandwidth, memory and
    /// energy rise with SRAM; a point with SRAM below 300 KiB is infeasible.
    fn toy(hw: &crate::hw::HwConfig, t: &crate::workload::Trace) -> crate::Result<Outcome> {
        let w = if t.workload == "a" { 1.0 } else { 2.0 };
        let s = w * (1e3 / hw.sram.capacity_kib + 1e11 / hw.dram.peak_bytes_per_s());
        Ok(Outcome {
            feasible: hw.sram.capacity_kib >= 300.0,
            seconds_per_step: s,
            optimal_seconds: s,
            memory_bytes: (hw.sram.capacity_kib * 1000.0) as u64 + 7,
            peak_bytes: [1, 2, 3],
            memory: crate::cost::MemoryMetrics::default(),
            energy_j: s * 0.1 + hw.sram.capacity_kib / 3.0,
            energy_dynamic_j: s * 0.1,
            energy_static_j: hw.sram.capacity_kib / 3.0,
            ssd_write_bytes: 0.0,
            ssd_wear_out_steps: None,
            bound: "dram".into(),
            schedule: "zigzag:4, mb=1".into(),
            lower_bound_s: s * 0.9,
            gap_pct: 100.0 / 9.0,
            lower_bound_terms: Default::default(),
            sim_seconds: None,
        })
    }

    /// A temporary directory holding a 4 SRAM sizes x 3 DRAM rates sweep over the paper
    /// accelerator (12 points), and that spec read back.
    fn sram_by_dram_spec() -> (tempfile::TempDir, SweepSpec) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.toml"), "").unwrap();
        let base = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/hw_configs/edge_llm_paper.toml"
        );
        let spec_path = dir.path().join("s.toml");
        std::fs::write(
            &spec_path,
            format!(
                "base = \"{base}\"\nworkloads = [\"w.toml\"]\n[sweep]\n\"sram.capacity_kib\" = [256, 512, 1024, 2048]\n\"dram.data_rate_mtps\" = [1600, 3200, 4266]\n"
            ),
        )
        .unwrap();
        let spec = SweepSpec::from_file(&spec_path).unwrap();
        (dir, spec)
    }

    #[test]
    fn shards_merged_equal_a_single_run_byte_for_byte() {
        let (dir, spec) = sram_by_dram_spec();
        let wls = [tiny_trace("a"), tiny_trace("b")];
        let single = run(&spec, &wls, Shard::ALL, toy, || ()).unwrap();
        assert_eq!(single.rows.len(), 24);
        let single_path = dir.path().join("single.csv");
        csv_table::write_sweep_table(&single_path, &single).unwrap();

        // Shards in scrambled order, each written and read back as a file.
        let mut inputs = Vec::new();
        for i in [2, 0, 4, 1, 3] {
            let t = run(&spec, &wls, Shard { index: i, count: 5 }, toy, || ()).unwrap();
            let p = dir.path().join(format!("shard{i}.csv"));
            csv_table::write_sweep_table(&p, &t).unwrap();
            inputs.push((
                p.display().to_string(),
                csv_table::read_sweep_table(&p).unwrap(),
            ));
        }
        let merged = merge(inputs.clone()).unwrap();
        let merged_path = dir.path().join("merged.csv");
        csv_table::write_sweep_table(&merged_path, &merged).unwrap();
        assert_eq!(
            std::fs::read(&single_path).unwrap(),
            std::fs::read(&merged_path).unwrap()
        );

        // The front is per workload, over feasible rows only, and recomputed: a shard's
        // local front differs from the global one.
        let par = single.column("pareto").unwrap();
        let feas = single.column("feasible").unwrap();
        assert!(
            single
                .rows
                .iter()
                .all(|r| r[feas] == "true" || r[par] == "false")
        );
        assert!(single.rows.iter().any(|r| r[par] == "true"));

        // Missing shard and duplicate shard are errors.
        let e = merge(inputs[1..].to_vec()).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
        let mut dup = inputs.clone();
        dup.push(inputs[0].clone());
        let e = merge(dup).unwrap_err().to_string();
        assert!(e.contains("more than one input"), "{e}");
        // Tables of different specs (other swept keys) do not merge.
        let mut other = inputs[0].clone();
        other.1.header[2] = "sram.bandwidth_bytes_per_cycle".into();
        let e = merge(vec![inputs[1].clone(), other])
            .unwrap_err()
            .to_string();
        assert!(e.contains("columns differ"), "{e}");
    }

    #[test]
    fn single_run_front_matches_hand_analysis() {
        // With the toy model, on each workload: time falls with SRAM and bandwidth, memory
        // and energy and SRAM rise with SRAM, bandwidth costs nothing. So for each SRAM
        // size only the fastest DRAM point survives, and every SRAM size >= 300 KiB is on
        // the front (it trades time for memory): 3 feasible sizes x 2 workloads = 6 rows.
        let (_dir, spec) = sram_by_dram_spec();
        let t = run(
            &spec,
            &[tiny_trace("a"), tiny_trace("b")],
            Shard::ALL,
            toy,
            || (),
        )
        .unwrap();
        let par = t.column("pareto").unwrap();
        let rate = t.column("dram.data_rate_mtps").unwrap();
        let front: Vec<&Vec<String>> = t.rows.iter().filter(|r| r[par] == "true").collect();
        assert_eq!(front.len(), 6);
        assert!(front.iter().all(|r| r[rate] == "4266"));
        assert_eq!(
            t.header[..4],
            [
                "point",
                "workload",
                "dram.data_rate_mtps",
                "sram.capacity_kib"
            ]
        );
    }
}
