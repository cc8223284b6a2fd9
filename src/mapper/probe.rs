//! One GEMM on the array and the SRAM, as `edgesim gemm` reports it, and the reader of
//! SCALE-Sim's GEMM topology files, so a SCALE-Sim user can compare both tools on the
//! same layers.
//!
//! The probe maps a standalone GEMM (`batch` 1, B a stored weight) with the whole SRAM
//! as its budget and double-buffered tiles, the setting of a prefetching schedule step.
//! Its cycles are SCALE-Sim's closed form (`array`, one more than SCALE-Sim prints) and
//! its stalls include the first tile's load, since nothing precedes a standalone GEMM.

use super::{GemmShape, array, map_uncached};
use crate::error::{Error, Result};
use crate::hw::{Dataflow, HwConfig};

/// Limit on every GEMM dimension of a probe or topology row (2^32): larger values are
/// rejected as input errors rather than overflowing the cycle arithmetic.
pub const MAX_DIM: u64 = 1 << 32;

/// What `edgesim gemm` reports for one GEMM `out[m x n] = A[m x k] . B[k x n]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Probe {
    /// Rows of A and the output.
    pub m: u64,
    /// Columns of B and the output.
    pub n: u64,
    /// Reduction dimension.
    pub k: u64,
    /// Array dataflow.
    pub dataflow: Dataflow,
    /// Array rows `R`.
    pub pe_rows: u32,
    /// Array columns `C`.
    pub pe_cols: u32,
    /// Folds along the array rows, `ceil(Sr / R)`.
    pub row_folds: u64,
    /// Folds along the array columns, `ceil(Sc / C)`.
    pub col_folds: u64,
    /// Array cycles (SCALE-Sim's closed form; SCALE-Sim prints this minus one).
    pub cycles: f64,
    /// Cycles the array waits for DRAM: the first tile's load plus the later stalls.
    pub stall_cycles: f64,
    /// The first tile's load, included in `stall_cycles`.
    pub prologue_cycles: f64,
    /// Cycles the DRAM bus needs for all of this GEMM's DRAM bytes, reads and writes
    /// together at the peak rate (LPDDR4 is half-duplex: one data bus carries both).
    pub dram_cycles: f64,
    /// `max(cycles + stall_cycles, dram_cycles)`: the stall model charges operand reads
    /// only, so a GEMM whose output write-back alone exceeds the array time is bound by
    /// the bus.
    pub total_cycles: f64,
    /// Native-MAC equivalents that fire / (PEs x total cycles): SCALE-Sim's "Overall
    /// Util" for dense 8-bit operands.
    pub utilisation: f64,
    /// Mean over folds of the used fraction of the PEs (SCALE-Sim's "Mapping
    /// Efficiency").
    pub mapping_efficiency: f64,
    /// Bytes the array reads from SRAM (operands).
    pub sram_read_bytes: f64,
    /// Bytes the array writes to SRAM (outputs).
    pub sram_write_bytes: f64,
    /// DRAM -> SRAM bytes (operands with re-reads, partial sums read back).
    pub dram_read_bytes: f64,
    /// SRAM -> DRAM bytes (outputs and spilled partial sums).
    pub dram_write_bytes: f64,
    /// Native-MAC equivalents that fire (for energy; 0 for an fp16 GEMM).
    pub native_macs: f64,
    /// fp16 MACs that fire (for energy; 0 unless both operands are 16-bit).
    pub fp16_macs: f64,
    /// SRAM tile `[m, k, n]` the tiling chose.
    pub tile: [u64; 3],
    /// False when even the smallest tile overflows the SRAM.
    pub fits: bool,
}

