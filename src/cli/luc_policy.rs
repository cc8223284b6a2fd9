//! `edgesim luc policy`: a per-layer LUC policy (eq. 1 bits, eq. 2 sparsity) from
//! sensitivity CSVs, or one of the Table 2 random baselines built from it, written as the
//! policy TOML a workload references with `policy = "policy.toml"`.

use crate::policy::{
    Eq2, LucOptions, MissingLayers, SensitivityKind, SensitivityTable, luc, random_draw,
    random_permutation,
};
use std::path::PathBuf;

/// Which reading of eq. 2.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eq2Arg {
    /// The released code: inverted min-max scaled sensitivity (most sensitive layer -> 0).
    Code,
    /// As printed in the paper: sparsity proportional to sensitivity.
    Paper,
}

/// Treatment of layers without data (no rows or all-zero MSE).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingArg {
    /// Mean sensitivity of the measured layers: target sparsity and one extra bit.
    Mean,
    /// Use the zeros as measured values (reproduces the authors' run).
    Zero,
}

/// Which policy to write.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// Layer-wise unified compression: eq. 1 bits, eq. 2 sparsity.
    Luc,
    /// Table 2's "Random": the LUC policy's per-layer (bits, sparsity) settings dealt to
    /// the layers in a seeded random order (same averages, same spread).
    Random,
    /// Freshly drawn: B + 1 bits on as many random layers as LUC gives it, sparsities
    /// proportional to U(0, 1) draws with mean P (spread about [0, 2P]).
    RandomDraw,
}

/// Arguments of `edgesim luc policy`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example (the paper's Edge-LLM 5.1-bit policy):\n  \
    edgesim luc policy --sensitivity data/llama7b_layerwise_pruning_mse.csv \\\n    \
    --bits 5 --sparsity 0.5 --extra-bit-layers 4 --out policy_b5.toml\n\n\
    Table 2's random baseline of the same policy:\n  \
    edgesim luc policy --sensitivity data/llama7b_layerwise_pruning_mse.csv \\\n    \
    --bits 5 --sparsity 0.5 --extra-bit-layers 4 --kind random --seed 1 --out random_b5.toml\n\n\
    Reference it from a workload with `policy = \"policy_b5.toml\"` (relative to the workload file).")]
pub struct LucPolicyArgs {
    /// Pruning sensitivity CSV with header `layer,sparsity,sample,mse`
    /// (e.g. data/llama7b_layerwise_pruning_mse.csv).
    #[arg(long, value_name = "CSV")]
    pub sensitivity: PathBuf,
    /// Quantisation sensitivity CSV with header `layer,bits,sample,mse`. Without it eq. 1
    /// uses the pruning sensitivity as a proxy (and says so).
    #[arg(long, value_name = "CSV")]
    pub quant_sensitivity: Option<PathBuf>,
    /// Target bits B in 2..=16: layers at or above the mean sensitivity get B + 1
    /// (eq. 1; `luc compress` quantises up to 16 bits and keeps 17-bit layers in float).
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=16))]
    pub bits: u32,
    /// Target mean sparsity P in [0, 0.99] (eq. 2).
    #[arg(long, value_parser = parse_sparsity)]
    pub sparsity: f64,
    /// Reading of eq. 2.
    #[arg(long, value_enum, default_value = "code")]
    pub eq2: Eq2Arg,
    /// Give the extra bit to the K most sensitive layers instead of eq. 1's mean
    /// threshold (K = 4 matches the paper's reported 4 of 32 LLaMA-7B layers).
    #[arg(long, value_name = "K")]
    pub extra_bit_layers: Option<usize>,
    /// Decoder layers of the model (default: highest layer index in the CSVs + 1).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub layers: Option<u32>,
    /// Treatment of layers without data.
    #[arg(long, value_enum, default_value = "mean")]
    pub missing: MissingArg,
    /// Calibration samples averaged per (layer, level): those with index below this
    /// (the reference code uses the first 7).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub samples: u32,
    /// Which policy to write: the LUC policy or a random baseline built from it.
    #[arg(long, value_enum, default_value = "luc")]
    pub kind: PolicyKind,
    /// Seed of the random baselines (the same seed gives the same policy).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output policy TOML (written atomically).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

