//! Effective DRAM bandwidth of an access mix, characterised once by simulation and cached.
//!
//! A table holds, for one access kind (pattern and request size, [`Access`]), the
//! efficiency at read fractions 0, 0.1, ..., 1, each point simulated once per (device,
//! features, access) and cached for the process; lookups interpolate linearly.
//!
//! The system simulator moves whole tensors: long sequential DMA streams (256 B requests
//! by default), some reading and some writing at once. For those, row misses are rare
//! and hidden by bank parallelism, while turnarounds and refresh are not, so the read
//! fraction is the dimension that matters; random accesses are characterised by the same
//! machinery for callers that issue them.
//!
//! Between the pure streams the curve is not monotone: writes drain in batches (16
//! bursts between the watermarks), and one read/write round trip pays two turnarounds
//! (54 clocks on LPDDR4-3200) for however many bursts of each direction it carries. The
//! balanced mix carries 16 + 16 (82.6% before refresh); skewed mixes carry fewer
//! minority-direction bursts per round trip and depend on how many bursts each request
//! brings into the queue at once (LPDDR4-3200, 256 B requests: ~69% at 30% reads).

use super::controller::{ControllerConfig, DramFeatures, simulate};
use super::mapping::AddressMapping;
use super::params::DramParams;
use super::traffic::{Pattern, stream};
use crate::error::Result;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Bytes simulated per point: 4 MiB, about 160 us at 25.6 GB/s, i.e. ~40 refresh
/// intervals, enough that refresh is averaged rather than sampled.
const POINT_BYTES: u64 = 4 << 20;
/// Read fractions characterised.
const STEPS: usize = 10;

/// The kind of access a table characterises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Access {
    /// Sequential streams or random addresses.
    pub pattern: Pattern,
    /// Bytes per request (a multiple of the burst size).
    pub request_bytes: u32,
}

impl Access {
    /// Sequential DMA with 256 B requests (see the mapping's choice of interleave).
    pub const DMA: Access = Access {
        pattern: Pattern::Sequential,
        request_bytes: 256,
    };
}

/// Efficiency (achieved / peak bandwidth) of one access kind by read fraction.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EfficiencyTable {
    /// `efficiency[i]` at read fraction `i / 10`.
    pub efficiency: Vec<f64>,
}

impl EfficiencyTable {
    /// Characterises the device (`p`, mapped by `map`, controlled by `cfg`) for `access`
    /// by simulation (a few hundred ms).
    ///
    /// # Errors
    /// The controller's watchdog error ([`simulate`]) of the first failing point.
    pub fn characterise(
        p: &DramParams,
        map: &AddressMapping,
        cfg: &ControllerConfig,
        f: DramFeatures,
        access: Access,
    ) -> Result<Self> {
        let n = (POINT_BYTES / access.request_bytes.max(1) as u64).max(1024);
        // Points are independent: characterise them in parallel.
        let efficiency = (0..=STEPS)
            .into_par_iter()
            .map(|i| {
                let rf = i as f64 / STEPS as f64;
                let reqs = stream(map, access.pattern, n, access.request_bytes, rf, 1);
                Ok(simulate(p, map, f, cfg, reqs)?.stats.efficiency(p))
            })
            .collect::<Result<Vec<f64>>>()?;
        Ok(EfficiencyTable { efficiency })
    }

    /// A perfect memory: efficiency 1 at every mix.
    pub fn ideal() -> Self {
        EfficiencyTable {
            efficiency: vec![1.0; STEPS + 1],
        }
    }

    /// Cached [`characterise`](Self::characterise): one characterisation per distinct
    /// (device, mapping, controller, features, access) per process; errors are not cached.
    ///
    /// # Errors
    /// As [`characterise`](Self::characterise).
    pub fn cached(
        p: &DramParams,
        map: &AddressMapping,
        cfg: &ControllerConfig,
        f: DramFeatures,
        access: Access,
    ) -> Result<Arc<Self>> {
        type Key = (
            DramParams,
            AddressMapping,
            ControllerConfig,
            DramFeatures,
            Access,
        );
        type Cache = Mutex<HashMap<Key, Arc<EfficiencyTable>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let key = (p.clone(), *map, *cfg, f, access);
        if let Some(t) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(t);
        }
        let t = Arc::new(Self::characterise(p, map, cfg, f, access)?);
        if let Ok(mut c) = cache.lock() {
            c.insert(key, t.clone());
        }
        Ok(t)
    }

    /// Efficiency at `read_fraction` (linear interpolation between characterised points).
    pub fn at(&self, read_fraction: f64) -> f64 {
        let x = read_fraction.clamp(0.0, 1.0) * STEPS as f64;
        let i = (x.floor() as usize).min(STEPS - 1);
        let w = x - i as f64;
        self.efficiency[i] * (1.0 - w) + self.efficiency[i + 1] * w
    }
}