/// Maps one standalone GEMM on `hw` (module doc).
pub fn probe(hw: &HwConfig, g: &GemmShape) -> Probe {
    let mp = map_uncached(hw, g, hw.sram.capacity_bytes(), true);
    let c = &hw.compute;
    let (row_folds, col_folds) = array::folds(c, g.m, g.k, g.n);
    let (sram_read, sram_write) = array::sram_port_traffic(c, g);
    let stall = mp.stall_cycles + mp.prologue_cycles;
    let dram_cycles = mp.traffic.total() / super::dram_bytes_per_cycle(hw);
    let total = (mp.array_cycles + stall).max(dram_cycles);
    Probe {
        m: g.m,
        n: g.n,
        k: g.k,
        dataflow: c.dataflow,
        pe_rows: c.pe_rows,
        pe_cols: c.pe_cols,
        row_folds,
        col_folds,
        cycles: mp.array_cycles,
        stall_cycles: stall,
        prologue_cycles: mp.prologue_cycles,
        dram_cycles,
        total_cycles: total,
        utilisation: if total > 0.0 {
            (mp.native_macs + mp.fp16_macs * c.fp16_mac_cost) / (c.pes() as f64 * total)
        } else {
            0.0
        },
        mapping_efficiency: array::mapping_efficiency(c, g.m, g.k, g.n),
        sram_read_bytes: sram_read * g.batch as f64,
        sram_write_bytes: sram_write * g.batch as f64,
        dram_read_bytes: mp.traffic.a_read + mp.traffic.b_read + mp.traffic.c_read,
        dram_write_bytes: mp.traffic.c_write,
        native_macs: mp.native_macs,
        fp16_macs: mp.fp16_macs,
        tile: [mp.tile.m, mp.tile.k, mp.tile.n],
        fits: mp.fits,
    }
}

/// One layer of a SCALE-Sim GEMM topology file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TopologyLayer {
    /// Layer name (first column).
    pub name: String,
    /// M (second column).
    pub m: u64,
    /// N (third column).
    pub n: u64,
    /// K (fourth column).
    pub k: u64,
    /// Weight sparsity from an optional fifth column `N:M` (N non-zeros in every M
    /// weights, SCALE-Sim 3.0's sparsity ratio): `1 - N/M`; 0 when absent.
    pub sparsity: f64,
}

/// Reads a SCALE-Sim GEMM topology (`topologies/GEMM_mnk/*.csv` of SCALE-Sim 3.0): a
/// header line, then `name, M, N, K,` rows; the trailing comma is optional (SCALE-Sim
/// requires it), spaces around fields and blank lines are ignored, an optional fifth
/// column is the `N:M` sparsity ratio. `file` names the file in errors, which give the
/// 1-based line and the column.
pub fn parse_topology(file: &str, text: &str) -> Result<Vec<TopologyLayer>> {
    let mut layers = Vec::new();
    let mut header = true;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if header {
            header = false;
            // A file without its header would silently lose its first layer.
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            if cols.len() >= 4 && cols[1..4].iter().all(|c| c.parse::<u64>().is_ok()) {
                return Err(Error::input(
                    file,
                    format!("row {}", i + 1),
                    "looks like a layer (M, N and K are numbers); a SCALE-Sim topology \
                     file starts with a header row such as `Layer, M, N, K,`",
                ));
            }
            continue;
        }
        let row = i + 1;
        let mut fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.last() == Some(&"") {
            fields.pop();
        }
        if !(4..=5).contains(&fields.len()) {
            return Err(Error::input(
                file,
                format!("row {row}"),
                format!(
                    "{} fields; expected `name, M, N, K,` with an optional `N:M` sparsity",
                    fields.len()
                ),
            ));
        }
        let dim = |col: usize, label: &str| -> Result<u64> {
            let key = format!("row {row}, column {} ({label})", col + 1);
            match fields[col].parse::<u64>() {
                Ok(v) if (1..=MAX_DIM).contains(&v) => Ok(v),
                _ => Err(Error::input(
                    file,
                    key,
                    format!("`{}` is not an integer in 1..={MAX_DIM}", fields[col]),
                )),
            }
        };
        let sparsity = match fields.get(4) {
            None => 0.0,
            Some(s) => parse_ratio(s).ok_or_else(|| {
                Error::input(
                    file,
                    format!("row {row}, column 5 (sparsity N:M)"),
                    format!("`{s}` is not `N:M` with integers 1 <= N <= M <= 1024"),
                )
            })?,
        };
        if fields[0].is_empty() {
            return Err(Error::input(
                file,
                format!("row {row}, column 1 (name)"),
                "empty layer name",
            ));
        }
        layers.push(TopologyLayer {
            name: fields[0].to_string(),
            m: dim(1, "M")?,
            n: dim(2, "N")?,
            k: dim(3, "K")?,
            sparsity,
        });
    }
    if layers.is_empty() {
        return Err(Error::input(
            file,
            "rows",
            "no layer rows after the header (expected `name, M, N, K,`)",
        ));
    }
    Ok(layers)
}