fn parse_sparsity(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=crate::policy::MAX_SPARSITY).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a number in [0, 0.99]")),
    }
}

/// Runs `edgesim luc policy`: prints the per-layer policy and the warnings, writes `--out`.
pub fn run(args: &LucPolicyArgs) -> crate::Result<()> {
    let prune = SensitivityTable::from_file(&args.sensitivity, SensitivityKind::Pruning)?;
    let quant = match &args.quant_sensitivity {
        Some(p) => Some(SensitivityTable::from_file(
            p,
            SensitivityKind::Quantization,
        )?),
        None => None,
    };
    let layers = args.layers.unwrap_or_else(|| {
        prune
            .layer_count()
            .max(quant.as_ref().map_or(0, |q| q.layer_count()))
    });
    let mut o = LucOptions::new(args.bits, args.sparsity);
    o.eq2 = match args.eq2 {
        Eq2Arg::Code => Eq2::Code,
        Eq2Arg::Paper => Eq2::Paper,
    };
    o.extra_bit_layers = args.extra_bit_layers;
    o.missing = match args.missing {
        MissingArg::Mean => MissingLayers::Mean,
        MissingArg::Zero => MissingLayers::Zero,
    };
    o.max_samples = args.samples;
    if let Some(k) = o.extra_bit_layers.filter(|&k| k > layers as usize) {
        return Err(crate::Error::input(
            "--extra-bit-layers",
            "extra_bit_layers",
            format!("{k} is out of range; allowed [0, {layers}]"),
        ));
    }
    let out = luc(&prune, quant.as_ref(), layers, &o)?;
    let policy = match args.kind {
        PolicyKind::Luc => out.policy.clone(),
        PolicyKind::Random => random_permutation(&out.policy, args.seed),
        PolicyKind::RandomDraw => {
            let extra = out
                .policy
                .layers
                .iter()
                .filter(|l| l.w_bits > args.bits)
                .count();
            random_draw(
                out.policy.layers.len(),
                args.bits,
                extra,
                args.sparsity,
                args.seed,
            )
        }
    };
    crate::io_util::write_atomic(&args.out, policy.to_toml_string().as_bytes())?;
    crate::outln!("{}", policy.provenance)?;
    crate::outln!(
        "{:>5} {:>14} {:>14} {:>6} {:>6} {:>6} {:>9}",
        "layer",
        "prune_mse",
        "quant_mse",
        "w_bits",
        "a_bits",
        "kv",
        "sparsity"
    )?;
    for (j, l) in policy.layers.iter().enumerate() {
        crate::outln!(
            "{:>5} {:>14.6e} {:>14.6e} {:>6} {:>6} {:>6} {:>9.4}",
            j,
            out.prune_sensitivity[j],
            out.quant_sensitivity[j],
            l.w_bits,
            l.a_bits,
            l.kv_bits,
            l.sparsity
        )?;
    }
    crate::outln!(
        "average weight bits {:.4}, mean sparsity {:.4}; written to {}",
        policy.avg_w_bits(),
        policy.mean_sparsity(),
        args.out.display()
    )?;
    for w in &out.warnings {
        crate::cli::out::warn(w);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(csv: PathBuf, out: PathBuf) -> LucPolicyArgs {
        LucPolicyArgs {
            sensitivity: csv,
            quant_sensitivity: None,
            bits: 4,
            sparsity: 0.5,
            eq2: Eq2Arg::Code,
            extra_bit_layers: Some(4),
            layers: None,
            missing: MissingArg::Mean,
            samples: 7,
            kind: PolicyKind::Luc,
            seed: 0,
            out,
        }
    }

    #[test]
    fn written_policy_feeds_a_workload() {
        let dir = tempfile::tempdir().unwrap();
        let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("data/llama7b_layerwise_pruning_mse.csv");
        let out = dir.path().join("policy.toml");
        run(&args(csv, out.clone())).unwrap();
        let p = crate::policy::Policy::from_file(&out).unwrap();
        assert_eq!(p.layers.len(), 32);
        assert!((p.avg_w_bits() - 4.125).abs() < 1e-12);
        assert!((p.mean_sparsity() - 0.5).abs() < 1e-12);
        let w = dir.path().join("w.toml");
        std::fs::write(
            &w,
            "policy = \"policy.toml\"\n[model]\npreset = \"llama-7b\"\n[batch]\nseq_len = 128\n\
             sequences_per_step = 1\n[method]\nkind = \"edge-llm\"\n",
        )
        .unwrap();
        let wl = crate::workload::Workload::from_file(&w).unwrap();
        assert_eq!(wl.policy, p);
        assert!(wl.trace().unwrap().entries.len() > 40);
    }

    /// `--kind random` writes the LUC policy's layers in a seeded order; `random-draw`
    /// keeps only the averages.
    #[test]
    fn random_kinds_are_built_from_the_luc_policy() {
        let dir = tempfile::tempdir().unwrap();
        let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("data/llama7b_layerwise_pruning_mse.csv");
        let write = |kind, seed, name: &str| {
            let mut a = args(csv.clone(), dir.path().join(name));
            a.kind = kind;
            a.seed = seed;
            run(&a).unwrap();
            crate::policy::Policy::from_file(&dir.path().join(name)).unwrap()
        };
        let luc = write(PolicyKind::Luc, 0, "luc.toml");
        let r1 = write(PolicyKind::Random, 1, "r1.toml");
        let r1b = write(PolicyKind::Random, 1, "r1b.toml");
        let r2 = write(PolicyKind::Random, 2, "r2.toml");
        assert_eq!(r1, r1b);
        assert_ne!(r1.layers, r2.layers);
        assert_eq!(r1.layers, random_permutation(&luc, 1).layers);
        assert_ne!(r1.layers, luc.layers);
        let d = write(PolicyKind::RandomDraw, 1, "d.toml");
        assert!((d.avg_w_bits() - 4.125).abs() < 1e-12);
        assert!((d.mean_sparsity() - 0.5).abs() < 1e-12);
        // The draw spreads sparsity far wider than LUC's 0-0.56 range.
        let max =
            |p: &crate::policy::Policy| p.layers.iter().map(|l| l.sparsity).fold(0.0, f64::max);
        assert!(max(&luc) < 0.56 && max(&r1) == max(&luc));
        assert!(max(&d) > 0.8, "{}", max(&d));
    }

    #[test]
    fn bad_csv_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("s.csv");
        std::fs::write(&csv, "layer,sparsity,sample,mse\n0,0.5,0,1\n1,0.5,x,1\n").unwrap();
        let out = dir.path().join("policy.toml");
        let e = run(&args(csv, out.clone())).unwrap_err();
        assert!(e.is_input());
        assert!(e.to_string().contains("line 3, column sample"), "{e}");
        assert!(!out.exists());
        assert!(parse_sparsity("1.0").is_err() && parse_sparsity("nan").is_err());
        assert_eq!(parse_sparsity("0.25"), Ok(0.25));
    }

    #[test]
    fn too_many_extra_bit_layers_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("s.csv");
        std::fs::write(&csv, "layer,sparsity,sample,mse\n0,0.5,0,1\n1,0.5,0,2\n").unwrap();
        let e = run(&args(csv, dir.path().join("p.toml"))).unwrap_err();
        assert!(e.to_string().contains("[0, 2]"), "{e}");
    }
}
