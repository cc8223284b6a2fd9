//! `edgesim dram`: one synthetic stream through the LPDDR4 controller model of a
//! hardware file, reported as bandwidth, efficiency, read latency and command counts.

use crate::error::{Error, Result};
use crate::sim::dram::{DramProbe, Pattern, ProbeSpec, probe};
use std::path::PathBuf;

/// Arguments of `edgesim dram`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  edgesim dram --pattern random --request-bytes 64
  edgesim dram --hw hw_configs/jetson_tx2_class.toml --pattern sequential --request-bytes 256 --read-fraction 0.5
  edgesim dram --pattern block:4096 --read-fraction 0.5 --request-bytes 64 --json

Controller settings come from the hardware file's [dram.controller] table (ranks,
queue_depth, write_high, write_low, interleave_bytes, ca_nck, refresh_postpone; see
docs/hw_keys.md and docs/check_dram.md).")]
pub struct DramArgs {
    /// Hardware TOML (default: the embedded hw_configs/edge_llm_paper.toml).
    #[arg(long)]
    pub hw: Option<PathBuf>,
    /// Address pattern: `sequential`, `random`, or `block:BYTES` (random blocks of BYTES,
    /// each read or written whole, BYTES a multiple of --request-bytes).
    #[arg(long, default_value = "random")]
    pub pattern: String,
    /// Fraction of requests that read (of blocks, with `block:`), in [0, 1].
    #[arg(long, default_value_t = 1.0)]
    pub read_fraction: f64,
    /// Bytes per request: a multiple of the burst (32 B on x16 channels), at most 4096 (an AXI burst may not cross a 4 KiB boundary).
    #[arg(long, default_value_t = 64)]
    pub request_bytes: u32,
    /// Requests of the loaded run, in [1, 1000000].
    #[arg(long, default_value_t = 20_000)]
    pub requests: u64,
    /// Seed of the random addresses.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses `--pattern`.
///
/// # Errors
/// [`Error::Input`] naming `--pattern` and the accepted forms.
pub fn parse_pattern(s: &str) -> Result<Pattern> {
    let bad = || {
        Error::input(
            "edgesim dram",
            "--pattern",
            format!(
                "`{s}` is not a pattern; allowed `sequential`, `random`, `block:BYTES` with BYTES an integer in [32, 1073741824]"
            ),
        )
    };
    match s {
        "sequential" => Ok(Pattern::Sequential),
        "random" => Ok(Pattern::Random),
        _ => {
            let bytes = s.strip_prefix("block:").ok_or_else(bad)?;
            let bytes: u32 = bytes.parse().map_err(|_| bad())?;
            if !(32..=1 << 30).contains(&bytes) {
                return Err(bad());
            }
            Ok(Pattern::Block { bytes })
        }
    }
}

fn pattern_name(p: Pattern) -> String {
    match p {
        Pattern::Sequential => "sequential".into(),
        Pattern::Random => "random".into(),
        Pattern::Block { bytes } => format!("block:{bytes}"),
    }
}

/// Runs `edgesim dram`.
///
/// # Errors
/// Bad flags or hardware file ([`Error::Input`], exit 2), the controller's watchdog.
pub fn run(a: &DramArgs) -> Result<()> {
    let hw = super::load_hw(a.hw.as_deref())?;
    let spec = ProbeSpec {
        pattern: parse_pattern(&a.pattern)?,
        read_fraction: a.read_fraction,
        request_bytes: a.request_bytes,
        requests: a.requests,
        seed: a.seed,
    };
    let r = probe(&hw.dram, &spec)?;
    if a.json {
        let text = serde_json::to_string_pretty(&r)
            .map_err(|e| Error::Other(format!("serialising the result: {e}")))?;
        return crate::outln!("{text}");
    }
    print_text(&hw.name, &r)
}

fn print_text(name: &str, r: &DramProbe) -> Result<()> {
    let c = &r.controller;
    crate::outln!(
        "{name}: LPDDR4-{:.0}, {} ch x {} rank x {} banks, {:.1} GB/s peak",
        r.data_rate_mtps,
        r.channels,
        r.ranks,
        r.banks,
        r.peak_gbps
    )?;
    let ca = if c.ca_nck == 0 {
        "JESD209-4 (ACT/RD/WR 4, PRE/REF 2)".to_string()
    } else {
        format!("{} per command", c.ca_nck)
    };
    crate::outln!(
        "controller: queue {}, write drain {}/{}, interleave {} B, CA clocks {ca}, refresh postpone {}",
        c.queue_depth,
        c.write_high,
        c.write_low,
        c.interleave_bytes,
        c.refresh_postpone
    )?;
    crate::outln!(
        "traffic: {}, {} B requests, read fraction {:.2}, {} requests, seed {}",
        pattern_name(r.spec.pattern),
        r.spec.request_bytes,
        r.spec.read_fraction,
        r.spec.requests,
        r.spec.seed
    )?;
    crate::outln!(
        "bandwidth: {:.2} GB/s = {:.1}% of peak ({:.1} us simulated)",
        r.achieved_gbps,
        r.efficiency * 100.0,
        r.simulated_us
    )?;
    for (tag, l) in [("unloaded", &r.unloaded), ("loaded", &r.loaded)] {
        if l.samples == 0 {
            crate::outln!("read latency {tag}: no reads")?;
        } else {
            crate::outln!(
                "read latency {tag}: mean {:.1} ns, p50 {:.1} ns, p99 {:.1} ns ({} reads)",
                l.mean_ns,
                l.p50_ns,
                l.p99_ns,
                l.samples
            )?;
        }
    }
    crate::outln!(
        "row-hit rate {:.1}%, {} activates, {} refreshes (at most {} postponed), {} read/write turnarounds",
        r.row_hit_rate * 100.0,
        r.activates,
        r.refreshes,
        r.postponed_max,
        r.turnarounds
    )
}
