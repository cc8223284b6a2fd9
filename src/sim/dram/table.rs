//! Effective DRAM bandwidth of an access mix, characterised once by simulation and cached.
//!
//! The system simulator moves whole tensors: long sequential DMA streams of 256 B
//! requests, some reading and some writing at once. What their mix costs on LPDDR4 is a
//! function of the read fraction alone (row misses are rare and hidden by bank
//! parallelism in a sequential stream; turnarounds and refresh are not). So the model is
//! run once per (device, features) at read fractions 0, 0.1, ..., 1 and interpolated.

use super::controller::{ControllerConfig, DramFeatures, simulate};
use super::mapping::AddressMapping;
use super::params::DramParams;
use super::traffic::{Pattern, stream};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Requests simulated per point: 16384 x 256 B = 4 MiB, about 160 us at 25.6 GB/s, i.e.
/// ~40 refresh intervals, enough that refresh is averaged rather than sampled.
const POINT_REQUESTS: u64 = 16384;
/// DMA request size (see the mapping's choice of interleave).
const DMA_REQUEST_BYTES: u32 = 256;
/// Read fractions characterised.
const STEPS: usize = 10;

/// Efficiency (achieved / peak bandwidth) of sequential DMA traffic by read fraction.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EfficiencyTable {
    /// `efficiency[i]` at read fraction `i / 10`.
    pub efficiency: Vec<f64>,
}

impl EfficiencyTable {
    /// Characterises the device by simulation (a few tens of ms).
    pub fn characterise(p: &DramParams, f: DramFeatures) -> Self {
        let map = AddressMapping::new(p.channels, p.banks, p.page_bytes);
        let cfg = ControllerConfig::default();
        // Points are independent: characterise them in parallel.
        let efficiency = (0..=STEPS)
            .into_par_iter()
            .map(|i| {
                let rf = i as f64 / STEPS as f64;
                let reqs = stream(
                    &map,
                    Pattern::Sequential,
                    POINT_REQUESTS,
                    DMA_REQUEST_BYTES,
                    rf,
                    1,
                );
                simulate(p, &map, f, &cfg, reqs).stats.efficiency(p)
            })
            .collect();
        EfficiencyTable { efficiency }
    }

    /// A perfect memory: efficiency 1 at every mix.
    pub fn ideal() -> Self {
        EfficiencyTable {
            efficiency: vec![1.0; STEPS + 1],
        }
    }

    /// Cached [`characterise`](Self::characterise): one simulation per distinct device
    /// and feature set per process.
    pub fn cached(p: &DramParams, f: DramFeatures) -> Arc<Self> {
        type Cache = Mutex<HashMap<(DramParams, DramFeatures), Arc<EfficiencyTable>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let key = (p.clone(), f);
        if let Some(t) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return t;
        }
        let t = Arc::new(Self::characterise(p, f));
        if let Ok(mut c) = cache.lock() {
            c.insert(key, t.clone());
        }
        t
    }

    /// Efficiency at `read_fraction` (linear interpolation between characterised points).
    pub fn at(&self, read_fraction: f64) -> f64 {
        let x = read_fraction.clamp(0.0, 1.0) * STEPS as f64;
        let i = (x.floor() as usize).min(STEPS - 1);
        let w = x - i as f64;
        self.efficiency[i] * (1.0 - w) + self.efficiency[i + 1] * w
    }
}
