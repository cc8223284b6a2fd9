//! Physical address -> (channel, bank, row, column) mapping.
//!
//! Layout, most to least significant: `row : rank : bank : column-high : channel :
//! column-low`, where `column-low` spans one interleave unit (default 256 B, the
//! `interleave_bytes` key). Ranks sit above the banks, so a sequential stream stays in
//! one rank for banks x pages and random addresses spread over all ranks. So consecutive 256 B
//! units rotate over the channels, a channel's units fill its 2 KiB page, and the next
//! page-group (channels x page = 8 KiB on the default part) moves to the next bank.
//!
//! Why 256 B: it is one maximal AXI burst of a 128-bit DMA port (16 beats x 16 B), so a
//! DMA request lands on exactly one channel and one row (8 back-to-back BL16 bursts,
//! spaced by tCCD, with a single row activation); any transfer of >= 1 KiB still spreads
//! evenly over all four channels. A 64 B interleave would split each DMA request over two
//! channels' queues for no bandwidth gain on the long sequential tensors this machine
//! moves. Putting the bank above the page means a sequential stream opens banks in turn,
//! so the next row's ACT overlaps the current row's bursts (bank-level parallelism).

/// Decoded location of one byte address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Channel index.
    pub channel: u32,
    /// Rank within the channel.
    pub rank: u32,
    /// Bank within the rank.
    pub bank: u32,
    /// Row within the bank.
    pub row: u64,
    /// Byte offset within the row.
    pub column: u32,
}

/// The address mapping of one DRAM device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct AddressMapping {
    /// Channels.
    pub channels: u32,
    /// Ranks per channel.
    pub ranks: u32,
    /// Banks per rank.
    pub banks: u32,
    /// Row size per channel, bytes.
    pub page_bytes: u32,
    /// Channel interleave granularity, bytes (power of two, divides `page_bytes`).
    pub interleave_bytes: u32,
}

impl AddressMapping {
    /// Default mapping for the given geometry: 256 B interleave (see module doc), clamped
    /// to the page size.
    pub fn new(channels: u32, banks: u32, page_bytes: u32) -> Self {
        AddressMapping {
            channels: channels.max(1),
            ranks: 1,
            banks: banks.max(1),
            page_bytes: page_bytes.max(1),
            interleave_bytes: 256.min(page_bytes.max(1)),
        }
    }

    /// The mapping of a device with `ranks` ranks per channel and the given interleave
    /// (a power of two, clamped to the page).
    pub fn with(channels: u32, ranks: u32, banks: u32, page_bytes: u32, interleave: u32) -> Self {
        AddressMapping {
            ranks: ranks.max(1),
            interleave_bytes: interleave.clamp(1, page_bytes.max(1)),
            ..Self::new(channels, banks, page_bytes)
        }
    }

    /// Decodes `addr`.
    pub fn locate(&self, addr: u64) -> Location {
        let il = self.interleave_bytes as u64;
        let low = addr % il;
        let unit = addr / il;
        let channel = (unit % self.channels as u64) as u32;
        let per_channel = unit / self.channels as u64;
        let units_per_page = (self.page_bytes as u64 / il).max(1);
        let col_high = per_channel % units_per_page;
        let group = per_channel / units_per_page;
        let bank = (group % self.banks as u64) as u32;
        let rank_group = group / self.banks as u64;
        let rank = (rank_group % self.ranks as u64) as u32;
        let row = rank_group / self.ranks as u64;
        Location {
            channel,
            rank,
            bank,
            row,
            column: (col_high * il + low) as u32,
        }
    }

    /// Bytes covered by one row of every channel (the address stride after which a
    /// sequential stream moves to the next bank).
    pub fn bank_stride_bytes(&self) -> u64 {
        self.page_bytes as u64 * self.channels as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_addresses_rotate_channels_then_fill_pages_then_banks() {
        let m = AddressMapping::new(4, 8, 2048);
        assert_eq!(
            m.locate(0),
            Location {
                channel: 0,
                rank: 0,
                bank: 0,
                row: 0,
                column: 0
            }
        );
        assert_eq!(m.locate(255).channel, 0);
        assert_eq!(m.locate(256).channel, 1);
        assert_eq!(
            m.locate(1024),
            Location {
                channel: 0,
                rank: 0,
                bank: 0,
                row: 0,
                column: 256
            }
        );
        // 4 ch x 2 KiB = 8 KiB per page group; the next group is bank 1, same row.
        assert_eq!(
            m.locate(8192),
            Location {
                channel: 0,
                rank: 0,
                bank: 1,
                row: 0,
                column: 0
            }
        );
        // 8 banks x 8 KiB = 64 KiB per row index.
        assert_eq!(
            m.locate(65536),
            Location {
                channel: 0,
                rank: 0,
                bank: 0,
                row: 1,
                column: 0
            }
        );
        assert_eq!(m.locate(65536 + 8191).column, 2047);
    }

    #[test]
    fn ranks_sit_above_banks_and_interleave_sets_the_channel_unit() {
        // 2 ranks: after 8 banks x 8 KiB = 64 KiB the next group is rank 1, row 0; after
        // 128 KiB rank 0, row 1.
        let m = AddressMapping::with(4, 2, 8, 2048, 256);
        assert_eq!((m.locate(65536).rank, m.locate(65536).row), (1, 0));
        assert_eq!((m.locate(131072).rank, m.locate(131072).row), (0, 1));
        // 64 B interleave: channel changes every 64 B; 4 ch x 2 KiB per bank still.
        let m = AddressMapping::with(4, 1, 8, 2048, 64);
        assert_eq!(m.locate(64).channel, 1);
        assert_eq!(m.locate(256).channel, 0);
        assert_eq!(m.locate(256).column, 64);
        assert_eq!(m.locate(8192).bank, 1);
    }
}
