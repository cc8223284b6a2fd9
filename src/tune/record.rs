//! What one training micro-batch actually does, recorded as it runs: every matrix product
//! (shape, bit-widths, achieved sparsity of its weight operand) and every tensor kept from
//! forward for backward (elements, bytes the engine holds, when it was saved and freed),
//! grouped into the grid columns of [`crate::workload::Trace`] (`embed.fwd`, `L3.fwd`,
//! `exit2.fwd`, `exit2.bwd`, `L3.bwd`, ...). `tune::trace` turns a recording into a Trace.
//!
//! The clock counts recorder events (one tick per `save` and per `free`), so "how long" a
//! tensor is kept is the span of events between its save and its free, and the peak of
//! live saved bytes is exact for the order in which the engine ran.

use crate::workload::{EntryKind, GemmOp, Pass};

/// A tensor kept from forward for backward.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRecord {
    /// Name, from `workload::saved` (`x`, `rstd_attn`, `q`, `k`, `v`, `probs`, `h`,
    /// `rstd_ffn`, `gate`, `up`, `x_norm`, `attn_out`, `h_norm`, `ffn_act`, `lora_mid`)
    /// or the head's (`head_in`, `rstd_head`, `logits`).
    pub name: &'static str,
    /// Elements per sequence.
    pub elements: u64,
    /// Bytes the engine actually holds for it (its element type's size times elements).
    pub host_bytes: u64,
    /// Clock tick at which it was saved.
    pub saved_at: u64,
    /// Clock tick at which backward released it (`None`: still held).
    pub freed_at: Option<u64>,
}

/// One grid column as it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Label, e.g. `L3.fwd`, `exit2.bwd`, `embed.fwd`.
    pub label: String,
    /// Which part of the model.
    pub kind: EntryKind,
    /// Decoder layer (for heads: the layer the head sits after).
    pub layer: u32,
    /// Forward or backward.
    pub pass: Pass,
    /// The matrix products performed, per sequence, in order.
    pub gemms: Vec<GemmOp>,
    /// Tensors this column kept for backward (forward columns only).
    pub saved: Vec<SavedRecord>,
}

/// Records columns, GEMMs and saved tensors. A disabled recorder ignores every call
/// (evaluation and finite-difference runs), so the engine calls it unconditionally.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// Whether calls are recorded.
    pub enabled: bool,
    /// The columns, in execution order.
    pub columns: Vec<Column>,
    /// (column, index in its `saved`) of every save, by id.
    ids: Vec<(usize, usize)>,
    clock: u64,
    live: u64,
    peak: u64,
}

impl Recorder {
    /// An empty recorder; `enabled = false` records nothing.
    pub fn new(enabled: bool) -> Self {
        Recorder {
            enabled,
            ..Default::default()
        }
    }

    /// Starts a new column; later GEMMs and saves belong to it.
    pub fn begin(&mut self, label: impl Into<String>, kind: EntryKind, layer: u32, pass: Pass) {
        if !self.enabled {
            return;
        }
        self.columns.push(Column {
            label: label.into(),
            kind,
            layer,
            pass,
            gemms: vec![],
            saved: vec![],
        });
    }

    /// Records a matrix product of the current column (none begun: ignored, as it belongs
    /// to no column; the engine always begins one first).
    pub fn gemm(&mut self, op: GemmOp) {
        if let Some(c) = self.enabled.then_some(()).and(self.columns.last_mut()) {
            c.gemms.push(op);
        }
    }

    /// Records a tensor kept for backward in the current column; returns its id for
    /// [`Recorder::free`] (`usize::MAX` when disabled or outside a column).
    pub fn save(&mut self, name: &'static str, elements: u64, host_bytes: u64) -> usize {
        let Some(ci) = self
            .enabled
            .then(|| self.columns.len().checked_sub(1))
            .flatten()
        else {
            return usize::MAX;
        };
        self.clock += 1;
        let c = &mut self.columns[ci];
        c.saved.push(SavedRecord {
            name,
            elements,
            host_bytes,
            saved_at: self.clock,
            freed_at: None,
        });
        self.ids.push((ci, c.saved.len() - 1));
        self.live += host_bytes;
        self.peak = self.peak.max(self.live);
        self.ids.len() - 1
    }

    /// Marks a saved tensor released (its backward consumed it). Unknown or already freed
    /// ids are ignored.
    pub fn free(&mut self, id: usize) {
        let Some(&(ci, si)) = self.ids.get(id) else {
            return;
        };
        let r = &mut self.columns[ci].saved[si];
        if r.freed_at.is_none() {
            self.clock += 1;
            r.freed_at = Some(self.clock);
            self.live -= r.host_bytes;
        }
    }

    /// Largest sum of live saved bytes (engine bytes) at any tick.
    pub fn peak_saved_host_bytes(&self) -> u64 {
        self.peak
    }

    /// Saved bytes still live (0 after a complete backward).
    pub fn live_saved_host_bytes(&self) -> u64 {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_follows_save_and_free_order() {
        let mut r = Recorder::new(true);
        r.begin("L0.fwd", EntryKind::Decoder, 0, Pass::Fwd);
        let a = r.save("x", 10, 40);
        r.begin("L1.fwd", EntryKind::Decoder, 1, Pass::Fwd);
        let b = r.save("x", 10, 40);
        let c = r.save("probs", 4, 16);
        r.begin("L1.bwd", EntryKind::Decoder, 1, Pass::Bwd);
        r.free(c);
        r.free(b);
        r.free(b);
        // Between the frees of L1 a new save of 50 B: live = 40 + 50 = 90 < 96.
        let d = r.save("h", 1, 50);
        r.free(d);
        r.free(a);
        assert_eq!(r.peak_saved_host_bytes(), 96);
        assert_eq!(r.live_saved_host_bytes(), 0);
        let s = &r.columns[1].saved[1];
        assert_eq!((s.saved_at, s.freed_at), (3, Some(4)));
    }

    #[test]
    fn disabled_recorder_keeps_nothing() {
        let mut r = Recorder::new(false);
        r.begin("L0.fwd", EntryKind::Decoder, 0, Pass::Fwd);
        let id = r.save("x", 1, 4);
        r.free(id);
        assert!(r.columns.is_empty());
        assert_eq!(r.peak_saved_host_bytes(), 0);
    }
}
