//! The SRAM-aware lower bound (`mapper::bound` inside `cost::Model::lower_bound`) against
//! every schedule the search can build for the shipped workloads and hardware files (and a
//! memory-bound 128x128 variant of the paper accelerator), and the step-time modes against
//! each other: the half-duplex bus (`shared-bus`) is never faster than eq. 3 (`paper`).

use edgesim::cost::synthetic::{SyntheticSpec, synthetic_trace};
use edgesim::cost::{Mode, Model, Placement, Schedule};
use edgesim::grid::Traversal;
use edgesim::hw::HwConfig;
use edgesim::search::{SearchOptions, search};
use edgesim::workload::{Trace, Workload};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

/// The shipped hardware files, plus the paper accelerator with a 128x128 array (16x the
/// MACs on the same SRAM and DRAM: memory-bound).
fn hardware() -> Vec<HwConfig> {
    let mut v: Vec<HwConfig> = files("hw_configs")
        .iter()
        .map(|p| HwConfig::from_file(p).unwrap())
        .collect();
    let mut big = HwConfig::from_file(&root().join("hw_configs/edge_llm_paper.toml")).unwrap();
    big.compute.pe_rows = 128;
    big.compute.pe_cols = 128;
    big.name = "edge-llm-paper-128x128".into();
    v.push(big);
    v
}

fn traces() -> Vec<Trace> {
    files("workloads")
        .iter()
        .map(|p: &PathBuf| Workload::from_file(Path::new(p)).unwrap().trace().unwrap())
        .collect()
}

/// Every combination the search enumerates (block size, prefetch, recomputed columns)
/// with everything in DRAM (the fastest placement of a combination: moving a fraction to
/// the SSD never saves time) is at least the bound in every mode, and so are the searched
/// schedules; on the 128x128 array the SRAM term raises the DRAM bound.
#[test]
fn every_schedule_of_the_shipped_files_is_at_least_the_bound() {
    let traces = traces();
    let mut raised = 0;
    for hw in hardware() {
        for tr in &traces {
            let model = Model::new(&hw, tr).unwrap();
            for mode in Mode::ALL {
                let lb = model.lower_bound(mode);
                assert!(lb.dram_seconds >= lb.dram_compulsory_seconds);
                assert!(lb.dram_sram_excess_bytes >= 0.0);
                for &seqs in model.block_sequences() {
                    for prefetch in [false, true] {
                        for k in 0..=model.recompute_order().len() as u32 {
                            let t = model.table(seqs, prefetch, k).unwrap();
                            // Every GEMM tile fits the SRAM (the mapper's fallback tile
                            // of a GEMM that does not fit may exceed it: infeasible).
                            if t.sram_peak() <= hw.sram.capacity_bytes() as f64 {
                                let s = t.seconds(mode, &Placement::default());
                                assert!(
                                    s >= lb.seconds * (1.0 - 1e-12),
                                    "{} on {} ({mode}): {seqs} seqs, prefetch {prefetch}, \
                                     {k} recomputed: {s} s < bound {lb:?}",
                                    tr.workload,
                                    hw.name
                                );
                            }
                        }
                    }
                }
            }
            if lb_raised(&model) {
                raised += 1;
            }
        }
    }
    assert!(
        raised > 0,
        "the SRAM term never exceeded the compulsory traffic"
    );
    // The searched schedules of the memory-bound array, in both modes.
    let big = hardware().pop().unwrap();
    for tr in &traces {
        for mode in [Mode::SharedBus, Mode::Paper] {
            let r = search(&big, tr, &SearchOptions::default().with_mode(mode));
            let lb = r.lower_bound.seconds;
            if let Some(b) = &r.best {
                assert!(b.seconds_per_iteration >= lb * (1.0 - 1e-12));
                assert!(b.gap >= -1e-12);
            }
            if let Some(o) = r.optimal_seconds {
                assert!(o >= lb * (1.0 - 1e-12), "{}: {o} < {lb}", tr.workload);
            }
        }
    }
}

fn lb_raised(model: &Model) -> bool {
    model.lower_bound(Mode::SharedBus).dram_sram_excess_bytes > 0.0
}

/// With an SRAM that holds every GEMM whole, the bound is the compulsory-traffic bound.
#[test]
fn the_bound_is_compulsory_traffic_with_a_huge_sram() {
    let mut hw = HwConfig::paper_default();
    hw.sram.capacity_kib = 64.0 * 1024.0 * 1024.0; // 64 GiB: more than any GEMM's operands
    let tr = synthetic_trace(&small());
    let m = Model::new(&hw, &tr).unwrap();
    for mode in Mode::ALL {
        let lb = m.lower_bound(mode);
        assert_eq!(lb.dram_sram_excess_bytes, 0.0);
        assert_eq!(lb.dram_seconds, lb.dram_compulsory_seconds);
    }
}

