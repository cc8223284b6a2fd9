//! Hardware file reading: shipped files are valid, derived figures match hand
//! calculations, bad input names file, key and range.

use edgesim::hw::{HwConfig, PrecisionScaling, apply_override};
use std::path::Path;

#[test]
fn shipped_files_load_with_expected_peaks() {
    let p = HwConfig::from_file(Path::new("hw_configs/edge_llm_paper.toml")).unwrap();
    // LPDDR4-3200 x 64 bit: 3200e6 * 8 bytes = 25.6e9 B/s.
    assert_eq!(p.dram.peak_bytes_per_s(), 25.6e9);
    assert_eq!(p.sram.capacity_bytes(), 1 << 20);
    assert_eq!(p.dram.capacity_bytes(), 8 << 30);
    let j = HwConfig::from_file(Path::new("hw_configs/jetson_tx2_class.toml")).unwrap();
    // 3733e6 * 16 bytes = 59.73e9 B/s (TX2 data sheet: 59.7 GB/s).
    assert!((j.dram.peak_bytes_per_s() / 1e9 - 59.7).abs() < 0.05);
    let s = HwConfig::from_file(Path::new("hw_configs/shao_vlsi23.toml")).unwrap();
    assert_eq!(s.compute.precision_scaling, PrecisionScaling::Fixed);
    assert_eq!(HwConfig::paper_default(), p);
}

#[test]
fn mac_cost_rules() {
    let p = HwConfig::paper_default();
    // Bit Fusion bricks, native 8: (ceil(4/2)*ceil(8/2))/(4*4) = 8/16.
    assert_eq!(p.compute.mac_cost(4, 8), 0.5);
    assert_eq!(p.compute.mac_cost(8, 8), 1.0);
    assert_eq!(p.compute.mac_cost(3, 8), 0.5); // 3 bits occupy two 2-bit bricks
    assert_eq!(p.compute.mac_cost(16, 16), 4.0);
    let s = HwConfig::from_file(Path::new("hw_configs/shao_vlsi23.toml")).unwrap();
    assert_eq!(s.compute.mac_cost(4, 8), 1.0); // fixed 16-bit: no gain
    assert_eq!(s.compute.sparse_fraction(0.5), 1.0); // dense
    assert!((p.compute.sparse_fraction(0.5) - 0.6).abs() < 1e-12); // 1 - 0.5*0.8
}

fn err_of(text: &str) -> String {
    HwConfig::from_toml_str("t.toml", text)
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_inputs_name_file_key_and_range() {
    let good = edgesim::hw::DEFAULT_HW_TOML;
    let e = err_of(&good.replace("pe_rows = 32", "pe_rows = 0"));
    assert!(
        e.contains("t.toml: compute.pe_rows") && e.contains("[1, 65536]"),
        "{e}"
    );
    let e = err_of(&good.replace("capacity_kib = 1024", "capacity_kib = -5"));
    assert!(e.contains("sram.capacity_kib"), "{e}");
    let e = err_of(&good.replace("kind = \"lpddr4\"", "kind = \"ddr9\""));
    assert!(
        e.contains("dram.kind") && e.contains("lpddr4, ideal"),
        "{e}"
    );
    let e = err_of(&good.replace("read_gbps = 2.1", ""));
    assert!(e.contains("ssd.read_gbps") && e.contains("missing"), "{e}");
    let e = err_of(&good.replace("channels = 4", "channels = 4\nchanels = 3"));
    assert!(e.contains("dram.chanels: unknown key"), "{e}");
    let e = err_of(&good.replace("channels = 4", "channels = 3"));
    assert!(e.contains("dram.channels") && e.contains("divide"), "{e}");
    let e = HwConfig::from_file(Path::new("hw_configs/nope.toml")).unwrap_err();
    assert!(e.is_input() && e.to_string().contains("nope.toml"));
}

#[test]
fn overrides_change_values_and_are_validated() {
    let mut t: toml::Table = edgesim::hw::DEFAULT_HW_TOML.parse().unwrap();
    apply_override(&mut t, "sram.capacity_kib", toml::Value::Integer(4096)).unwrap();
    apply_override(&mut t, "dram.timing.t_rfc_ns", toml::Value::Float(380.0)).unwrap();
    let hw = HwConfig::from_table("spec", &t).unwrap();
    assert_eq!(hw.sram.capacity_bytes(), 4 << 20);
    assert_eq!(hw.dram.timing.t_rfc_ns, 380.0);
    apply_override(&mut t, "sram.capacity_kb", toml::Value::Integer(1)).unwrap();
    let e = HwConfig::from_table("spec", &t).unwrap_err().to_string();
    assert!(e.contains("sram.capacity_kb: unknown key"), "{e}");
}
