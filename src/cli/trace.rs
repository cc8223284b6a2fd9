//! `edgesim trace`: prints the per-layer Trace of a workload as a table, CSV or JSON, or
//! writes it as a Trace file (`--out`, the JSON that `run --trace` and `sim --trace` read).

use crate::workload::{Trace, Workload};
use std::path::{Path, PathBuf};

/// Arguments of `edgesim trace`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim trace --workload llama7b_edge_llm_b5\n  \
    edgesim trace --workload workloads/llama7b_lora.toml --csv > lora_trace.csv\n  \
    edgesim trace --workload workloads/tiny_lora.toml --json | jq '.entries[0]'\n  \
    edgesim trace --workload llama7b_lora --out lora.trace.json && edgesim run --trace lora.trace.json\n\n\
    --json and --out give the Trace file format: exactly the serde JSON of the Trace \
    (src/workload/trace.rs), which `run --trace` and `sim --trace` read. \
    Per-sequence columns (act_in, saved, ckpt, GFLOP) scale with the micro-batch size; \
    weights, gradients, trainable and optimizer bytes are per optimizer step.")]
pub struct TraceArgs {
    /// Workload TOML file, or the name of an embedded workload (llama7b_lora,
    /// llama7b_edge_llm_b5, llama7b_edge_llm_b4, llama7b_edge_llm_b3, llama7b_partial_b5,
    /// llama7b_partial_b4, llama7b_partial_b3, llama7b_lst).
    #[arg(long, value_name = "FILE|NAME")]
    pub workload: String,
    /// Print one CSV row per grid column instead of the table.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Print the whole Trace (with every GEMM and vector op) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the Trace file (the JSON of --json) to FILE instead of printing.
    #[arg(long, value_name = "FILE.json", conflicts_with_all = ["csv", "json"])]
    pub out: Option<PathBuf>,
}

/// Loads `spec` as a file if it exists, else as an embedded workload name
/// ([`crate::workload::resolve_workload`]).
pub fn load_workload(spec: &str) -> crate::Result<Workload> {
    crate::workload::resolve_workload(Path::new(spec))
}

/// Runs `edgesim trace`.
pub fn run(args: &TraceArgs) -> crate::Result<()> {
    let w = load_workload(&args.workload)?;
    for warning in &w.warnings {
        crate::cli::out::warn(warning);
    }
    let t = w.trace()?;
    if let Some(p) = &args.out {
        t.write_json_file(p)?;
        crate::cli::out::note(format_args!("wrote {}", p.display()));
        return Ok(());
    }
    let text = if args.json {
        t.to_json_string()
    } else if args.csv {
        csv_text(&t)?
    } else {
        table_text(&w, &t)
    };
    crate::cli::out::print(&text)
}

fn vector_flops(e: &crate::workload::TraceEntry) -> f64 {
    e.vector_ops
        .iter()
        .map(|v| v.elements as f64 * v.ops_per_element)
        .sum()
}

/// One CSV row per entry; `flops_by_precision` as `class=value` pairs joined by `;`.
pub fn csv_text(t: &Trace) -> crate::Result<String> {
    let mut wtr = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| crate::Error::Other(e.to_string());
    wtr.write_record([
        "label",
        "kind",
        "layer",
        "pass",
        "gemm_flops_per_seq",
        "vector_flops_per_seq",
        "weight_bytes",
        "act_in_bytes_per_seq",
        "act_out_bytes_per_seq",
        "saved_bytes_per_seq",
        "checkpoint_bytes_per_seq",
        "grad_bytes",
        "trainable_bytes",
        "optimizer_bytes",
        "flops_by_precision",
    ])
    .map_err(err)?;
    for e in &t.entries {
        let prec: Vec<String> = e
            .flops_by_precision
            .iter()
            .map(|(k, v)| format!("{k}={v:e}"))
            .collect();
        wtr.write_record([
            e.label.clone(),
            format!("{:?}", e.kind).to_lowercase(),
            e.layer.to_string(),
            format!("{:?}", e.pass).to_lowercase(),
            format!("{:e}", e.gemm_flops() + 0.0),
            format!("{:e}", vector_flops(e) + 0.0),
            e.weight_bytes.to_string(),
            e.act_in_bytes.to_string(),
            e.act_out_bytes.to_string(),
            e.saved_bytes.to_string(),
            e.checkpoint_bytes.to_string(),
            e.grad_bytes.to_string(),
            e.trainable_bytes.to_string(),
            e.optimizer_bytes.to_string(),
            prec.join(";"),
        ])
        .map_err(err)?;
    }
    let bytes = wtr
        .into_inner()
        .map_err(|e| crate::Error::Other(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| crate::Error::Other(e.to_string()))
}

fn mb(b: u64) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.2}", b as f64 / 1e6)
    }
}