fn small() -> SyntheticSpec {
    SyntheticSpec {
        layers: 3,
        backprop_layers: 2,
        hidden: 256,
        ffn: 688,
        heads: 4,
        seq: 64,
        sequences_per_step: 8,
        w_bits: 4,
        a_bits: 8,
        sparsity: 0.5,
        lora_rank: 4,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    /// Shared-bus is never faster than paper, for random hardware points, workloads and
    /// schedules: it only adds the sum of the DRAM-side transfers as a constraint.
    #[test]
    fn shared_bus_is_never_faster_than_paper(
        layers in 2u32..5, hidden_x in 1u64..4, seq_x in 0u32..3, bits_i in 0usize..3,
        sparsity in 0.0f64..0.8, s_exp in 0u32..4, trav in 0u8..3, prefetch: bool,
        k in 0u32..4, fw in 0u32..=20, fs in 0u32..=20, fo in 0u32..=20,
        dram_x in 0.25f64..4.0, sram_x in 0.125f64..4.0, pe_i in 0usize..3,
    ) {
        let mut hw = HwConfig::paper_default();
        hw.dram.data_rate_mtps *= dram_x;
        hw.sram.capacity_kib *= sram_x;
        let pe = [16u32, 32, 128][pe_i];
        hw.compute.pe_rows = pe;
        hw.compute.pe_cols = pe;
        let spec = SyntheticSpec {
            layers,
            backprop_layers: layers.min(2),
            hidden: 128 * hidden_x,
            ffn: 344 * hidden_x,
            heads: 2 * hidden_x,
            seq: 32 << seq_x,
            sequences_per_step: 8,
            w_bits: [3u32, 4, 8][bits_i],
            a_bits: 8,
            sparsity,
            lora_rank: 4,
        };
        let model = Model::new(&hw, &synthetic_trace(&spec)).unwrap();
        let s = 1u64 << s_exp;
        let n = 8 / s;
        let traversal = match trav {
            0 => Traversal::Row,
            1 => Traversal::Column,
            _ => Traversal::Zigzag(if n >= 2 { 2 } else { 1 }),
        };
        let sched = Schedule {
            traversal, micro_batch_size: s, prefetch, recompute: k,
            placement: Placement {
                weights_on_ssd: fw as f64 / 20.0,
                saved_on_ssd: fs as f64 / 20.0,
                optimizer_on_ssd: fo as f64 / 20.0,
            },
        };
        let paper = model.evaluate(&sched, Mode::Paper).unwrap();
        let shared = model.evaluate(&sched, Mode::SharedBus).unwrap();
        prop_assert!(shared.seconds_per_iteration >= paper.seconds_per_iteration);
        prop_assert!(
            model.lower_bound(Mode::SharedBus).seconds >= model.lower_bound(Mode::Paper).seconds
        );
    }
}

/// The same over the shipped workloads and hardware files: per schedule, and for the
/// searched optimum (the least time over the space cannot drop when every point rises).
#[test]
fn shared_bus_is_never_faster_than_paper_on_the_shipped_files() {
    let traces = traces();
    for hw in hardware() {
        for tr in &traces {
            let model = Model::new(&hw, tr).unwrap();
            let seqs = tr.sequences_per_step;
            for (i, mb) in edgesim::cost::divisors(seqs).into_iter().enumerate() {
                for prefetch in [false, true] {
                    let s = Schedule {
                        traversal: if i % 2 == 0 {
                            Traversal::Row
                        } else {
                            Traversal::Column
                        },
                        micro_batch_size: mb,
                        prefetch,
                        recompute: i as u32,
                        placement: Placement {
                            weights_on_ssd: 0.05 * i as f64,
                            saved_on_ssd: 0.1 * prefetch as u32 as f64,
                            optimizer_on_ssd: 0.5,
                        },
                    };
                    let p = model.evaluate(&s, Mode::Paper).unwrap();
                    let b = model.evaluate(&s, Mode::SharedBus).unwrap();
                    assert!(b.seconds_per_iteration >= p.seconds_per_iteration);
                }
            }
            let o = SearchOptions::default();
            let p = search(&hw, tr, &o.clone().with_mode(Mode::Paper));
            let b = search(&hw, tr, &o.with_mode(Mode::SharedBus));
            if let (Some(p), Some(b)) = (p.optimal_seconds, b.optimal_seconds) {
                assert!(b >= p, "{} on {}: {b} < {p}", tr.workload, hw.name);
            }
        }
    }
}
