//! What a tuning run reports: the `edgesim tune --json` document and one row of
//! `edgesim repro --real-tune`. Plain serialisable data; every figure says what it counts.

use serde::Serialize;

/// Next-token scores of one predictor (an exit alone, or the vote) on held-out text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metric {
    /// `exp(mean NLL)` over the evaluated predictions (nats, natural log).
    pub perplexity: f64,
    /// Fraction of predictions whose argmax is the next token.
    pub accuracy: f64,
}

/// One exit head's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExitMetric {
    /// Decoder layer (0-based) whose output the exit reads.
    pub layer: usize,
    /// Its scores alone.
    pub metric: Metric,
}

/// Scores of every exit and of the vote over them on the same held-out chunks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Predictions scored (chunks x tokens per chunk).
    pub predictions: u64,
    /// Each exit alone, bottom to top (the last is the model's final head).
    pub exits: Vec<ExitMetric>,
    /// The vote: per vocabulary entry the maximum probability over exits, argmax
    /// predicted; perplexity of those maxima renormalised to sum to 1.
    pub vote: Metric,
}

impl Evaluation {
    /// The final head's scores (the last exit).
    pub fn last(&self) -> Option<Metric> {
        self.exits.last().map(|e| e.metric)
    }
}

/// The summary of one `edgesim tune` run (`--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuneSummary {
    /// `lora`, `partial` or `edge-llm`.
    pub method: String,
    /// The method's settings in words (adapted layers, exits, window, forward depth).
    pub setup: String,
    /// Checkpoint file or directory name.
    pub checkpoint: String,
    /// Mean stored bits of the decoder linears (16 for an uncompressed base).
    pub avg_bits: f64,
    /// Measured fraction of zeros in the decoder linears.
    pub sparsity: f64,
    /// Optimizer steps of the whole schedule (the phases of `edge-llm` split these).
    pub steps: usize,
    /// First step this invocation ran (0, or where a resumed state stood); the losses,
    /// tokens and speeds below count this invocation's steps only.
    pub first_step: usize,
    /// Steps this invocation ran.
    pub steps_run: usize,
    /// Micro-batches (one sequence each) per optimizer step.
    pub accumulation: usize,
    /// Tokens per training sequence.
    pub seq_len: usize,
    /// Training tokens consumed by this invocation (its steps x accumulation x seq_len).
    pub training_tokens: u64,
    /// Trainable parameters (LoRA A and B, plus trained exit heads).
    pub trainable_parameters: u64,
    /// Mean training loss (nats per token) of the first step this invocation ran (for
    /// `edge-llm`, at that step's exit).
    pub first_loss: f64,
    /// Mean training loss of the last step this invocation ran (at its exit).
    pub last_loss: f64,
    /// Training tokens per wall-clock second (this invocation's steps).
    pub tokens_per_second: f64,
    /// Process CPU seconds per optimizer step (all threads).
    pub cpu_seconds_per_step: f64,
    /// Peak bytes of the tensors kept from forward for backward, as the engine held
    /// them (f32), measured over every micro-batch of the run.
    pub peak_activation_bytes: u64,
    /// Held-out scores before tuning (the adapters start as the identity).
    pub untuned: Evaluation,
    /// Held-out scores after tuning.
    pub tuned: Evaluation,
}
