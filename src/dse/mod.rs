//! Design-space exploration: sweep specifications, running every (hardware point,
//! workload) pair through the schedule search in parallel, Pareto fronts, sharding and
//! merging, and the reproduction of the paper's comparisons.

pub mod evaluate;
pub mod fingerprint;
pub mod merge;
pub mod pareto;
pub mod progress;
pub mod repro;
pub mod resume;
pub mod shard;
pub mod spec;
pub mod stream;
pub mod sweep;
pub mod table;

pub use fingerprint::Fingerprint;
pub use merge::merge;
pub use shard::Shard;
pub use spec::{Combine, SweepPoint, SweepSpec, SweptKey};
pub use stream::{SweepSummary, SweepWriter};
pub use table::{Outcome, SweepRow, SweepTable};
