//! Building the inputs: hardware, workloads, traces, schedules and sweep specs, from
//! files, TOML/JSON strings (with an origin name that errors quote) or the embedded
//! defaults.

use crate::cost::Schedule;
use crate::dse::SweepSpec;
use crate::error::{Error, Result};
use crate::hw::HwConfig;
use crate::workload::{Trace, Workload, WorkloadRef};
use std::path::{Path, PathBuf};

/// The text of the embedded default hardware file, `hw_configs/edge_llm_paper.toml` (the
/// Edge-LLM paper's accelerator), to edit or to override keys of.
pub const DEFAULT_HARDWARE_TOML: &str = crate::hw::DEFAULT_HW_TOML;

/// The origin name errors give for [`DEFAULT_HARDWARE_TOML`].
pub const DEFAULT_HARDWARE_ORIGIN: &str = "hw_configs/edge_llm_paper.toml";

/// Where a hardware description comes from (the base of [`hardware_with_overrides`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HardwareSource {
    /// The embedded default, [`DEFAULT_HARDWARE_TOML`].
    Default,
    /// A hardware TOML file.
    File(PathBuf),
    /// Hardware TOML text; `origin` names it in errors (e.g. a notebook cell).
    Toml {
        /// Name quoted by errors in place of a file name.
        origin: String,
        /// The TOML text.
        text: String,
    },
}

impl HardwareSource {
    /// The origin name and the TOML text.
    fn text(&self) -> Result<(String, String)> {
        Ok(match self {
            HardwareSource::Default => (
                DEFAULT_HARDWARE_ORIGIN.to_string(),
                DEFAULT_HARDWARE_TOML.to_string(),
            ),
            HardwareSource::File(p) => {
                (p.display().to_string(), crate::io_util::read_to_string(p)?)
            }
            HardwareSource::Toml { origin, text } => (origin.clone(), text.clone()),
        })
    }
}

/// The embedded default hardware ([`DEFAULT_HARDWARE_TOML`]).
///
/// ```
/// let hw = edgesim::api::default_hardware();
/// assert_eq!(hw.name, "edge-llm-paper");
/// assert_eq!(hw.sram.capacity_kib, 1024.0);
/// ```
pub fn default_hardware() -> HwConfig {
    HwConfig::paper_default()
}

/// Reads a hardware TOML file (`docs/hw_keys.md` lists every key, unit and range).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Input`] naming the file, the key
/// and its allowed range when a value is missing, unknown or out of range.
pub fn hardware_from_file(path: &Path) -> Result<HwConfig> {
    HwConfig::from_file(path)
}

/// Parses hardware TOML text; `origin` names it in errors.
///
/// # Errors
/// [`Error::Input`] naming `origin`, the key and its allowed range.
pub fn hardware_from_toml(origin: &str, text: &str) -> Result<HwConfig> {
    HwConfig::from_toml_str(origin, text)
}

/// Reads hardware from `source`.
///
/// # Errors
/// As [`hardware_from_file`] / [`hardware_from_toml`].
pub fn hardware(source: &HardwareSource) -> Result<HwConfig> {
    let (origin, text) = source.text()?;
    hardware_from_toml(&origin, &text)
}

/// The hardware of `base` with dotted keys set, as sweep specs write them
/// (`("sram.capacity_kib", 512)`); values are integers, floats, strings or booleans
/// (anything `Into<toml::Value>`), in the units of `docs/hw_keys.md`. The overridden
/// table is validated as a whole, like a file.
///
/// ```
/// use edgesim::api::{HardwareSource, hardware_with_overrides};
/// let hw = hardware_with_overrides(&HardwareSource::Default, [("sram.capacity_kib", 512)])?;
/// assert_eq!(hw.sram.capacity_kib, 512.0);
/// let err = hardware_with_overrides(&HardwareSource::Default, [("sram.capacity_kib", -1)])
///     .unwrap_err()
///     .to_string();
/// assert!(err.contains("sram.capacity_kib"), "{err}");
/// # Ok::<(), edgesim::Error>(())
/// ```
///
/// # Errors
/// [`Error::Input`] naming the origin, the key and its allowed range (an unknown key
/// with the closest known one); an empty component or a key under a non-table names
/// the key.
pub fn hardware_with_overrides<K, V, I>(source: &HardwareSource, overrides: I) -> Result<HwConfig>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: Into<toml::Value>,
{
    let (origin, text) = source.text()?;
    let mut table = crate::toml_util::parse(&origin, &text)?;
    let mut keys = Vec::new();
    for (k, v) in overrides {
        crate::hw::apply_override(&mut table, k.as_ref(), v.into())?;
        keys.push(k.as_ref().to_string());
    }
    let name = if keys.is_empty() {
        origin
    } else {
        format!("{origin} with {}", keys.join(", "))
    };
    HwConfig::from_table(&name, &table)
}

