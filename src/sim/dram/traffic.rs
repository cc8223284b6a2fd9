//! Synthetic request streams used to characterise the DRAM model.

use super::controller::Request;
use super::mapping::AddressMapping;

/// Address pattern of a synthetic stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// Reads walk one region and writes another, each sequentially (DMA of tensors).
    Sequential,
    /// Uniformly random aligned addresses over 1 GiB (seeded, deterministic).
    Random,
    /// Blocks of `bytes` at uniformly random block-aligned addresses over 1 GiB, each
    /// read or written whole and sequentially (tiles of a larger tensor, a page of a
    /// paged buffer); the read fraction picks the direction per block.
    Block {
        /// Block size, bytes (a multiple of the request size).
        bytes: u32,
    },
}

/// Whether request `k` of a mix with `read_fraction` reads is a read: reads are spread
/// evenly (Bresenham), so any window of the stream has the requested mix.
pub fn is_read(k: u64, read_fraction: f64) -> bool {
    let f = read_fraction.clamp(0.0, 1.0);
    ((k + 1) as f64 * f).floor() > (k as f64 * f).floor()
}

/// Saturating stream (all requests arrive at clock 0) of `n` requests of `bytes` each.
///
/// Sequential: reads start at 0, writes at 1 GiB plus half the banks' stride, so the two
/// streams advance through different banks and never conflict in a row buffer. Block:
/// `Block { bytes: B }` issues `B / bytes` consecutive requests per block.
pub fn stream(
    map: &AddressMapping,
    pattern: Pattern,
    n: u64,
    bytes: u32,
    read_fraction: f64,
    seed: u64,
) -> impl Iterator<Item = Request> + use<> {
    let write_base = (1u64 << 30) + map.bank_stride_bytes() * (map.banks as u64 / 2);
    let mut next_read = 0u64;
    let mut next_write = write_base;
    let mut rng = seed.max(1);
    let mut block_addr = 0u64;
    let mut block_read = true;
    (0..n).map(move |k| {
        let mut draw = |unit: u64| {
            // xorshift64* (Vigna 2016): fast, deterministic, good low-bit quality.
            rng ^= rng >> 12;
            rng ^= rng << 25;
            rng ^= rng >> 27;
            let r = rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
            (r >> 11) % ((1u64 << 30) / unit.max(1)) * unit
        };
        let mut read = is_read(k, read_fraction);
        let addr = match pattern {
            Pattern::Sequential => {
                let a = if read {
                    &mut next_read
                } else {
                    &mut next_write
                };
                let v = *a;
                *a += bytes as u64;
                v
            }
            Pattern::Random => draw(bytes as u64),
            Pattern::Block { bytes: block } => {
                let per = (block / bytes.max(1)).max(1) as u64;
                if k % per == 0 {
                    block_addr = draw(block as u64);
                    block_read = is_read(k / per, read_fraction);
                }
                read = block_read;
                block_addr + (k % per) * bytes as u64
            }
        };
        Request {
            addr,
            bytes,
            write: !read,
            arrival_nck: 0,
        }
    })
}
