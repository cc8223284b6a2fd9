//! Structure-aware hardware files: every key of `docs/hw_keys.md` with a boundary value
//! (see [`super::values`]), read by the hardware reader; a valid configuration then runs
//! a fixed tiny workload through the search, the cost model and a few simulator steps.
//! Timing keys span the reader's whole ranges: refresh taking nearly the whole interval
//! and data rates of a few MT/s are refused by the reader (`dram.timing.t_rfc_ns`,
//! `dram.data_rate_mtps`) or finish under the controller's progress rule and watchdog.

use super::deep;
use super::values::{Kind, maybe_unknown, set_all};
use arbitrary::Unstructured;
use edgesim::hw::HwConfig;
use edgesim::workload::{Trace, Workload};
use std::sync::OnceLock;
use toml::{Table, Value};

const ROOT_KEYS: &[(&str, Kind)] = &[("clock_ghz", Kind::Float(1e-3, 100.0, 1.0))];

const COMPUTE_KEYS: &[(&str, Kind)] = &[
    ("pe_rows", Kind::Int(1, 65536, 32)),
    ("pe_cols", Kind::Int(1, 65536, 32)),
    ("native_bits", Kind::Int(1, 32, 8)),
    (
        "precision_scaling",
        Kind::Choice(&["bit-flexible", "fixed"]),
    ),
    ("sparsity", Kind::Choice(&["skip-zeros", "dense"])),
    ("sparse_efficiency", Kind::Float(0.0, 1.0, 0.8)),
    ("vector_lanes", Kind::Int(1, 1 << 20, 64)),
    (
        "dataflow",
        Kind::Choice(&["weight-stationary", "output-stationary", "input-stationary"]),
    ),
    ("mac_energy_pj", Kind::Float(0.0, 1e6, 0.23)),
    ("vector_energy_pj", Kind::Float(0.0, 1e6, 1.0)),
];

const SRAM_KEYS: &[(&str, Kind)] = &[
    ("capacity_kib", Kind::Float(1.0, 1e9, 1024.0)),
    ("bandwidth_bytes_per_cycle", Kind::Float(1.0, 1e9, 256.0)),
    ("energy_pj_per_byte", Kind::Float(0.0, 1e6, 2.5)),
];

const DRAM_KEYS: &[(&str, Kind)] = &[
    ("kind", Kind::Choice(&["lpddr4", "ideal"])),
    ("capacity_gib", Kind::Float(1.0 / 1024.0, 1e6, 8.0)),
    ("data_rate_mtps", Kind::Float(1.0, 1e9, 3200.0)),
    ("bus_width_bits", Kind::Int(1, 1 << 20, 64)),
    ("channels", Kind::Int(1, 1024, 4)),
    ("energy_pj_per_byte", Kind::Float(0.0, 1e6, 64.0)),
];

const TIMING_KEYS: &[(&str, Kind)] = &[
    ("banks", Kind::Int(1, 64, 8)),
    ("page_bytes", Kind::Int(64, 65536, 2048)),
    ("burst_length", Kind::Int(1, 64, 16)),
    ("t_rcd_ns", Kind::Float(0.0, 1000.0, 18.0)),
    ("t_rp_ns", Kind::Float(0.0, 1000.0, 18.0)),
    ("t_rpab_ns", Kind::Float(0.0, 1000.0, 21.0)),
    ("t_ras_ns", Kind::Float(0.0, 1000.0, 42.0)),
    ("rl_nck", Kind::Int(1, 256, 28)),
    ("wl_nck", Kind::Int(1, 256, 14)),
    ("t_wr_ns", Kind::Float(0.0, 1000.0, 18.0)),
    ("t_wtr_ns", Kind::Float(0.0, 1000.0, 10.0)),
    ("t_rtw_nck", Kind::Int(0, 256, 31)),
    ("t_rrd_ns", Kind::Float(0.0, 1000.0, 10.0)),
    ("t_faw_ns", Kind::Float(0.0, 1000.0, 40.0)),
    ("t_ccd_nck", Kind::Int(1, 64, 8)),
    ("t_rtp_ns", Kind::Float(0.0, 1000.0, 7.5)),
    ("t_rfc_ns", Kind::Float(0.0, 10000.0, 280.0)),
    ("t_refi_ns", Kind::Float(1.0, 1e6, 3904.0)),
];