/// Reads a workload: `name_or_path` is a workload TOML file if it exists (relative to the
/// current directory), else the name of an embedded workload (`llama7b_lora`,
/// `llama7b_edge_llm_b5`, ...; [`embedded_workloads`]).
///
/// ```
/// let w = edgesim::api::workload("llama7b_lora")?;
/// assert_eq!(w.model.layers, 32);
/// # Ok::<(), edgesim::Error>(())
/// ```
///
/// # Errors
/// [`Error::Input`] (key `workload`) when it is neither, listing the embedded names and
/// the closest match; the file's own errors naming file, key and range.
pub fn workload(name_or_path: &str) -> Result<Workload> {
    crate::workload::resolve_workload(Path::new(name_or_path))
}

/// Reads a workload named relative to `base_dir` (as a sweep spec names its workloads):
/// `base_dir/name` if that file exists, else an embedded workload.
///
/// # Errors
/// As [`workload`].
pub fn workload_in(base_dir: &Path, name: &str) -> Result<Workload> {
    match crate::workload::locate_workload(Some(base_dir), name)? {
        WorkloadRef::File(p) => Workload::from_file(&p),
        WorkloadRef::Embedded(n) => Workload::embedded(&n),
    }
}

/// Parses workload TOML text. `origin` names it in errors; relative paths inside it
/// (policy and sensitivity files) resolve against `base_dir` when given, else against
/// the directory part of `origin`.
///
/// # Errors
/// [`Error::Input`] naming the origin, the key and its allowed range.
pub fn workload_from_toml(origin: &str, text: &str, base_dir: Option<&Path>) -> Result<Workload> {
    match base_dir {
        Some(dir) => Workload::from_toml_str(&dir.join(origin).display().to_string(), text),
        None => Workload::from_toml_str(origin, text),
    }
}

/// Names of the workloads embedded in the binary.
pub fn embedded_workloads() -> Vec<&'static str> {
    crate::workload::embedded_names()
}

/// The per-layer Trace of one micro-batch of `workload`: the input of every analysis.
///
/// # Errors
/// [`Error::Input`] when the built trace breaks a Trace file limit (an absurd shape).
pub fn trace(workload: &Workload) -> Result<Trace> {
    workload.trace()
}

/// Reads a Trace file (JSON, as `edgesim trace --out` or the tensor engine writes it).
///
/// # Errors
/// [`Error::Input`] naming the file and the key path (`entries[3].gemms[0].m`).
pub fn trace_from_json_file(path: &Path) -> Result<Trace> {
    Trace::from_json_file(path)
}

/// Parses Trace JSON text; `origin` names it in errors.
///
/// # Errors
/// As [`trace_from_json_file`].
pub fn trace_from_json(origin: &str, text: &str) -> Result<Trace> {
    Trace::from_json_str(origin, text)
}

/// Reads a schedule in the one-line form `run` prints (e.g. `"zigzag:4 micro-batch 1
/// prefetch on recompute 0 ssd w/s/o 0%/70%/0%"`; `docs/schedule.md`).
///
/// ```
/// let line = "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 100%/60%/55%";
/// let s = edgesim::api::parse_schedule(line)?;
/// assert_eq!(s.micro_batch_size, 1);
/// assert!((s.placement.saved_on_ssd - 0.6).abs() < 1e-12); // the search grid's 12 x 0.05
/// assert_eq!(s.to_string(), line); // prints back as read
/// # Ok::<(), edgesim::Error>(())
/// ```
///
/// # Errors
/// [`Error::Input`] naming the part that does not read and what is allowed.
pub fn parse_schedule(line: &str) -> Result<Schedule> {
    crate::search::parse_schedule(line)
}

/// Reads a schedule from a TOML file with a `[schedule]` table, or, when `spec` is not an
/// existing file, the one-line form (as `--schedule` takes it).
///
/// # Errors
/// As [`parse_schedule`], or the TOML file's errors naming file and key.
pub fn load_schedule(spec: &str) -> Result<Schedule> {
    crate::search::load_schedule(spec)
}

/// Reads a sweep spec file (`hw_configs/sweeps/*.toml`: base hardware, workloads, value
/// lists per dotted hardware key; `docs/dse.md`); relative paths resolve against its
/// directory. Every value is validated before any work.
///
/// # Errors
/// [`Error::Input`] naming the spec, the key and its allowed range.
pub fn sweep_spec_from_file(path: &Path) -> Result<SweepSpec> {
    SweepSpec::from_file(path)
}

/// Parses sweep spec text; `origin` names it in errors and relative paths inside it
/// (the `base` hardware file, workload files) resolve against `base_dir`.
///
/// # Errors
/// As [`sweep_spec_from_file`].
pub fn sweep_spec_from_toml(origin: &str, text: &str, base_dir: &Path) -> Result<SweepSpec> {
    if origin.is_empty() {
        return Err(Error::input(
            "<sweep spec>",
            "origin",
            "must name the spec (e.g. `spec.toml`)",
        ));
    }
    SweepSpec::from_toml_str(&base_dir.join(origin), text)
}
