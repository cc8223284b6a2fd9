//! The layer x micro-batch grid of one optimizer step as a DAG, and its traversals.
//!
//! Rows are micro-batches, columns are the Trace's entries in execution order (forward
//! columns, then backward columns). A square `(micro-batch i, column c)` depends on
//! `(i, c-1)`: in forward that is its left neighbour (the previous layer's output), in
//! backward its right neighbour in layer order (the gradient from the layer above), since
//! backward columns are listed from the top layer down. A backward square also depends on
//! its own forward square `(i, fwd(c))`, whose saved tensors it consumes. Micro-batches are
//! independent of each other (weight gradients are summed, order-free).

use crate::error::{Error, Result};
use crate::workload::{Pass, Trace};
use petgraph::graph::{DiGraph, NodeIndex};
use std::fmt;
use std::str::FromStr;

/// One square of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Square {
    /// Micro-batch (row).
    pub micro_batch: u64,
    /// Trace entry index (column).
    pub column: usize,
}

/// Why one square depends on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Dependency {
    /// The previous column's output activation (or output gradient).
    Data,
    /// The forward square's saved tensors, consumed by the backward square.
    Saved,
}

/// Order in which the grid's squares are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(into = "String")]
pub enum Traversal {
    /// One micro-batch at a time through all columns (weights re-streamed per micro-batch):
    /// the vanilla order.
    Row,
    /// All micro-batches of a column before the next column.
    Column,
    /// Blocks of `B` micro-batches: all columns of a block, computing the block's
    /// micro-batches of a column together, then the next block (FlexGen's zig-zag block).
    Zigzag(u64),
}

impl From<Traversal> for String {
    fn from(t: Traversal) -> String {
        t.to_string()
    }
}

impl fmt::Display for Traversal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Traversal::Row => write!(f, "row"),
            Traversal::Column => write!(f, "column"),
            Traversal::Zigzag(b) => write!(f, "zigzag:{b}"),
        }
    }
}

impl FromStr for Traversal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "row" => Ok(Traversal::Row),
            "column" => Ok(Traversal::Column),
            _ => {
                let b = s
                    .strip_prefix("zigzag:")
                    .and_then(|b| b.parse::<u64>().ok())
                    .filter(|&b| b >= 1);
                b.map(Traversal::Zigzag).ok_or_else(|| {
                    Error::input(
                        "--traversal",
                        "traversal",
                        format!("`{s}`: expected row, column or zigzag:B with B >= 1"),
                    )
                })
            }
        }
    }
}

impl Traversal {
    /// Micro-batches computed together in one step when there are `n` micro-batches.
    pub fn block_size(&self, n: u64) -> u64 {
        match *self {
            Traversal::Row => 1,
            Traversal::Column => n.max(1),
            Traversal::Zigzag(b) => b.clamp(1, n.max(1)),
        }
    }

    /// True when the block size divides `n` (every block has the same size).
    pub fn valid_for(&self, n: u64) -> bool {
        match *self {
            Traversal::Zigzag(b) => b >= 1 && b <= n && n.is_multiple_of(b),
            _ => true,
        }
    }

    /// The blocks `(first micro-batch, count)` in execution order.
    pub fn blocks(&self, n: u64) -> Vec<(u64, u64)> {
        let b = self.block_size(n);
        (0..n.div_ceil(b))
            .map(|i| (i * b, b.min(n - i * b)))
            .collect()
    }
}

/// For every column, the forward column whose saved tensors it consumes (backward columns
/// only): the forward entry with the same label stem (`L3.bwd` -> `L3.fwd`), or failing
/// that the same kind and layer.
pub fn forward_partners(trace: &Trace) -> Vec<Option<usize>> {
    let stem = |l: &str| {
        l.rsplit_once('.')
            .map(|(s, _)| s.to_string())
            .unwrap_or_default()
    };
    trace
        .entries
        .iter()
        .map(|e| {
            if e.pass != Pass::Bwd {
                return None;
            }
            let fwd = trace.entries.iter().position(|f| {
                f.pass == Pass::Fwd
                    && stem(&f.label) == stem(&e.label)
                    && !stem(&e.label).is_empty()
            });
            fwd.or_else(|| {
                trace
                    .entries
                    .iter()
                    .position(|f| f.pass == Pass::Fwd && f.kind == e.kind && f.layer == e.layer)
            })
        })
        .collect()
}

/// The grid DAG.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Squares and their dependencies (edge from producer to consumer).
    pub graph: DiGraph<Square, Dependency>,
    micro_batches: u64,
    columns: usize,
}