fn parse_ratio(s: &str) -> Option<f64> {
    let (a, b) = s.split_once(':')?;
    let (nz, of): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    if nz == 0 || nz > of || of > 1024 {
        return None;
    }
    Some(1.0 - nz as f64 / of as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_with_and_without_trailing_commas() {
        let text = "Layer Name, M, N, K,\n\nTest 1, 256, 128, 256,\n  fc2 ,64,32,  16\nsp, 8, 8, 8, 2:4,\n";
        let l = parse_topology("t.csv", text).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(
            (l[0].name.as_str(), l[0].m, l[0].n, l[0].k),
            ("Test 1", 256, 128, 256)
        );
        assert_eq!(
            (l[1].name.as_str(), l[1].m, l[1].n, l[1].k),
            ("fc2", 64, 32, 16)
        );
        assert_eq!(l[2].sparsity, 0.5);
    }

    #[test]
    fn bad_rows_name_file_row_and_column() {
        let e = parse_topology("t.csv", "h\nx, 1, 0, 3,\n").unwrap_err();
        let s = e.to_string();
        assert!(
            e.is_input() && s.contains("t.csv") && s.contains("row 2, column 3 (N)"),
            "{s}"
        );
        let e = parse_topology("t.csv", "h\nx, 1, 2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 2") && e.contains("3 fields"), "{e}");
        let e = parse_topology("t.csv", "h\nx, 1, 2, 3, 5:4\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("column 5"), "{e}");
        assert!(parse_topology("t.csv", "h\n").is_err());
    }

    #[test]
    fn probe_of_a_fitting_gemm() {
        // 64 x 64 x 64, 8 bit, on the default 32 x 32 WS array: 4 folds x 158 cycles.
        // Every tiling with compulsory traffic ties; the smallest footprint keeps B whole
        // and streams A one row at a time (tile 1 x 64 x 64, M innermost). The first step
        // loads B and one A row, 4096 + 64 B at 25.6 B/cycle = 162.5 cycles; each later
        // step loads a 64-byte row (2.5 cycles) while the previous row computes
        // (632 / 64 = 9.875 cycles), so there are no other stalls.
        let hw = HwConfig::paper_default();
        let g = crate::mapper::dense8(64, 64, 64);
        let p = probe(&hw, &g);
        assert_eq!(p.cycles, 632.0);
        assert_eq!(p.tile, [1, 64, 64]);
        assert!((p.prologue_cycles - 162.5).abs() < 1e-9);
        assert!((p.stall_cycles - 162.5).abs() < 1e-9);
        assert_eq!((p.dram_read_bytes, p.dram_write_bytes), (8192.0, 4096.0));
        // SRAM: B once + A once per 2 column folds = 4096 + 8192 reads, 4096 writes.
        assert_eq!((p.sram_read_bytes, p.sram_write_bytes), (12288.0, 4096.0));
        assert!((p.utilisation - 262144.0 / (1024.0 * 794.5)).abs() < 1e-12);
        assert_eq!(p.mapping_efficiency, 1.0);
    }

    #[test]
    fn a_file_without_its_header_is_refused_not_shortened() {
        let e = parse_topology("t.csv", "l1, 256, 128, 256,\nl2, 64, 64, 64,\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv: row 1") && e.contains("header"), "{e}");
    }

    #[test]
    fn output_write_back_can_bind_the_gemm() {
        // 4096 x 4096 x 32, WS on 32 x 32: one row fold, 128 column folds of
        // 2*32 + 32 + 4096 - 2 = 4190 cycles = 536320 array cycles. The 8-bit output alone
        // is 4096 x 4096 = 16 MiB; at 25.6 B/cycle (LPDDR4-3200 x 64 bit at 1 GHz) reads and
        // writes need (reads + 16777216) / 25.6 > 655360 cycles, more than the array.
        let hw = HwConfig::paper_default();
        let g = crate::mapper::dense8(4096, 32, 4096);
        let p = probe(&hw, &g);
        assert_eq!(p.cycles, 536320.0);
        assert!(p.dram_write_bytes >= 16777216.0);
        let bus = (p.dram_read_bytes + p.dram_write_bytes) / 25.6;
        assert!((p.dram_cycles - bus).abs() < 1e-6 * bus);
        assert!(p.cycles + p.stall_cycles < bus);
        assert_eq!(p.total_cycles, p.dram_cycles);
    }
}