const CONTROLLER_KEYS: &[(&str, Kind)] = &[
    ("ranks", Kind::Int(1, 4, 1)),
    ("queue_depth", Kind::Int(1, 1024, 32)),
    ("write_high", Kind::Int(1, 1024, 24)),
    ("write_low", Kind::Int(0, 1023, 8)),
    ("interleave_bytes", Kind::Int(32, 65536, 256)),
    ("ca_nck", Kind::Int(0, 8, 0)),
    ("refresh_postpone", Kind::Int(0, 8, 0)),
    ("t_rtrs_nck", Kind::Int(0, 16, 1)),
    // Upper end kept small: a stuck controller is reported after this much simulated time.
    ("watchdog_us", Kind::Int(1, 100_000, 10_000)),
];

const SSD_KEYS: &[(&str, Kind)] = &[
    ("capacity_gib", Kind::Float(0.0, 1e9, 256.0)),
    ("read_gbps", Kind::Float(1e-6, 1e9, 2.1)),
    ("write_gbps", Kind::Float(1e-6, 1e9, 1.2)),
    ("latency_us", Kind::Float(0.0, 1e9, 80.0)),
    ("energy_pj_per_byte", Kind::Float(0.0, 1e6, 150.0)),
];

/// The hardware text the bytes describe.
pub fn hw_text(u: &mut Unstructured) -> arbitrary::Result<String> {
    let mut root = Table::new();
    root.insert("name".into(), Value::String("fuzz".into()));
    set_all(u, &mut root, ROOT_KEYS)?;
    for (name, keys) in [
        ("compute", COMPUTE_KEYS),
        ("sram", SRAM_KEYS),
        ("dram", DRAM_KEYS),
        ("ssd", SSD_KEYS),
    ] {
        let mut t = Table::new();
        set_all(u, &mut t, keys)?;
        if name == "dram" && u.int_in_range(0u8..=3)? == 3 {
            let mut timing = Table::new();
            set_all(u, &mut timing, TIMING_KEYS)?;
            maybe_unknown(u, &mut timing)?;
            t.insert("timing".into(), Value::Table(timing));
        }
        if name == "dram" && u.int_in_range(0u8..=3)? == 3 {
            let mut controller = Table::new();
            set_all(u, &mut controller, CONTROLLER_KEYS)?;
            maybe_unknown(u, &mut controller)?;
            t.insert("controller".into(), Value::Table(controller));
        }
        maybe_unknown(u, &mut t)?;
        root.insert(name.into(), Value::Table(t));
    }
    maybe_unknown(u, &mut root)?;
    Ok(toml::to_string(&root).expect("a TOML table serialises"))
}

/// The fixed workloads a generated hardware runs (tiny model: the search is cheap).
fn traces() -> &'static [Trace] {
    static T: OnceLock<Vec<Trace>> = OnceLock::new();
    T.get_or_init(|| {
        ["tiny_lora", "tiny_edge_llm", "tiny_full"]
            .iter()
            .map(|n| {
                let p = super::files::repo_root().join(format!("workloads/{n}.toml"));
                Workload::from_file(&p)
                    .and_then(|w| w.trace())
                    .expect("shipped tiny workload")
            })
            .collect()
    })
}

/// Harness: generated hardware file -> reader -> search, cost model, simulator.
pub fn hw_struct(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(text) = hw_text(&mut u) else { return };
    let which = usize::from(u.arbitrary::<u8>().unwrap_or(0)) % traces().len();
    if let Ok(hw) = HwConfig::from_toml_str("hw_struct.toml", &text) {
        deep::search_and_simulate(&hw, &traces()[which]);
    }
}