/// The human-readable table with a summary.
pub fn table_text(w: &Workload, t: &Trace) -> String {
    let mut s = String::new();
    s += &format!(
        "workload {} ({}): model {}, method {}, seq_len {}, {} sequences/step, micro-batch {}\n",
        t.workload, w.file, t.model, t.method, t.seq_len, t.sequences_per_step, t.micro_batch_size
    );
    s += &format!(
        "policy: avg weight bits {:.3}, mean sparsity {:.4} ({})\n",
        w.policy.avg_w_bits(),
        w.policy.mean_sparsity(),
        w.policy.provenance
    );
    s += "sizes in MB (1e6 B); per-sequence columns scale with the micro-batch size\n\n";
    s += &format!(
        "{:<12} {:>5} {:>5} {:>8} {:>11} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10}  {}\n",
        "column",
        "bits",
        "spars",
        "GFLOP/seq",
        "weights",
        "act_in/seq",
        "saved/seq",
        "ckpt/seq",
        "grad",
        "trainable",
        "optimizer",
        "precision classes"
    );
    for e in &t.entries {
        let (bits, sp) = if e.kind == crate::workload::EntryKind::Decoder {
            let lp = w.policy.layers[e.layer as usize];
            (lp.w_bits.to_string(), format!("{:.3}", lp.sparsity))
        } else {
            ("16".into(), "0".into())
        };
        let classes: Vec<&str> = e.flops_by_precision.keys().map(String::as_str).collect();
        s += &format!(
            "{:<12} {:>5} {:>5} {:>8.2} {:>11} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10}  {}\n",
            e.label,
            bits,
            sp,
            (e.gemm_flops() + vector_flops(e)) / 1e9,
            mb(e.weight_bytes),
            mb(e.act_in_bytes),
            mb(e.saved_bytes),
            mb(e.checkpoint_bytes),
            mb(e.grad_bytes),
            mb(e.trainable_bytes),
            mb(e.optimizer_bytes),
            classes.join(",")
        );
    }
    let flops: f64 = t.flops_by_precision().values().sum();
    s += &format!(
        "\ntotals: stored weights {} MB (idle {} MB), saved {} MB/seq, checkpoints {} MB/seq, \
         trainable {} MB, gradients {} MB, optimizer {} MB, {:.1} GFLOP/seq\n",
        mb(t.stored_weight_bytes()),
        mb(t.idle_weight_bytes),
        mb(t.saved_bytes_per_sequence()),
        mb(t.checkpoint_bytes_per_sequence()),
        mb(t.trainable_bytes()),
        mb(t.grad_bytes()),
        mb(t.optimizer_bytes()),
        flops / 1e9
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_one_row_per_entry_and_table_has_totals() {
        let w = load_workload("llama7b_edge_llm_b5").unwrap();
        let t = w.trace().unwrap();
        let c = csv_text(&t).unwrap();
        assert_eq!(c.lines().count(), t.entries.len() + 1);
        assert!(c.starts_with("label,kind,layer,pass,"));
        let tab = table_text(&w, &t);
        assert!(tab.contains("L24.fwd") && tab.contains("totals:"));
        assert!(load_workload("/no/such.toml").is_err());
    }
}