impl Grid {
    /// The grid of `trace` with `micro_batches` rows.
    pub fn new(trace: &Trace, micro_batches: u64) -> Self {
        let columns = trace.entries.len();
        let partners = forward_partners(trace);
        let mut graph = DiGraph::with_capacity(micro_batches as usize * columns, 0);
        for i in 0..micro_batches {
            for c in 0..columns {
                graph.add_node(Square {
                    micro_batch: i,
                    column: c,
                });
            }
        }
        let node = |i: u64, c: usize| NodeIndex::new(i as usize * columns + c);
        for i in 0..micro_batches {
            for (c, partner) in partners.iter().enumerate().skip(1) {
                graph.add_edge(node(i, c - 1), node(i, c), Dependency::Data);
                if let Some(f) = *partner
                    && f + 1 != c
                {
                    graph.add_edge(node(i, f), node(i, c), Dependency::Saved);
                }
            }
        }
        Grid {
            graph,
            micro_batches,
            columns,
        }
    }

    /// Rows.
    pub fn micro_batches(&self) -> u64 {
        self.micro_batches
    }

    /// Columns.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// The squares in the order `traversal` computes them (within a step, micro-batches of
    /// the block in increasing order).
    pub fn order(&self, traversal: Traversal) -> Vec<Square> {
        let mut out = Vec::with_capacity(self.micro_batches as usize * self.columns);
        for (first, count) in traversal.blocks(self.micro_batches) {
            for c in 0..self.columns {
                for i in first..first + count {
                    out.push(Square {
                        micro_batch: i,
                        column: c,
                    });
                }
            }
        }
        out
    }

    /// True when `order` lists every square exactly once and every edge goes forward.
    pub fn is_topological(&self, order: &[Square]) -> bool {
        let n = self.graph.node_count();
        if order.len() != n {
            return false;
        }
        let mut pos = vec![usize::MAX; n];
        for (k, s) in order.iter().enumerate() {
            if s.micro_batch >= self.micro_batches || s.column >= self.columns {
                return false;
            }
            let idx = s.micro_batch as usize * self.columns + s.column;
            if pos[idx] != usize::MAX {
                return false;
            }
            pos[idx] = k;
        }
        self.graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .all(|(a, b)| pos[a.index()] < pos[b.index()])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::workload::{EntryKind, TraceEntry};

    pub fn entry(label: &str, layer: u32, pass: Pass) -> TraceEntry {
        TraceEntry::empty(label, EntryKind::Decoder, layer, pass)
    }

    fn trace3() -> Trace {
        Trace {
            workload: "t".into(),
            model: "t".into(),
            method: "lora".into(),
            seq_len: 1,
            sequences_per_step: 8,
            micro_batch_size: 1,
            entries: vec![
                entry("L0.fwd", 0, Pass::Fwd),
                entry("L1.fwd", 1, Pass::Fwd),
                entry("L2.fwd", 2, Pass::Fwd),
                entry("L2.bwd", 2, Pass::Bwd),
                entry("L1.bwd", 1, Pass::Bwd),
            ],
            idle_weight_bytes: 0,
        }
    }

    #[test]
    fn partners_and_edges() {
        let t = trace3();
        assert_eq!(
            forward_partners(&t),
            vec![None, None, None, Some(2), Some(1)]
        );
        let g = Grid::new(&t, 4);
        // Per row: 4 data edges + 1 saved edge (L1.bwd <- L1.fwd; L2 is adjacent).
        assert_eq!(g.graph.edge_count(), 4 * 5);
    }

    #[test]
    fn every_traversal_is_topological() {
        let g = Grid::new(&trace3(), 8);
        for t in [
            Traversal::Row,
            Traversal::Column,
            Traversal::Zigzag(1),
            Traversal::Zigzag(2),
            Traversal::Zigzag(4),
            Traversal::Zigzag(8),
        ] {
            assert!(g.is_topological(&g.order(t)), "{t}");
        }
        // A wrong order is detected: backward before forward.
        let mut bad = g.order(Traversal::Row);
        bad.swap(0, 4);
        assert!(!g.is_topological(&bad));
    }

    #[test]
    fn traversal_parse_roundtrip() {
        for s in ["row", "column", "zigzag:4"] {
            assert_eq!(s.parse::<Traversal>().unwrap().to_string(), s);
        }
        assert!("zigzag:0".parse::<Traversal>().is_err());
        assert!("diag".parse::<Traversal>().is_err());
        assert_eq!(Traversal::Zigzag(2).blocks(5), vec![(0, 2), (2, 2), (4, 1)]);
    }
}
