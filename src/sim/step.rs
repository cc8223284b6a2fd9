//! What the simulator replays: one grid step's work, as the analytic cost model expands
//! it (bytes per link, array and vector cycles, dependencies). The adapter from the cost
//! model's steps lives in [`super::replay`]; this struct is the simulator's own plain
//! input so it can also be built by hand in tests and benches.

use serde::Serialize;

/// The six engines of the modelled accelerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// DMA DRAM -> SRAM (weights, activations, saved tensors into the buffer).
    DmaIn,
    /// MAC array.
    Array,
    /// Vector unit (norms, softmax, activations, optimizer).
    Vector,
    /// DMA SRAM -> DRAM (outputs, saved activations, gradients).
    DmaOut,
    /// SSD -> DRAM.
    SsdIn,
    /// DRAM -> SSD.
    SsdOut,
}

impl Engine {
    /// All engines, in display order.
    pub const ALL: [Engine; 6] = [
        Engine::DmaIn,
        Engine::Array,
        Engine::Vector,
        Engine::DmaOut,
        Engine::SsdIn,
        Engine::SsdOut,
    ];

    /// Index into per-engine arrays.
    pub fn idx(self) -> usize {
        self as usize
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::DmaIn => "dma_dram_to_sram",
            Engine::Array => "mac_array",
            Engine::Vector => "vector_unit",
            Engine::DmaOut => "dma_sram_to_dram",
            Engine::SsdIn => "ssd_to_dram",
            Engine::SsdOut => "dram_to_ssd",
        }
    }

    /// True for the four transfer engines.
    pub fn is_transfer(self) -> bool {
        !matches!(self, Engine::Array | Engine::Vector)
    }

    /// True if the engine reads DRAM (false: writes DRAM); only for transfer engines.
    pub fn reads_dram(self) -> bool {
        matches!(self, Engine::DmaIn | Engine::SsdOut)
    }
}

/// One step of the schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SimStep {
    /// Label, e.g. `L3.fwd mb0-3`.
    pub label: String,
    /// Work per engine: bytes for the transfer engines, cycles for the array (the larger
    /// of MAC-array and SRAM-port cycles) and the vector unit, indexed by [`Engine::idx`].
    pub work: [u64; 6],
    /// Earlier steps whose outputs this step reads through DRAM: its first load waits
    /// until their last store has finished.
    pub deps: Vec<usize>,
    /// SRAM footprint of one tile set (inputs + outputs) of the step, bytes: the chunk
    /// size the step is cut into. 0: an element-wise stream, cut into 4 KiB chunks.
    pub sram_tile_bytes: u64,
    /// Native MACs executed by integer GEMMs (for energy); 0 if unknown.
    pub macs: f64,
    /// MACs executed by fp16 GEMMs (for energy); 0 if unknown.
    pub fp16_macs: f64,
    /// Vector-unit element operations (for energy); 0 if unknown.
    pub vector_ops: f64,
    /// Bytes between the SRAM and the MAC array (for energy); 0 if unknown.
    pub sram_port_bytes: u64,
    /// Bytes resident in DRAM while this step runs (from the cost model's capacity
    /// tracking), if known.
    pub dram_resident_bytes: Option<u64>,
    /// Bytes resident on the SSD while this step runs, if known.
    pub ssd_resident_bytes: Option<u64>,
}

impl SimStep {
    /// Work of one engine.
    pub fn get(&self, e: Engine) -> u64 {
        self.work[e.idx()]
    }
}
